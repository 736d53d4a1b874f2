"""The admin tally API and the public exports (FastAPI): `tally api` or `uvicorn api.app:app`."""

from .app import create_app

__all__ = ["create_app"]
