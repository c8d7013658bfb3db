"""Whose account is it? The hand-written table `tests/tables/whose_account.md`, row by row:
the X profile's wording decides whether an address it names is the person's own (signals), and
the decision gives it its level (decide). Pure: no network."""

from __future__ import annotations

import pytest

from server.core.models import Account, BskyProfile, Clue, FediAccount
from server.resolve.decide import Found, decide_network
from server.resolve.signals import extract
from tests import mdtable


def rows() -> list[tuple[str, ...]]:
    return mdtable.rows("whose_account.md", 6)


def profile(address: str, name: str) -> BskyProfile | FediAccount:
    network, _, ident = address.partition(":")
    if network == "bluesky":
        return BskyProfile(
            did=f"did:plc:{abs(hash(ident)) % 10**24:024d}",
            handle=ident,
            display_name=name,
            description="",
        )
    user, _, host = ident.partition("@")
    return FediAccount(
        acct=ident, url=f"https://{host}/@{user}", display_name=name, note="", fields=()
    )


ROWS = rows()


def test_the_table_is_there_and_bilingual() -> None:
    assert len(ROWS) >= 40
    bios = " ".join(r[1] for r in ROWS)
    for word in ("chez", "membre", "Volunteer at", "Co-founder", "soutenez", "Rejoignez"):
        assert word.lower() in bios.lower(), word


@pytest.mark.parametrize(("x_name", "bio", "address", "dest_name", "level", "other"), ROWS)
def test_whose_account(
    x_name: str, bio: str, address: str, dest_name: str, level: str, other: str
) -> None:
    account = Account(handle="someone_x", name=x_name, bio=bio.replace("\\n", "\n"))
    network, _, ident = address.partition(":")
    clues: list[Clue] = [c for c in extract(account) if (c.network, c.value) == (network, ident)]
    assert clues, f"{ident} not read from the bio"
    found = [Found(network, profile(address, dest_name), "clue", c) for c in clues]  # type: ignore[arg-type]
    best, _ = decide_network(account, network, found)  # type: ignore[arg-type]
    assert best is not None
    assert best.level == level, (best.level, sorted(best.reasons))
    assert ("other-party" in best.reasons) == (other == "yes"), sorted(best.reasons)
