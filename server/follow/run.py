"""Drives a follow run on Bluesky: skip who is already followed, follow the rest in batches
inside the write budget, then fill a list and starter packs; the state is saved after every
batch, so an interrupted run (a limit, a crash, a network cut) resumes where it stopped."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..networks.http import UpstreamUnavailable
from .bluesky import (
    CURATE,
    FOLLOW,
    GONE,
    LIST_ITEM,
    LIST_NAME_MAX,
    PACK_MEMBERS_MAX,
    PACK_NAME_MAX,
    REFERENCE,
    STARTER_PACK,
    BlueskyWriter,
)
from .budget import WriteBudget
from .state import RunState

BATCH = 50  # creates per applyWrites call: progress and budget move in steps this size
Report = Callable[[str], None]


class BudgetExhausted(Exception):
    """The write budget is spent and the run was asked not to wait; `seconds` until it frees."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


@dataclass
class Runner:
    writer: BlueskyWriter
    state: RunState
    budget: WriteBudget
    wait: bool = True
    report: Report = print
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    # -- budget --------------------------------------------------------------------------------
    def _room(self, wanted: int) -> int:
        """Creates allowed now (at most `wanted`), waiting for the budget if allowed to."""
        while True:
            room = min(wanted, self.budget.creates_available(self.clock()))
            if room > 0:
                return room
            seconds = self.budget.seconds_until_available(self.clock())
            if not self.wait:
                raise BudgetExhausted(seconds)
            if self.budget.binding_window(self.clock()) == "day":
                limit = f"{self.budget.per_day:,} points a day"
            else:
                limit = f"{self.budget.per_hour:,} points an hour"
            self.report(f"write budget spent: waiting {seconds / 60:.0f} min ({limit})")
            self.sleep(min(seconds + 1, 600))

    def _created(self, n: int) -> None:
        self.budget.spend(n, self.clock())
        self.state.budget = self.budget.to_json()
        self.state.save()

    def eta(self, creates: int) -> str:
        """How long `creates` take at this budget: per hour, and per day beyond a day's."""
        hours = self.budget.hours_for(creates)
        if hours < 1 / 60:
            return "under a minute"
        if hours < 1:
            return f"about {hours * 60:.0f} min"
        return f"about {hours:.1f} h" if hours < 24 else f"about {hours / 24:.1f} days"

    # -- follows -------------------------------------------------------------------------------
    def follow_all(self) -> None:
        pending = self.state.with_status("pending", "failed")
        if not pending:
            return
        already = self.writer.followed()
        for ident in pending:
            if ident in already:
                self.state.mark(ident, "skipped")
        self.state.save()
        todo = self.state.with_status("pending", "failed")
        total = len(todo)
        if total:
            self.report(f"following {total:,} accounts ({self.eta(total)} at this budget)")
        followed = 0
        while todo:
            chunk = todo[: self._room(min(BATCH, len(todo)))]
            todo = todo[len(chunk) :]
            alive = self._still_there(chunk)
            if alive:
                self.writer.create(FOLLOW, self.writer.follow_values(alive))
                for ident in alive:
                    self.state.mark(ident, "followed")
                self._created(len(alive))  # only what was written counts, and is spent
            self.state.save()
            followed += len(alive)
            left = f"; {len(todo):,} to go, {self.eta(len(todo))}" if todo else ""
            self.report(f"followed {followed:,} of {total:,}{left}")

    def _still_there(self, dids: list[str], listing: bool = False) -> list[str]:
        """Those of `dids` Bluesky still shows, checked just before writing. The others are
        said and left out: marked `unavailable` when about to be followed; when about to be
        listed (someone followed before who has left since), only kept out of the list."""
        shown = self.writer.existing(dids)
        for ident in dids:
            if ident not in shown:
                handle = self.state.targets[ident].get("handle") or ident
                self.report(f"not {'listed' if listing else 'followed'}: @{handle}: {GONE}")
                if not listing:
                    self.state.mark(ident, "unavailable", GONE)
        return [d for d in dids if d in shown]

    # -- lists and starter packs ---------------------------------------------------------------
    def _ensure_list(self, name: str, purpose: str, description: str) -> str:
        uri = self.state.lists.get(name) or self.writer.find_list(name, purpose)
        if uri is None:
            self._room(1)
            [uri] = self.writer.create(
                "app.bsky.graph.list", [self.writer.list_values(name, purpose, description)]
            )
            self._created(1)
        self.state.lists[name] = uri
        self.state.save()
        return uri

    def _fill(self, list_uri: str, dids: list[str], label: str) -> None:
        present = self.writer.list_members(list_uri)
        todo = [d for d in dids if d not in present]
        if todo:  # someone already followed may have left since: never listed
            todo = self._still_there(todo, listing=True)
        done = 0
        while todo:
            chunk = todo[: self._room(min(BATCH, len(todo)))]
            self.writer.create(LIST_ITEM, self.writer.item_values(list_uri, chunk))
            self._created(len(chunk))
            done += len(chunk)
            todo = todo[len(chunk) :]
            self.report(f"{label}: added {done:,} / {done + len(todo):,}")

    def members(self) -> list[str]:
        """Everyone the run selected and who is (now) followed."""
        return self.state.with_status("followed", "skipped")

    def make_list(self, name: str) -> str:
        name = name.strip()[:LIST_NAME_MAX]
        uri = self._ensure_list(name, CURATE, "Made with Passerelle from an X follow list.")
        self._fill(uri, self.members(), f"list “{name}”")
        return uri

    def make_starter_packs(self, name: str) -> list[str]:
        """One starter pack per 150 people (the app's limit): "Name", "Name (2)", …"""
        name = name.strip()
        dids = self.members()
        chunks = [dids[i : i + PACK_MEMBERS_MAX] for i in range(0, len(dids), PACK_MEMBERS_MAX)]
        uris = []
        for n, chunk in enumerate(chunks, start=1):
            suffix = f" ({n})" if len(chunks) > 1 else ""
            pack_name = name[: PACK_NAME_MAX - len(suffix)] + suffix
            list_uri = self._ensure_list(
                pack_name[:LIST_NAME_MAX], REFERENCE, "The people of a Passerelle starter pack."
            )
            self._fill(list_uri, chunk, f"starter pack “{pack_name}”")
            uri = self.state.packs.get(pack_name) or self.writer.find_pack(pack_name)
            if uri is None:
                self._room(1)
                [uri] = self.writer.create(
                    STARTER_PACK,
                    [
                        self.writer.pack_value(
                            pack_name, list_uri, "Made with Passerelle from an X follow list."
                        )
                    ],
                )
                self._created(1)
            self.state.packs[pack_name] = uri
            self.state.save()
            uris.append(uri)
        return uris


__all__ = ["BudgetExhausted", "Runner", "UpstreamUnavailable"]
