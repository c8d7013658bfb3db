"""The X imitation as a real HTTPS server behind a CONNECT proxy, for a browser Playwright does
not drive (Firefox, through Marionette): the same answers as `XCom.install` gives Chromium by
routing, reached the way a browser reaches x.com through a proxy.

Only X's hosts are tunnelled; the proxy answers every other host 502, as for a name that does
not resolve, so the browser under test cannot go out to the network through it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask, Response, request
from werkzeug.serving import make_server

from ..proxy import ConnectProxy
from ..tls import LocalCA
from . import XCom

X_HOSTS = ("x.com", "twitter.com", "twimg.com")


def is_x_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host == h or host.endswith("." + h) for h in X_HOSTS)


class XComServer:
    """Serves `xcom` over HTTPS with certificates from `ca`; `proxy_port` is the proxy's."""

    def __init__(self, xcom: XCom, ca: LocalCA | None = None) -> None:
        self.xcom = xcom
        self.ca = ca or LocalCA()
        app = Flask("xcom")

        @app.route("/", defaults={"path": ""})
        @app.route("/<path:path>")
        def any_route(path: str) -> Response:
            answer = xcom.respond(request.url)
            if answer is None:  # pragma: no cover - holding needs Playwright's routing
                return Response("held", 500)
            status, content_type, body = answer
            return Response(body, status, content_type=content_type)

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = make_server(
            "127.0.0.1", 0, app, threaded=True, ssl_context=self.ca.server_context()
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.proxy = ConnectProxy(self.server.server_port, lambda h: not is_x_host(h))
        self.proxy_port = self.proxy.port

    def stop(self, *_: Any) -> None:
        self.proxy.stop()
        self.server.shutdown()
        self.server.server_close()
