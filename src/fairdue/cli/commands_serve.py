"""`fairdue serve`: the HTTP API (docs/api.md) on uvicorn, on the configured database."""

from __future__ import annotations

import logging
import re
from typing import Annotated

import typer

from fairdue.cli.main import DbOption, app, console, opened

_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s]*", re.IGNORECASE)


class RedactTokens(logging.Filter):
    """Hide `?token=...` (a gateway's receipt token) in uvicorn's access log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_QUERY.sub(r"\1***", a) if isinstance(a, str) else a
                                for a in record.args)
        return True


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on")] = 8000,
    db: DbOption = None,
) -> None:
    """Serve the HTTP API (JSON under /api/v1, OpenAPI at /openapi.json) until stopped."""
    import uvicorn

    from fairdue.api import create_app

    with opened(db) as application:
        logging.getLogger("uvicorn.access").addFilter(RedactTokens())
        console.print(f"fairdue API on http://{host}:{port}/api/v1 (database {application.db_label}); "
                      "Ctrl-C stops it", highlight=False)
        uvicorn.run(create_app(application), host=host, port=port, log_level="info")
