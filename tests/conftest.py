"""Shared fixtures: the labelled world, the stand-in internet, and apps pointed at it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.standins.internet import Internet

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def eval_world() -> dict[str, Any]:
    return json.loads((DATA / "eval_set.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def internet(eval_world: dict[str, Any]) -> Iterator[Internet]:
    """The stand-in internet, reached like the real one: through HTTPS_PROXY and a trusted CA."""
    net = Internet(eval_world)
    saved = {k: os.environ.get(k) for k in net.env}
    os.environ.update(net.env)
    try:
        yield net
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        net.stop()


@pytest.fixture
def clean_internet(internet: Internet) -> Iterator[Internet]:
    internet.control.clear()
    internet.control.latency = 0.0
    yield internet
    internet.control.clear()


def app_config(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    config = {
        "PASSERELLE_CACHE_URL": f"sqlite:///{tmp_path}/cache.sqlite3",
        "PASSERELLE_HOST_RATE": "1000",
        "PASSERELLE_HOST_CONCURRENCY": "16",
        "PASSERELLE_TIMEOUT": "5",
        "PASSERELLE_RETRIES": "1",
    }
    config.update({k: str(v) for k, v in extra.items()})
    return config


@pytest.fixture
def make_app(tmp_path: Path, clean_internet: Internet) -> Any:
    from server import create_app

    apps = []

    def factory(**extra: Any) -> Any:
        app = create_app(app_config(tmp_path, **extra))
        app.testing = True
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.extensions["passerelle.resolver"].close()
        app.extensions["passerelle.cache"].close()
