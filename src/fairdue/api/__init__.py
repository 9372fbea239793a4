"""The HTTP API (FastAPI): parse a request, call one service, answer JSON or a problem."""

from fairdue.api.app import create_app

__all__ = ["create_app"]
