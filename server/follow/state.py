"""A follow run's progress on disk, so an interrupted run resumes where it stopped.

Holds what was done per account, the list and starter packs made, and the write budget spent;
never a password or a token. Written atomically (a temporary file, then a rename), so a crash
mid-write leaves the previous state whole.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.validate import InputError
from .plan import Target

VERSION = 1


def state_folder() -> Path:
    """Where the service keeps its jobs (`$XDG_STATE_HOME/passerelle/jobs`). Here, not beside
    the jobs, so a `passerelle follow` run finds the lease folder next to it without loading
    the service's job machinery (and the atproto SDK with it: most of a Mastodon run's start)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / "passerelle" / "jobs"


@dataclass
class RunState:
    network: str
    account: str = ""  # the signed-in account (DID or acct): a state belongs to one account
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → entry
    order: list[str] = field(default_factory=list)
    lists: dict[str, str] = field(default_factory=dict)  # list name → at:// URI
    packs: dict[str, str] = field(default_factory=dict)  # starter pack name → at:// URI
    budget: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def add_targets(self, targets: list[Target]) -> None:
        for t in targets:
            if t.id not in self.targets:
                self.targets[t.id] = {"handle": t.handle, "x": t.x, "status": "pending"}
                self.order.append(t.id)

    def with_status(self, *statuses: str) -> list[str]:
        return [i for i in self.order if self.targets[i]["status"] in statuses]

    def mark(self, ident: str, status: str, error: str | None = None) -> None:
        entry = self.targets[ident]
        entry["status"] = status
        if error:
            entry["error"] = error
        else:
            entry.pop("error", None)

    def counts(self) -> dict[str, int]:
        out = {"followed": 0, "skipped": 0, "unavailable": 0, "failed": 0, "pending": 0}
        for entry in self.targets.values():
            out[entry["status"]] = out.get(entry["status"], 0) + 1
        return out

    def save(self) -> None:
        assert self.path is not None
        data = {
            "version": VERSION,
            "network": self.network,
            "account": self.account,
            "order": self.order,
            "targets": self.targets,
            "lists": self.lists,
            "packs": self.packs,
            "budget": self.budget,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False, indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)  # never leave a half-written file behind
            raise

    @classmethod
    def load(cls, path: Path, network: str) -> RunState:
        if not path.exists():
            return cls(network=network, path=path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise InputError(
                f"{path}: not a state file Passerelle can read ({e}); move it away to start afresh"
            ) from None
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise InputError(f"{path}: not a Passerelle state file")
        if data.get("network") != network:
            raise InputError(f"{path}: this state is for {data.get('network')}, not {network}")
        return cls(
            network=network,
            account=data.get("account", ""),
            targets=data.get("targets", {}),
            order=data.get("order", []),
            lists=data.get("lists", {}),
            packs=data.get("packs", {}),
            budget=data.get("budget", {}),
            path=path,
        )
