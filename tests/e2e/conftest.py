"""End-to-end fixtures: the real service (on gunicorn, against the stand-in internet), a
recorder in front of it, the built extension, and Chromium driven by Playwright."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import build_extension
from tests.conftest import Served, service_env, x_accounts
from tests.standins.internet import Internet
from tests.standins.world import build_world

pytestmark = pytest.mark.e2e


class Recorder:
    """A pass-through in front of the service that keeps every /api/resolve body it relays:
    what the extension really sent, to compare with what the page showed."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.bodies: list[dict[str, Any]] = []
        self.fail_next = 0  # answer that many requests with 503 (the service "down")
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
                    if recorder.fail_next > 0:
                        recorder.fail_next -= 1
                        self.send_response(503)
                        self.send_header("Content-Type", "application/json")
                        self.end_headers()
                        self.wfile.write(b'{"error":{"code":"unavailable","message":"down"}}')
                        return
                    if method == "POST" and self.path == "/api/resolve" and body:
                        recorder.bodies.append(json.loads(body))
                    delay = recorder.delay if self.path == "/api/resolve" else 0.0
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
            self.delay = 0.0

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def e2e_world() -> dict[str, Any]:
    world = build_world(1100, seed=5)
    hostile = {
        "handle": "hostile_bio",
        "name": "<b>Bold</b> <img src=x onerror=alert(1)>",
        "bio": "<script>alert('bio')</script> <img src=x onerror=alert(2)> & \"quotes\"",
        "url": "javascript:alert(3)",
        "links": [],
        "id": "999999999",
        "follows_you": False,
        "case": "hostile",
        "expect": {"bluesky": None, "mastodon": None},
        "findable": {"bluesky": False, "mastodon": False},
    }
    world["accounts"].append(hostile)
    return world


@pytest.fixture(scope="session")
def e2e_internet(e2e_world: dict[str, Any]) -> Iterator[Internet]:
    net = Internet(e2e_world)
    yield net
    net.stop()


@pytest.fixture(scope="session")
def e2e_served(
    e2e_internet: Internet, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    s = Served(service_env(e2e_internet, tmp_path_factory.mktemp("e2e-served")))
    yield s
    s.stop()


@pytest.fixture(scope="session")
def recorder(e2e_served: Served) -> Iterator[Recorder]:
    r = Recorder(e2e_served.url)
    yield r
    r.stop()


@pytest.fixture(scope="session")
def extension_dir(recorder: Recorder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build_extension.build(("chrome",), recorder.url, out)
    return out / "chrome"


@pytest.fixture
def accounts(e2e_world: dict[str, Any]) -> list[dict[str, Any]]:
    return x_accounts(e2e_world)
