"""What one batch learns about each X account, round after round (`resolver`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.models import Account, Candidate, Clue, Network
from .decide import Found


@dataclass
class State:
    """What the batch has learnt about one X account so far."""

    account: Account
    clues: list[Clue]
    found: list[Found] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)  # networks that could not be checked
    best: dict[Network, Candidate | None] = field(default_factory=dict)
    others: dict[Network, list[Candidate]] = field(default_factory=dict)
    # A re-check: the earlier answer, what of it still holds, and what is gone since.
    previous: dict[Network, dict[str, Any]] = field(default_factory=dict)
    kept: dict[Network, Candidate] = field(default_factory=dict)
    crossed: set[tuple[str, str]] = field(default_factory=set)  # cross-links already asked
    gone: dict[Network, dict[str, Any]] = field(default_factory=dict)
    # Each network's last verdict, with how many profiles it was judged on (`Resolver`).
    decided: dict[Network, tuple[int, tuple[Candidate | None, list[Candidate]]]] = field(
        default_factory=dict
    )


@dataclass
class BskyAsk:
    key: str
    via: str
    clue: Clue | None = None
    source_ident: str | None = None
    require_handle: str | None = None  # asked by DID for a domain: the AppView must agree
