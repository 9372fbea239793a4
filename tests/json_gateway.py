"""A local JSON SMS gateway for the dispatch tests: fairdue's documented wire format
(docs/channels.md) on a free port. It remembers each idempotency key and answers a repeat
with the same message id (it deduplicates, as the protocol asks), can be told to fail the
next requests, and can take its time to answer. It also speaks the batch endpoint
(`POST .../batch`), answering each message of the batch as it would a single one."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class JsonGateway:
    def __init__(self, delay: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []   # every request: its key and JSON body
        self.accepted: dict[str, str] = {}         # idempotency key -> message id
        self.failures: list[tuple[int, dict[str, Any]]] = []
        self.posts = 0                              # HTTP requests, batches counting once
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if delay:
                    time.sleep(delay)
                with gateway.lock:
                    gateway.posts += 1
                    if self.path.rstrip("/").endswith("/batch"):
                        status = 200
                        reply = {"results": [{"id": m["id"], **gateway.answer(m["id"], m)[1]}
                                             for m in body["messages"]]}
                    else:
                        status, reply = gateway.answer(self.headers["Idempotency-Key"], body)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"

    def answer(self, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """One message: a queued failure, or accepted with the key's (first) message id."""
        self.requests.append({"key": key, **body})
        if self.failures:
            return self.failures.pop(0)
        return 202, {"message_id": self.accepted.setdefault(key, f"gw-{len(self.accepted)}")}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
