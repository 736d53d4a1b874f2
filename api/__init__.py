"""The admin tally API and the public exports (FastAPI): `tally api` or `uvicorn api.app:app`."""
