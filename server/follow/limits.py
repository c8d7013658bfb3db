"""Mastodon's limits on following, for planning a run and saying where it stands. Pure: no I/O.

From Mastodon's own source (mastodon/mastodon): `app/lib/rate_limiter.rb` allows an account 400
follows per 24 hours, in windows aligned on the epoch (so they reset at midnight UTC), and a
follow answer carries that family's `X-RateLimit-*` headers when it has fewer requests left
than the general window of 300 requests per 5 minutes (`RateLimitHeaders`); past it, 429.
`app/validators/follow_limit_validator.rb` stops an account at 7,500 follows, or beyond that at
1.1 × its followers (both can be changed by a server's administrator).
"""

from __future__ import annotations

import math
import time

DAILY_FOLLOWS = 400
FOLLOW_LIMIT = 7_500
FOLLOW_RATIO = 1.1
# A reset further away than this is not the 5-minute request window: it is the daily limit.
SHORT_WINDOW = 15 * 60


def follow_room(following: int, followers: int) -> int:
    """How many more accounts the server lets this account follow."""
    limit = FOLLOW_LIMIT if following < FOLLOW_LIMIT else followers * FOLLOW_RATIO
    return max(0, math.floor(limit) - following)


def days_needed(count: int, per_day: int = DAILY_FOLLOWS) -> int:
    """Days (24-hour windows) `count` follows take at `per_day`, today included."""
    return max(1, math.ceil(count / max(1, per_day)))


def is_daily(seconds_to_reset: float) -> bool:
    return seconds_to_reset > SHORT_WINDOW


def when(seconds: float, now: float | None = None) -> str:
    """ "at 14:05 UTC (in 3 h 12 min)" for a moment `seconds` from now."""
    now = time.time() if now is None else now
    at = time.strftime("%H:%M UTC", time.gmtime(now + seconds))
    minutes = max(1, math.ceil(seconds / 60))
    span = f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
    return f"at {at} (in {span})"


def plan(count: int, following: int, followers: int) -> list[str]:
    """What to say before following `count` accounts: the daily limit's days, the total
    limit's room, and the import file as the other road."""
    lines = []
    room = follow_room(following, followers)
    if count > room:
        lines.append(
            f"your server lets an account follow at most {following + room:,} accounts "
            f"({FOLLOW_LIMIT:,}, or 1.1 × its followers beyond that): you follow {following:,}, "
            f"so {room:,} of these {count:,} can be followed"
        )
        count = room
    if count > DAILY_FOLLOWS:
        lines.append(
            f"Mastodon allows about {DAILY_FOLLOWS} follows a day: these {count:,} take about "
            f"{days_needed(count)} days; this run follows up to the limit, then waits for the "
            "next day (or, with --no-wait, stops: run it again to go on). The other road: "
            "import the Mastodon file (`passerelle resolve --format mastodon`) in your server's "
            "Preferences → Import and export → Import (Following), which works through it in "
            "the background"
        )
    return lines
