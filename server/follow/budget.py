"""Pure: Bluesky's write budget (points per hour and per day; a create costs 3).

The PDS allows 5,000 points an hour and 35,000 a day per account: about 1,666 follows an hour.
The budget remembers what was spent in the last day (persisted with the run's state, so a
resumed run still knows) and says how many creates fit now, and when more will.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HOUR = 3600.0
DAY = 86400.0
CREATE_COST = 3


@dataclass
class WriteBudget:
    per_hour: int = 5000
    per_day: int = 35000
    spent: list[tuple[float, int]] = field(default_factory=list)  # (when, points)

    def _used(self, now: float, window: float) -> int:
        return sum(p for t, p in self.spent if now - t < window)

    def creates_available(self, now: float) -> int:
        self.spent = [(t, p) for t, p in self.spent if now - t < DAY]
        room = min(self.per_hour - self._used(now, HOUR), self.per_day - self._used(now, DAY))
        return max(0, room // CREATE_COST)

    def spend(self, creates: int, now: float) -> None:
        if creates > 0:
            self.spent.append((now, creates * CREATE_COST))

    def seconds_until_available(self, now: float, creates: int = 1) -> float:
        """How long until `creates` more fit (0 when they fit now)."""
        need = creates * CREATE_COST
        if need > min(self.per_hour, self.per_day):
            raise ValueError("more creates than the budget ever allows at once")
        wait = 0.0
        for window, limit in ((HOUR, self.per_hour), (DAY, self.per_day)):
            used = self._used(now, window)
            if used + need <= limit:
                continue
            # the oldest spends inside the window leave it first
            freed = 0
            for t, p in sorted(self.spent):
                if now - t >= window:
                    continue
                freed += p
                if used - freed + need <= limit:
                    wait = max(wait, t + window - now)
                    break
        return wait

    def binding_window(self, now: float) -> str:
        """Which limit keeps the next create waiting: "hour" or "day"."""
        day_left = self.per_day - self._used(now, DAY)
        hour_left = self.per_hour - self._used(now, HOUR)
        return "day" if day_left < CREATE_COST and day_left <= hour_left else "hour"

    def hours_for(self, creates: int) -> float:
        """Hours `creates` take from an unspent budget: at the hourly rate, and a whole day
        for each day's budget they fill (35,000 points: 11,666 creates)."""
        per_day = max(1, self.per_day // CREATE_COST)
        days, rest = divmod(creates, per_day)
        if rest == 0 and days:
            days, rest = days - 1, per_day
        return days * 24 + rest * CREATE_COST / self.per_hour

    def to_json(self) -> dict:
        return {
            "per_hour": self.per_hour,
            "per_day": self.per_day,
            "spent": [[t, p] for t, p in self.spent],
        }

    @classmethod
    def from_json(cls, data: dict, per_hour: int) -> WriteBudget:
        return cls(
            per_hour=per_hour,
            per_day=int(data.get("per_day", 35000)),
            spent=[(float(t), int(p)) for t, p in data.get("spent", [])],
        )
