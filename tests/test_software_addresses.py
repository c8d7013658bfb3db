"""Addresses whose shape depends on the software, websites with a path, two own accounts: the
hand-written table `tests/tables/software_addresses.md`, row by row. Pure: the software a
server runs is the table's (what NodeInfo would say); `rounds.software` asks it."""

from __future__ import annotations

import pytest

from server.core import addresses
from server.core.models import Account, BskyProfile, FediAccount
from server.resolve import signals
from server.resolve.decide import Found, decide_network
from tests import mdtable

ROWS = mdtable.rows("software_addresses.md", 4)
NAME = "Alice Martin"


def _account(where: str, text: str) -> Account:
    if where == "link":
        return Account(handle="alice_x", name=NAME, links=(text,))
    if where in ("website", "site"):
        return Account(handle="alice_x", name=NAME, url=text)
    return Account(handle="alice_x", name=NAME, bio=text)


def _read(account: Account, software: str, where: str) -> set[str]:
    """What the resolver makes of the profile's links once each server's software is known."""
    got = set()
    for p in signals.path_profiles(account):
        form = signals.PATH_FORMS.get(software)
        acct = addresses.valid_acct(p.user, p.host)
        if form is not None and p.form == form and acct:
            got.add(f"mastodon:{acct}")
    for c in signals.extract(account):
        if c.reason == "website-domain-handle" and where != "site":
            continue  # a website's domain *may* be a handle: the `site` rows' question
        got.add(f"{c.network}:{c.value}")
    return got


def _profile(address: str) -> BskyProfile | FediAccount:
    net, _, ident = address.partition(":")
    if net == "bluesky":
        return BskyProfile(
            did=f"did:plc:{abs(hash(ident)) % 10**24:024d}", handle=ident, display_name=NAME
        )
    user, _, host = ident.partition("@")
    return FediAccount(acct=ident, url=f"https://{host}/@{user}", display_name=NAME)


@pytest.mark.parametrize(("where", "text", "software", "names"), ROWS)
def test_software_address(where: str, text: str, software: str, names: str) -> None:
    account = _account(where, text)
    if where != "own":
        got = _read(account, software, where)
        assert got == (set() if names == "none" else {names}), got
        return
    clues = signals.extract(account)
    network = names.partition(":")[0]
    mine = [c for c in clues if c.network == network]
    assert len({c.value for c in mine}) == 2, mine
    found = [Found(network, _profile(f"{c.network}:{c.value}"), "clue", c) for c in mine]  # type: ignore[arg-type]
    found.reverse()  # the networks answer in any order: the text's order decides
    best, others = decide_network(account, network, found)  # type: ignore[arg-type]
    assert best is not None and best.level == "confirmed", best
    ident = best.profile.handle if isinstance(best.profile, BskyProfile) else best.profile.acct
    assert f"{network}:{ident}" == names
    assert len(others) == 1 and others[0].level == "possible"


def test_the_table_is_there() -> None:
    assert len(ROWS) >= 25
    assert {r[2] for r in ROWS} >= {"pixelfed", "lemmy", "friendica", "mastodon", "—"}
