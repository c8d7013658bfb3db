"""`passerelle follow mastodon` through a stand-in Mastodon home server (the real API's shapes,
Mastodon.py's recorded ones where they exist): resolve, skip, follow, 429s, a cut, resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.standins.internet import Internet

PASSERELLE = str(Path(sys.executable).parent / "passerelle")
TOKEN = "tok-7d1f2a"
HOME = "home.social"


def _server(users: list[str], **extra: Any) -> dict[str, Any]:
    accounts = {
        u: {
            "username": u,
            "display_name": u.title(),
            "note": "",
            "fields": [],
            "bot": False,
            "moved": None,
        }
        for u in users
    }
    return {"software": "mastodon", "version": "4.3.2", "accounts": accounts, **extra}


@pytest.fixture
def world_net(monkeypatch: pytest.MonkeyPatch) -> Iterator[Internet]:
    world = {
        "bluesky": [],
        "accounts": [],
        "servers": {
            HOME: _server(["moi", "voisine"], tokens={TOKEN: "moi"}),
            "piaille.fr": _server([f"p{i}" for i in range(12)]),
            "mas.to": _server(["ami", "amie"]),
        },
    }
    net = Internet(world)
    net.world.follows["moi@home.social"] = {"ami@mas.to"}  # already followed
    # A short window, so that Mastodon.py's pacing (spread the remaining requests until the
    # reset) takes milliseconds here rather than the real 300 requests per 5 minutes.
    net.world.ratelimit = (300, 3.0)
    yield net
    net.stop()


def results_file(tmp: Path, accts: list[str], level: str = "confirmed") -> Path:
    results = [
        {
            "handle": f"x{i}",
            "bluesky": None,
            "error": None,
            "candidates": {"bluesky": [], "mastodon": []},
            "mastodon": {
                "acct": a,
                "url": "",
                "level": level,
                "reasons": ["bio-handle"],
                "display_name": "",
                "avatar": None,
                "bridged": False,
            },
        }
        for i, a in enumerate(accts)
    ]
    path = tmp / "results.json"
    path.write_text(json.dumps({"results": results}))
    return path


def run(net: Internet, f: Path, *args: str, token: str = TOKEN) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        **net.env,
        "MASTODON_ACCESS_TOKEN": token,
        "PASSERELLE_CACHE_URL": "none",
        "PASSERELLE_RETRIES": "0",
        "PASSERELLE_TIMEOUT": "3",
        "PASSERELLE_MAX_WAIT": "5",
    }
    return subprocess.run(
        [PASSERELLE, "follow", "mastodon", str(f), "--server", f"https://{HOME}", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_follows_resolves_and_skips(world_net: Internet, tmp_path: Path) -> None:
    wanted = ["p0@piaille.fr", "p1@piaille.fr", "ami@mas.to", "voisine@home.social", "ghost@mas.to"]
    p = run(world_net, results_file(tmp_path, wanted))
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == ("followed 3, skipped 1 (already followed), failed 1")
    assert world_net.world.follows["moi@home.social"] == {
        "ami@mas.to",
        "p0@piaille.fr",
        "p1@piaille.fr",
        "voisine@home.social",
    }
    state = json.loads((tmp_path / "results.json.follow-mastodon.json").read_text())
    assert state["targets"]["ghost@mas.to"]["error"] == "not found from your server"
    assert TOKEN not in json.dumps(state)
    # Only the home server was asked to act; nothing was sent to the others.
    hosts = {h for h, path in world_net.control.paths if path.startswith("/api/")}
    assert hosts == {HOME}


def test_wrong_token(world_net: Internet, tmp_path: Path) -> None:
    p = run(world_net, results_file(tmp_path, ["p0@piaille.fr"]), token="nope")
    assert p.returncode == 1 and "refused the access token" in p.stderr
    assert "nope" not in p.stderr + p.stdout


def test_429_is_waited_out(world_net: Internet, tmp_path: Path) -> None:
    world_net.control.add_fault(
        HOME, "ratelimit", path="/api/v1/accounts/", seconds=1, remaining=2, skip=2
    )
    wanted = [f"p{i}@piaille.fr" for i in range(2, 7)]
    p = run(world_net, results_file(tmp_path, wanted))
    assert p.returncode == 0, p.stderr
    assert "followed 5" in p.stdout
    assert set(wanted) <= world_net.world.follows["moi@home.social"]


def test_cut_mid_queue_then_resume(world_net: Internet, tmp_path: Path) -> None:
    wanted = [f"p{i}@piaille.fr" for i in range(7, 12)]
    f = results_file(tmp_path, wanted)
    world_net.control.add_fault(HOME, "drop", path="/api/", skip=7)
    p = run(world_net, f)
    assert p.returncode == 1 and "run the same command again to resume" in p.stdout
    done = {a for a in wanted if a in world_net.world.follows["moi@home.social"]}
    assert 0 < len(done) < len(wanted)
    world_net.control.clear()
    p = run(world_net, f)
    assert p.returncode == 0, p.stderr
    assert set(wanted) <= world_net.world.follows["moi@home.social"]


def test_bad_server_option(world_net: Internet, tmp_path: Path) -> None:
    env = {**os.environ, "MASTODON_ACCESS_TOKEN": TOKEN}
    p = subprocess.run(
        [PASSERELLE, "follow", "mastodon", str(results_file(tmp_path, [])), "--server", "ftp://x"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2 and "--server" in p.stderr
    p = subprocess.run(
        [PASSERELLE, "follow", "mastodon", str(results_file(tmp_path, []))],
        env=env,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2 and "--server" in p.stderr


# -- each server's limits (mastodon/mastodon app/lib/rate_limiter.rb, follow_limit_validator.rb) --
def _daily(net: Internet, limit: int, period: float) -> None:
    """The daily follow family, shortened: `limit` follows per `period` seconds, counted and
    said as Mastodon does (headers on follow answers, 429), the first window starting at the
    first follow (not at the epoch, so the client's start-up time on a busy machine does not
    decide how many follows the first window holds)."""
    net.world.follow_daily = (limit, period)
    net.world.follow_origin = None
    net.world.ratelimit = (300, 300.0)  # the real 5-minute window: not the tighter one here


def test_daily_limit_said_then_waited_for(world_net: Internet, tmp_path: Path) -> None:
    """Before (Mastodon.py's "pace"): 5 silent minutes after every follow once few were left,
    then silent 5-minute retries until the day's reset."""
    _daily(world_net, 3, 8.0)
    wanted = [f"p{i}@piaille.fr" for i in range(5)]
    p = run(world_net, results_file(tmp_path, wanted))
    assert p.returncode == 0, p.stderr
    assert "followed 5" in p.stdout
    assert "daily follow limit reached on home.social (3 a day): continuing at " in p.stderr
    assert set(wanted) <= world_net.world.follows["moi@home.social"]
    assert "nearly spent" not in p.stderr  # the daily family's headers are not paced over


def test_daily_limit_with_no_wait_stops_and_a_rerun_goes_on(
    world_net: Internet, tmp_path: Path
) -> None:
    _daily(world_net, 3, 8.0)
    wanted = [f"p{i}@piaille.fr" for i in range(5)]
    f = results_file(tmp_path, wanted)
    p = run(world_net, f, "--no-wait")
    assert p.returncode == 0, p.stderr
    assert "followed 3, skipped 0 (already followed), failed 0, still to do 2" in p.stdout
    assert "daily follow limit reached on home.social (3 a day): run the same command" in p.stdout
    assert len(world_net.world.follows["moi@home.social"] & set(wanted)) == 3
    p = run(world_net, f)  # waits for the next window, then follows the two left
    assert p.returncode == 0, p.stderr
    assert "followed 5" in p.stdout
    assert set(wanted) <= world_net.world.follows["moi@home.social"]


def test_plan_and_every_account_not_followed_named(world_net: Internet, tmp_path: Path) -> None:
    """The total follow limit (7,500) is said before starting, and each account not followed
    is named with the server's reason."""
    me = world_net.world.servers[HOME]["accounts"]["moi"]
    me["following_count"], me["followers_count"] = 7498, 40  # ami@mas.to makes 7,499
    wanted = ["p0@piaille.fr", "p1@piaille.fr", "ghost@mas.to"]
    p = run(world_net, results_file(tmp_path, wanted))
    assert p.returncode == 0, p.stderr
    assert "at most 7,500 accounts" in p.stderr and "so 1 of these 3 can be followed" in p.stderr
    assert "not followed: ghost@mas.to: not found from your server" in p.stderr
    assert (
        # Mastodon's own words: at 7,500 its limit becomes 1.1 × followers (44).
        "not followed: p1@piaille.fr: follow refused: Validation failed: You cannot follow more "
        "than 44 people" in p.stderr
    ), p.stderr
    assert "followed 1, skipped 0 (already followed), failed 2" in p.stdout


# What to say before following (input → the lines' gist), by hand.
PLANS = [
    ((10, 0, 0), []),
    ((400, 100, 10), []),
    ((401, 0, 0), ["about 2 days"]),
    ((1200, 0, 0), ["about 3 days", "Import and export"]),
    ((20, 7495, 10), ["so 5 of these 20 can be followed"]),
    ((500, 8000, 10000), ["about 2 days"]),
    ((4000, 8000, 10000), ["at most 11,000 accounts", "so 3,000 of these 4,000", "about 8 days"]),
    ((5, 9000, 100), ["so 0 of these 5 can be followed"]),
]


@pytest.mark.parametrize(("args", "gist"), PLANS)
def test_plan_table(args: tuple[int, int, int], gist: list[str]) -> None:
    from server.follow.limits import plan

    said = " | ".join(plan(*args))
    assert all(g in said for g in gist), said
    assert bool(said) == bool(gist)


def test_the_same_follow_started_twice_at_once_is_counted_once(
    world_net: Internet, tmp_path: Path
) -> None:
    """Mastodon follows are idempotent, but two runs at once each counted every follow
    against the day's 400 and said it followed everyone (#25). The second now waits for the
    first, then finds them followed: the summaries are true and add up."""
    wanted = [f"p{i}@piaille.fr" for i in range(12)]
    f = results_file(tmp_path, wanted)
    env = {
        **os.environ,
        **world_net.env,
        "MASTODON_ACCESS_TOKEN": TOKEN,
        "PASSERELLE_CACHE_URL": "none",
        "PASSERELLE_RETRIES": "0",
        "PASSERELLE_TIMEOUT": "3",
        "PASSERELLE_MAX_WAIT": "5",
        "XDG_STATE_HOME": str(tmp_path / "state"),  # one machine: one lease folder
    }
    runs = [
        subprocess.Popen(
            [
                PASSERELLE,
                "follow",
                "mastodon",
                str(f),
                "--server",
                f"https://{HOME}",
                "--state",
                str(tmp_path / f"s{i}.json"),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = [r.communicate(timeout=120) for r in runs]
    assert all(r.returncode == 0 for r in runs), outs
    summaries = sorted(out.strip().splitlines()[-1] for out, _ in outs)
    assert summaries == [
        "followed 0, skipped 12 (already followed), failed 0",
        "followed 12, skipped 0 (already followed), failed 0",
    ], summaries
    assert any("waiting for another follow run" in err for _, err in outs)
    assert set(wanted) <= world_net.world.follows["moi@home.social"]
