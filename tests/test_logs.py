"""No personal data in logs: whatever goes wrong, the log says what and where, never who.

The accounts of the evaluation set go through the service while every kind of upstream fault
is injected (and once a bug in our own code), with every logger recording at DEBUG; then no
handle, name, bio, link, DID or fediverse address of any of them may appear in what was logged.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.conftest import x_accounts
from tests.standins.internet import Internet

FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("status", {"status": 502}),
    ("malformed", {}),
    ("drop", {}),
    ("ratelimit", {"seconds": 60}),
]


def _personal(world: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for a in world["accounts"]:
        found.update(
            v
            for v in (a["handle"], a["name"], a["bio"][:40], a.get("url") or "", *a["links"])
            if v and len(v) >= 5
        )
        for truth in (a.get("expect") or {}).values():
            if isinstance(truth, str) and len(truth) >= 5:
                found.add(truth)
    return found


def test_faults_and_bugs_leave_no_personal_data_in_the_log(
    make_app: Any,
    clean_internet: Internet,
    eval_world: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    accounts = x_accounts(eval_world)[:120]
    app = make_app(
        PASSERELLE_TIMEOUT="1",
        PASSERELLE_RETRIES="0",
        PASSERELLE_MAX_WAIT="1",
        PASSERELLE_CACHE_URL="none",
    )
    client = app.test_client()
    hosts = {"public.api.bsky.app", *{s for s in clean_internet.world.servers}}
    for kind, extra in FAULTS:
        clean_internet.control.clear()
        for host in hosts:
            clean_internet.control.add_fault(host, kind, **extra)
        r = client.post("/api/resolve", json={"accounts": accounts})
        assert r.status_code == 200
        assert any(res["error"] for res in r.get_json()["results"])
    clean_internet.control.clear()

    # A bug of ours whose message carries a bio: the answer is a 500, the log keeps no bio.
    import server.resolve.signals as signals

    def broken(account: Any) -> Any:
        raise ValueError(f"could not read {account.bio!r} of {account.handle}")

    monkeypatch.setattr(signals, "extract", broken)
    r = client.post("/api/resolve", json={"accounts": accounts[:3]})
    assert r.status_code == 500 and r.get_json()["error"]["code"] == "internal"

    out, err = capfd.readouterr()
    logged = "\n".join([caplog.text, out, err])
    assert "unexpected error: ValueError at" in logged  # the bug is still findable
    assert "look-up failed" in logged or "upstream unavailable" in logged
    personal = _personal(eval_world)
    assert any("@" in p for p in personal) and any(".bsky.social" in p for p in personal)
    leaks = sorted(p for p in personal if p in logged)
    assert not leaks, leaks[:10]
