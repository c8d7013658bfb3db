"""A request handler that keeps connections open, as real servers do.

Werkzeug's development server closes every connection after one answer (`Connection: close`,
then it drains the socket for 10 ms, which would swallow a keep-alive client's next request).
Real servers (Bluesky's AppView, Mastodon behind nginx) keep connections alive, so a client
pays the proxy's CONNECT and the TLS handshake once per host, not once per request. With the
stand-in closing each time, every request of every test paid both, on both sides: most of the
suite's CPU went to handshakes no real user makes.

This handler reads the request body whole (by `Content-Length`), runs the WSGI app, and writes
the answer with its `Content-Length`, or chunked while the app streams (the stand-in's slow
`drip` fault still arrives piece by piece); the connection then waits for the next request. A
chunked request, an app that fails, or a dropped connection closes it, as before.
"""

from __future__ import annotations

import io
from typing import Any

from werkzeug.serving import WSGIRequestHandler

IDLE = 30  # seconds an idle kept-alive connection is held before the server closes it


class KeepAliveHandler(WSGIRequestHandler):
    timeout = IDLE

    def log_error(self, format: str, *args: Any) -> None:
        """An idle kept-alive connection closed after `IDLE` seconds is no error (nginx does
        the same after its `keepalive_timeout`): not logged."""
        if format.startswith("Request timed out"):
            self.close_connection = True
            return
        super().log_error(format, *args)

    def run_wsgi(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            super().run_wsgi()  # rare here; werkzeug's own path, which closes the connection
            self.close_connection = True
            return
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        length = int(self.headers.get("Content-Length") or 0)
        real = self.rfile
        self.rfile = io.BytesIO(real.read(length) if length > 0 else b"")  # type: ignore[assignment]
        try:
            self.environ = environ = self.make_environ()
        finally:
            self.rfile = real
        try:
            self._answer(environ)
        except (TimeoutError, ConnectionError):
            self.close_connection = True
        except Exception as e:  # the app failed: say 500 if nothing was sent yet, then close
            self.close_connection = True
            self.server.log("error", f"Error on request: {e!r}")
            if not getattr(self, "_sent", True):
                self._head("500 Internal Server Error", [("Content-Length", "0")], chunked=False)

    def _answer(self, environ: dict[str, Any]) -> None:
        self._sent = False
        started: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            if exc_info and self._sent:
                raise exc_info[1].with_traceback(exc_info[2])
            started["status"], started["headers"] = status, headers
            return self.wfile.write

        body = self.server.app(environ, start_response)
        chunked = False
        try:
            for data in body:
                if not data:
                    continue
                if not self._sent:
                    chunked = self._start(started, environ)
                if environ["REQUEST_METHOD"] == "HEAD":
                    continue
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)
                self.wfile.flush()
            if not self._sent:
                chunked = self._start(started, environ)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        finally:
            if hasattr(body, "close"):
                body.close()

    def _start(self, started: dict[str, Any], environ: dict[str, Any]) -> bool:
        """Send the status line and headers; True when the body goes chunked."""
        status, headers = started["status"], list(started["headers"])
        code = int(status.split()[0])
        keys = {k.lower() for k, _ in headers}
        chunked = not (
            "content-length" in keys
            or environ["REQUEST_METHOD"] == "HEAD"
            or 100 <= code < 200
            or code in (204, 304)
        )
        if chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        self._head(status, headers, chunked)
        return chunked

    def _head(self, status: str, headers: list[tuple[str, str]], chunked: bool) -> None:
        code, _, message = status.partition(" ")
        self.send_response(int(code), message)
        for key, value in headers:
            self.send_header(key, value)  # an app's own `Connection: close` is honoured
        self.end_headers()
        self._sent = True
