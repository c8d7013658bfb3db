"""The Flask app factory: settings, cache, resolver, CORS and the API, built per call."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from ..core import errors
from ..core.cache import open_cache
from ..core.config import load
from ..core.extension_id import CHROME_ORIGIN
from ..follow.jobs import Jobs
from ..resolve.resolver import Resolver
from . import api, follow_api, guard, hostcheck

# Only the browser extension (and origins the operator lists) may call the service from a page:
# our Chrome build by its fixed ID, Firefox's random per-installation origins (extension_id.py).
EXTENSION_ORIGINS = [CHROME_ORIGIN, r"^moz-extension://[0-9a-fA-F-]{36}$"]


QUIET_LOGGERS = ("urllib3", "requests", "mastodon", "atproto", "atproto_client", "dns", "httpx")


def create_app(
    test_config: dict[str, Any] | None = None, workers: int = 1, listen: str | None = None
) -> Flask:
    """Defaults, then the instance file and environment (`config.load`), then `test_config`.

    `test_config` holds `PASSERELLE_*` keys like the environment does. `workers` is how many
    processes of one `passerelle serve` share the per-host politeness: each takes its share, so
    the networks see the configured rate however many workers run. `listen` is the address
    `passerelle serve` listens on: only it and `PASSERELLE_PUBLIC_URL` may be named by a
    request's Host (see `hostcheck`).
    """
    settings = load(overrides=test_config).shared_by(workers)
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = api.MAX_BODY
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    cache = open_cache(settings.cache_url)
    resolver = Resolver(settings, cache)
    app.extensions["passerelle.settings"] = settings
    app.extensions["passerelle.cache"] = cache
    app.extensions["passerelle.resolver"] = resolver
    app.extensions["passerelle.jobs"] = Jobs(settings, cache=cache)
    CORS(
        app,
        resources={r"/api/*": {"origins": EXTENSION_ORIGINS + list(settings.allowed_origins)}},
        allow_headers=["Content-Type", "Authorization"],
        max_age=600,
    )
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies)  # type: ignore[method-assign]
    hostcheck.init_app(app, settings.public_url, listen)
    guard.init_app(
        app,
        settings.rate_limit,
        settings.api_token,
        cache,
        settings.max_hosts,
        settings.hosts_per_hour,
    )
    errors.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(follow_api.bp)
    logging.getLogger("server").setLevel(logging.INFO)
    # These log every URL they fetch at DEBUG, and our URLs carry handles: even an operator's
    # debug logging must not write who was looked up.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return app
