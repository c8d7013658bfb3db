"""End-to-end fixtures: the real service (on gunicorn, against the stand-in internet), a
recorder in front of it, the built extension, and Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import build_extension
from tests.conftest import Served, service_env, x_accounts
from tests.standins.internet import Internet
from tests.standins.relay import Relay as Recorder
from tests.standins.world import build_world

pytestmark = pytest.mark.e2e


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
    # The user's own Mastodon server, where they sign in to follow from the results page.
    world["servers"]["home.social"] = {
        "software": "mastodon",
        "version": "4.3.2",
        "signed_in": "moi",
        "accounts": {
            "moi": {
                "username": "moi",
                "display_name": "Moi",
                "note": "",
                "fields": [],
                "bot": False,
                "moved": None,
            }
        },
    }
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
    r = Recorder(e2e_served.url, record="/api/resolve")
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
