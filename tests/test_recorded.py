"""Mastodon.py's parsing, through our fediverse client, on responses recorded from a real
Mastodon server (Mastodon.py's own cassettes, `tests/data/recorded/`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.core.cache import NullCache
from server.networks.fediverse import Fediverse
from server.networks.http import Politeness, Stats, current_stats, make_session
from tests.envvars import patched
from tests.standins.internet import Internet, recorded_server

HOST = "recorded.example"


@pytest.fixture
def recorded() -> Iterator[Fediverse]:
    world = {
        "bluesky": [],
        "accounts": [],
        "servers": {HOST: recorded_server(HOST, "test_nodeinfo.yaml", "test_account_lookup.yaml")},
    }
    net = Internet(world)
    try:
        with patched(net.env):
            yield Fediverse(make_session(Politeness(rate=100)), NullCache(), timeout=5)
    finally:
        net.stop()


def test_software_from_recorded_nodeinfo(recorded: Fediverse) -> None:
    assert recorded.software(HOST) == "mastodon"


def test_account_from_recorded_lookup(recorded: Fediverse) -> None:
    stats = Stats()
    token = current_stats.set(stats)
    try:
        acc = recorded.lookup(f"mastodonpy_test@{HOST}")
    finally:
        current_stats.reset(token)
    assert acc is not None
    assert acc.acct == f"mastodonpy_test@{HOST}"
    assert acc.display_name == "John Lennon"
    assert acc.note == "I walk funny"
    assert acc.fields == (("bread", "toasty."), ("lasagna", "no!!!"))
    assert acc.url == f"https://{HOST}/@mastodonpy_test"
    assert acc.avatar and acc.avatar.startswith(f"https://{HOST}/system/accounts/avatars/")
    assert not acc.bot
    assert stats.upstream_requests == 3  # nodeinfo index, nodeinfo, lookup


def test_recorded_not_found(recorded: Fediverse) -> None:
    assert recorded.lookup(f"kljadklajsdkljlkjlkjlkjasdasd@{HOST}") is None
