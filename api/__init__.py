"""The admin tally API and the public exports (FastAPI): `tally api` or `uvicorn api.app:app`.

Nothing is imported here: `api.payloads` (shared with the CLI) is importable without FastAPI's app."""
