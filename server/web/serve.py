"""`passerelle serve`: the app on gunicorn (a production WSGI server), threads per worker.

Each worker builds its own app (its own HTTP pools and threads); with a Redis cache they share
every look-up, so workers and machines can be added behind any load balancer.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from .. import __version__

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any], listen: str | None) -> None:
        self.options = options
        self.workers = int(options["workers"])
        self.listen = listen
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from .. import create_app

        return create_app(workers=self.workers, listen=self.listen)


def extension_dir() -> Path:
    return PROJECT_ROOT / "dist"


def run(host: str, port: int, workers: int, threads: int) -> int:
    from ..core.config import load
    from .worker import BufferingThreadWorker

    BufferingThreadWorker.read_timeout = load().request_timeout
    # The workers share follow sign-ins sealed with one key: drawn here, before they fork, and
    # handed to them in memory (their environment), never written anywhere.
    settings = load()
    if not os.environ.get("PASSERELLE_SECRET_KEY", "").strip():
        os.environ["PASSERELLE_SECRET_KEY"] = secrets.token_urlsafe(32)
        if settings.public_url.startswith("https://") and not settings.secret_key:
            # The Bluesky OAuth client key is derived from it: a new one at each start would
            # publish a new key, and end every sign-in at each restart.
            print(
                "PASSERELLE_SECRET_KEY is not set: Sign in with Bluesky will use a new client "
                "key after each restart (set it, from the environment, to keep one)",
                flush=True,
            )
    url = f"http://{host}:{port}"
    dist = extension_dir()
    print(f"Passerelle {__version__} serving on {url}", flush=True)
    if (dist / "chrome" / "manifest.json").exists():
        print(f"Extension: {dist / 'chrome'} (Chrome), {dist / 'firefox'} (Firefox)", flush=True)
    else:
        print(f"Extension not built yet: python build_extension.py --server-url {url}", flush=True)
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        # gthread whose event loop reads each request whole before a thread takes it, so
        # slow clients cannot stall the service; no keep-alive, so every request is read so.
        "worker_class": BufferingThreadWorker,
        "keepalive": 0,
        "timeout": 300,  # a batch of 1,000 accounts on a cold cache may take minutes
        "graceful_timeout": 10,
        "accesslog": None,  # request lines carry no personal data, but keep the output quiet
        "errorlog": "-",
        "loglevel": "warning",
        "preload_app": False,
    }
    # The code, not the app: imported here once, the workers fork with it loaded (the atproto
    # SDK alone takes a second of CPU to import, which each worker paid again at each start,
    # and its pages are shared). The app, its cache connections and clients are still made in
    # each worker after the fork (preload_app stays off): no socket is shared between them.
    from . import app as _app  # noqa: F401

    try:
        # Bound to every interface (0.0.0.0, ::), the service has no one address to insist on:
        # it answers any Host unless PASSERELLE_PUBLIC_URL names the public one (hostcheck).
        wildcard = host in ("0.0.0.0", "::", "")
        _Gunicorn(options, None if wildcard else url).run()
    except SystemExit as e:
        return int(e.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(run("127.0.0.1", 8765, 1, 8))
