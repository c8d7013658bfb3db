"""An HTTP relay for tests: records what a client sent, and plays a failing network."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Relay:
    """A pass-through HTTP relay in front of a local server. It keeps the JSON bodies posted to
    `record` (what a client really sent), and can play a failing network: answer 503 to the
    next requests (`fail_next`), slow every request (`delay`), or cut the line for good after
    a number of requests (`cut_after`)."""

    def __init__(self, target: str, record: str | None = None) -> None:
        self.target = target.rstrip("/")
        self.record = record
        self.cut_after: int | None = None
        self.requests = 0
        self.bodies: list[dict[str, Any]] = []
        self.fail_next = 0  # answer that many requests with 503 (the service "down")
        self.drop_next = 0  # close that many connections unanswered (the service not running)
        self.delay = 0.0  # seconds added before relaying each resolve request (a slow service)
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _relay(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with recorder.lock:
                    if recorder.drop_next > 0:
                        recorder.drop_next -= 1
                        self.close_connection = True
                        self.connection.shutdown(2)  # no answer at all: a refused connection
                        return
                    recorder.requests += 1
                    cut = recorder.cut_after is not None and recorder.requests > recorder.cut_after
                    if cut or recorder.fail_next > 0:
                        recorder.fail_next -= 0 if cut else 1
                        self.send_response(503)
                        self.send_header("Content-Type", "application/json")
                        self.end_headers()
                        self.wfile.write(b'{"error":{"code":"unavailable","message":"down"}}')
                        return
                    if method == "POST" and self.path == recorder.record and body:
                        recorder.bodies.append(json.loads(body))
                    delay = recorder.delay if self.path == recorder.record else 0.0
                if delay:
                    time.sleep(delay)
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "content-length", "connection")
                }
                req = urllib.request.Request(
                    recorder.target + self.path, data=body, headers=headers, method=method
                )
                try:
                    with urllib.request.urlopen(req, timeout=300) as r:
                        status, rheaders, data = r.status, r.headers.items(), r.read()
                except urllib.error.HTTPError as e:
                    status, rheaders, data = e.code, e.headers.items(), e.read()
                self.send_response(status)
                for k, v in rheaders:
                    if k.lower() not in (
                        "content-length",
                        "connection",
                        "transfer-encoding",
                        "date",
                        "server",
                    ):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._relay("GET")

            def do_POST(self) -> None:
                self._relay("POST")

            def do_OPTIONS(self) -> None:
                self._relay("OPTIONS")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def accounts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [a for b in self.bodies for a in b["accounts"]]

    def clear(self) -> None:
        with self.lock:
            self.bodies.clear()
            self.fail_next = 0
            self.drop_next = 0
            self.delay = 0.0
            self.cut_after = None
            self.requests = 0

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
