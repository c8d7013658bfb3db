"""Claims in time: the hand-written table `tests/tables/claims_in_time.md`, row by row. An
address named on X that today shows a stranger, a profile that names the X account back but
says it is not the person, an automated account: what `decide` makes of each. Pure: no
network."""

from __future__ import annotations

import pytest

from server.core.models import Account, BskyProfile, Clue, FediAccount
from server.resolve.contradiction import disclaims, latin_words
from server.resolve.decide import Found, decide_network
from server.resolve.signals import extract
from tests import mdtable

NONE = "—"
DOUBTS = {"nothing-in-common", "disclaims", "automated"}
ROWS = mdtable.rows("claims_in_time.md", 11)


def _text(cell: str) -> str:
    return "" if cell == NONE else cell.replace("\\n", "\n")


def profile(address: str, name: str, bio: str, marks: str) -> BskyProfile | FediAccount:
    network, _, ident = address.partition(":")
    if network == "bluesky":
        return BskyProfile(
            did=f"did:plc:{abs(hash(ident)) % 10**24:024d}",
            handle=ident,
            display_name=name,
            description=bio,
            labels=("bot",) if marks == "label:bot" else (),
        )
    user, _, host = ident.partition("@")
    return FediAccount(
        acct=ident,
        url=f"https://{host}/@{user}",
        display_name=name,
        note=bio,
        bot=marks == "bot",
    )


def test_the_table_covers_every_family_in_five_languages() -> None:
    assert len(ROWS) >= 40
    reasons = {r[10] for r in ROWS}
    assert reasons >= DOUBTS and NONE in reasons
    bios = " ".join(r[7] for r in ROWS).lower()
    for word in ("parodique", "fan account", "inoffizielles", "parodia", "non ufficiale"):
        assert word in bios, word
    assert {"named", "search", "cross-link"} <= {r[5] for r in ROWS}


@pytest.mark.parametrize(
    ("x", "x_name", "x_bio", "x_site", "address", "by", "name", "bio", "marks", "level", "reason"),
    ROWS,
)
def test_claim_in_time(
    x: str,
    x_name: str,
    x_bio: str,
    x_site: str,
    address: str,
    by: str,
    name: str,
    bio: str,
    marks: str,
    level: str,
    reason: str,
) -> None:
    account = Account(handle=x, name=_text(x_name), bio=_text(x_bio), url=_text(x_site) or None)
    network, _, ident = address.partition(":")
    dest = profile(address, _text(name), _text(bio), marks)
    clues = extract(account)
    found: list[Found] = []
    if by == "named":
        mine = [c for c in clues if (c.network, c.value) == (network, ident)]
        assert mine, f"{ident} not read from the X profile"
        found += [Found(network, dest, "clue", c) for c in mine]  # type: ignore[arg-type]
    elif by == "cross-link":
        found.append(Found(network, dest, "cross-link", Clue(network, ident, "bio-handle", True)))  # type: ignore[arg-type]
    else:
        found.append(Found(network, dest, "name-search"))  # type: ignore[arg-type]
    # The other addresses the X profile names exist too, as the person's own.
    for c in clues:
        if c.network != network:
            other = profile(f"{c.network}:{c.value}", account.name, "", NONE)
            found.append(Found(c.network, other, "clue", c))
    best, _ = decide_network(account, network, found)  # type: ignore[arg-type]
    assert best is not None and best.ident == (
        dest.did if isinstance(dest, BskyProfile) else dest.acct
    )
    assert best.level == level, sorted(best.reasons)
    if reason == NONE:
        assert not (best.reasons & DOUBTS), sorted(best.reasons)
    else:
        assert reason in best.reasons, sorted(best.reasons)


@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("Алиса Мартин", ["alisa", "martin"]),
        ("🌻 Zoé Martin 🌻", ["zoe", "martin"]),
        ("Hélène Çelik", ["helene", "celik"]),
        ("🦋", []),
        ("", []),
    ],
)
def test_names_are_compared_across_scripts_and_emoji(name: str, folded: list[str]) -> None:
    assert latin_words(name) == folded


def test_a_disclaimer_must_be_about_the_person_when_it_could_be_about_anything() -> None:
    me = Account(handle="alice_m", name="Alice Martin")
    assert disclaims(me, "Alice", "Not affiliated with @alice_m. Just a fan of her work.")
    assert not disclaims(me, "Alice", "Not affiliated with my employer.")
    assert disclaims(me, "Alice", "Unofficial account.")
    assert not disclaims(me, "Alice", "Unofficial historian.")
