"""The pure parts of following: the write budget, the targets chosen, the saved state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.core.validate import InputError
from server.follow.budget import WriteBudget
from server.follow.plan import Target, parse_levels, targets
from server.follow.state import RunState


def test_budget_per_hour_and_day() -> None:
    b = WriteBudget(per_hour=5000, per_day=35000)
    assert b.creates_available(0) == 1666
    b.spend(1666, 0)
    assert b.creates_available(10) == 0
    assert b.seconds_until_available(10) == pytest.approx(3590)
    assert b.creates_available(3600) == 1666  # an hour later
    for hour in range(1, 21):
        b.spend(1666, hour * 3600)
    assert b.creates_available(21 * 3600) == 0  # the day's 35,000 points are spent
    assert b.seconds_until_available(21 * 3600) > 3600


def test_budget_roundtrip_keeps_what_was_spent() -> None:
    b = WriteBudget(per_hour=300)
    b.spend(40, 100.0)
    again = WriteBudget.from_json(json.loads(json.dumps(b.to_json())), per_hour=300)
    assert again.creates_available(200.0) == 60


def test_budget_refuses_the_impossible() -> None:
    with pytest.raises(ValueError):
        WriteBudget(per_hour=6).seconds_until_available(0, creates=3)


RESULTS = {
    "results": [
        {
            "handle": "a",
            "bluesky": {"did": "did:plc:a", "handle": "a.bsky.social", "level": "confirmed"},
            "mastodon": {"acct": "a@piaille.fr", "level": "likely"},
        },
        {
            "handle": "b",
            "bluesky": {"did": "did:plc:b", "handle": "b.bsky.social", "level": "possible"},
            "mastodon": None,
        },
        {
            "handle": "A",
            "bluesky": {"did": "did:plc:a", "handle": "a.bsky.social", "level": "confirmed"},
            "mastodon": None,
        },
        {"handle": "c", "bluesky": None, "mastodon": {"acct": "c@mas.to", "level": "confirmed"}},
    ]
}


def test_targets() -> None:
    assert targets(RESULTS, "bluesky", ("confirmed", "likely")) == [
        Target("did:plc:a", "a.bsky.social", "a")
    ]
    assert [t.id for t in targets(RESULTS["results"], "bluesky", ("possible",))] == ["did:plc:b"]
    assert [t.id for t in targets(RESULTS, "mastodon", ("confirmed", "likely"))] == [
        "a@piaille.fr",
        "c@mas.to",
    ]


def test_bridged_mirrors_only_when_asked() -> None:
    """A Bridgy Fed mirror brings the posts of someone followed on the other network: followed
    only for a user who says they do not follow people there."""
    body = [
        {"handle": "a", "mastodon": {"acct": "a@piaille.fr", "level": "confirmed"}},
        {
            "handle": "b",
            "mastodon": {
                "acct": "b.bsky.social@bsky.brid.gy",
                "level": "confirmed",
                "bridged": True,
            },
        },
    ]
    assert [t.id for t in targets(body, "mastodon", ("confirmed",))] == ["a@piaille.fr"]
    assert [t.id for t in targets(body, "mastodon", ("confirmed",), include_bridged=True)] == [
        "a@piaille.fr",
        "b.bsky.social@bsky.brid.gy",
    ]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"nope": 1}, "results"),
        ([1], "results[0]"),
        ([{"handle": "a", "bluesky": {"level": "sure"}}], "results[0].bluesky"),
        ([{"handle": "a", "bluesky": {"level": "confirmed"}}], "did and handle"),
    ],
)
def test_targets_bad_input(body: object, needle: str) -> None:
    with pytest.raises(InputError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        targets(body, "bluesky", ("confirmed",))


def test_levels() -> None:
    assert parse_levels("confirmed, likely") == ("confirmed", "likely")
    with pytest.raises(InputError, match="--levels"):
        parse_levels("sure")


def test_state_saves_atomically_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    s = RunState.load(path, "bluesky")
    s.add_targets([Target("did:plc:a", "a.bsky.social", "a"), Target("did:plc:b", "b", "b")])
    s.mark("did:plc:a", "followed")
    s.save()
    again = RunState.load(path, "bluesky")
    assert again.counts() == {
        "followed": 1,
        "skipped": 0,
        "unavailable": 0,
        "failed": 0,
        "pending": 1,
    }
    assert not list(tmp_path.glob("s.json.*"))  # no temporary file left behind
    with pytest.raises(InputError, match="mastodon"):
        RunState.load(path, "mastodon")
    path.write_text("{broken")
    with pytest.raises(InputError, match="state file"):
        RunState.load(path, "bluesky")


def test_old_job_files_and_stray_temporary_files_are_swept(tmp_path: Path) -> None:
    import os

    from server.follow.jobs import JOB_FILE_TTL, TEMP_FILE_TTL, sweep

    now = 1_900_000_000.0
    files = {
        "0123456789abcdef.json": now - JOB_FILE_TTL - 60,  # finished long ago: removed
        "fedcba9876543210.json": now - 3600,  # recent: kept
        "fedcba9876543210.json.x1y2": now - TEMP_FILE_TTL - 60,  # a crash's leftover: removed
        "0011223344556677.json.a1b2": now - 60,  # being written right now: kept
        "notes.txt": now - JOB_FILE_TTL * 2,  # not ours: kept
    }
    for name, mtime in files.items():
        (tmp_path / name).write_text("{}")
        os.utime(tmp_path / name, (mtime, mtime))
    assert sweep(tmp_path, now) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "0011223344556677.json.a1b2",
        "fedcba9876543210.json",
        "notes.txt",
    ]
    assert sweep(tmp_path / "missing", now) == 0


# How long a selection takes at Bluesky's budget (5,000 points an hour, 35,000 a day, 3 a
# follow), input → hours, by hand: 1,666 follows an hour, 11,666 a day.
HOURS = [
    (0, 0.0),
    (1000, 0.6),
    (1666, 0.9996),
    (11_666, 6.9996),
    (11_667, 24.0006),
    (23_332, 30.9996),
    (30_000, 48 + 6668 * 3 / 5000),
]


@pytest.mark.parametrize(("creates", "hours"), HOURS)
def test_hours_for_a_selection(creates: int, hours: float) -> None:
    assert WriteBudget(per_hour=5000, per_day=35000).hours_for(creates) == pytest.approx(
        hours, abs=0.001
    )


def test_the_day_s_budget_is_named_when_it_is_the_one_spent() -> None:
    b = WriteBudget(per_hour=5000, per_day=35000)
    now = 100_000.0
    for h in range(7):  # 4,998 points an hour for 7 hours: the day's 35,000 nearly spent
        b.spend(1666, now - 3600 * (7 - h) - 1)
    assert b.binding_window(now) == "hour"  # 34,986 spent: 14 points left in the day
    b.spend(4, now)  # 34,998 spent: no room for another 3 in the day, plenty in the hour
    assert b.creates_available(now) == 0
    assert b.binding_window(now) == "day"
