"""A forward proxy (HTTP CONNECT) that tunnels every host to the local stand-in internet.

The service reaches it through `HTTPS_PROXY`, the variable users behind a corporate proxy set,
so tests exercise the production code path end to end: proxy, TLS, certificates, host names.
Hosts listed in `unresolvable` fail like a DNS error does behind a proxy (502 on CONNECT).
"""

from __future__ import annotations

import select
import socket
import socketserver
import threading
from collections.abc import Callable


class _Handler(socketserver.BaseRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        client = self.request
        client.settimeout(30)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = client.recv(4096)
            if not chunk:
                return
            data += chunk
            if len(data) > 65536:
                return
        head, _, rest = data.partition(b"\r\n\r\n")
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split()
        if len(parts) != 3 or parts[0].upper() != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host = parts[1].rsplit(":", 1)[0].strip("[]").lower()
        self.server.connects += 1
        if self.server.unresolvable(host):
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.server.target_port), timeout=10)
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if rest:
            upstream.sendall(rest)
        self._pipe(client, upstream)

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        sockets = [a, b]
        try:
            while True:
                readable, _, broken = select.select(sockets, [], sockets, 60)
                if broken or not readable:
                    return
                for s in readable:
                    chunk = s.recv(65536)
                    if not chunk:
                        return
                    (b if s is a else a).sendall(chunk)
        except OSError:
            return
        finally:
            b.close()


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, target_port: int, unresolvable: Callable[[str], bool]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.target_port = target_port
        self.unresolvable = unresolvable
        self.connects = 0


class ConnectProxy:
    def __init__(self, target_port: int, unresolvable: Callable[[str], bool]) -> None:
        self.server = _ProxyServer(target_port, unresolvable)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
