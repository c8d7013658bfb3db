"""Signal extraction, table-driven: what each X profile names, and what it must not."""

from __future__ import annotations

import pytest

from server.core import addresses
from server.core.models import Account, Clue
from server.resolve import signals

B, M = "bluesky", "mastodon"

# (text, where, expected {(network, value, reason, claimed)})
TEXT_CASES: list[tuple[str, str, set[tuple[str, str, str, bool]]]] = [
    # Bluesky handles in the bio
    ("🦋 @alice.bsky.social", "bio", {(B, "alice.bsky.social", "bio-handle", True)}),
    ("Bluesky: @alice.bsky.social", "bio", {(B, "alice.bsky.social", "bio-handle", True)}),
    ("bsky: alice.bsky.social", "bio", {(B, "alice.bsky.social", "bio-handle", True)}),
    ("Aussi sur @alice.bsky.social", "bio", {(B, "alice.bsky.social", "bio-handle", True)}),
    ("Retrouvez-moi sur @jdupont.fr", "bio", {(B, "jdupont.fr", "bio-handle", True)}),
    ("Journaliste @lemonde.fr", "bio", {(B, "lemonde.fr", "bio-handle", False)}),
    ("Now at @Alice.BSKY.Social!", "bio", {(B, "alice.bsky.social", "bio-handle", False)}),
    ("alice.bsky.social", "bio", {(B, "alice.bsky.social", "bio-handle", False)}),
    ("moved: alice.bsky.social.", "bio", {(B, "alice.bsky.social", "bio-handle", True)}),
    ("🦋 alice.fr", "bio", {(B, "alice.fr", "bio-handle", True)}),
    ("Bluesky → alice.example.org", "bio", {(B, "alice.example.org", "bio-handle", True)}),
    ("perso: @a-b.bsky.social", "bio", {(B, "a-b.bsky.social", "bio-handle", True)}),
    ("(@alice.bsky.social)", "bio", {(B, "alice.bsky.social", "bio-handle", False)}),
    (
        "@alice.bsky.social, @bob.bsky.social",
        "bio",
        {
            (B, "alice.bsky.social", "bio-handle", False),
            (B, "bob.bsky.social", "bio-handle", False),
        },
    ),
    # Bluesky profile URLs
    (
        "https://bsky.app/profile/alice.bsky.social",
        "bio",
        {(B, "alice.bsky.social", "bio-url", True)},
    ),
    ("bsky.app/profile/alice.fr", "bio", {(B, "alice.fr", "bio-url", True)}),
    (
        "https://bsky.app/profile/did:plc:abcdefghijklmnopqrstuvwx",
        "bio",
        {(B, "did:plc:abcdefghijklmnopqrstuvwx", "bio-url", True)},
    ),
    ("www.bsky.app/profile/alice.bsky.social/post/3k", "bio", set()),
    # Cut links are prefixes, never handles
    ("bsky.app/profile/alice.bs…", "bio", set()),
    ("bsky.app/profile/alice.bsky.soc...", "bio", set()),
    ("🦋 @alice.bsky.soc…", "bio", set()),
    ("piaille.fr/@alic…", "bio", set()),
    ("@alice@piaille.f…", "bio", set()),
    # The display name names an account: always the person's own
    ("Alice Martin 🦋 alice.fr", "name", {(B, "alice.fr", "name-handle", True)}),
    ("Alice (@alice@piaille.fr)", "name", {(M, "alice@piaille.fr", "name-handle", True)}),
    ("Alice @alice.bsky.social", "name", {(B, "alice.bsky.social", "name-handle", True)}),
    ("Alice Martin", "name", set()),
    ("Alice | alice.bsky.social", "name", {(B, "alice.bsky.social", "name-handle", True)}),
    # Fediverse handles
    ("🐘 @alice@piaille.fr", "bio", {(M, "alice@piaille.fr", "bio-handle", True)}),
    ("Mastodon : @alice@piaille.fr", "bio", {(M, "alice@piaille.fr", "bio-handle", True)}),
    ("@alice@piaille.fr", "bio", {(M, "alice@piaille.fr", "bio-handle", False)}),
    ("@Alice@Piaille.FR", "bio", {(M, "alice@piaille.fr", "bio-handle", False)}),
    ("fedi: @a_b@mastodon.social", "bio", {(M, "a_b@mastodon.social", "bio-handle", True)}),
    (
        "@alice@sub.domain.example.org",
        "bio",
        {(M, "alice@sub.domain.example.org", "bio-handle", False)},
    ),
    ("Sur le fédivers : @alice@piaille.fr.", "bio", {(M, "alice@piaille.fr", "bio-handle", True)}),
    ("@alice@threads.net", "bio", {(M, "alice@threads.net", "bio-handle", False)}),
    ("@alice@misskey.io", "bio", {(M, "alice@misskey.io", "bio-handle", False)}),
    # Bare user@host: maybe an e-mail; kept only as "bare", mail providers dropped
    ("alice@piaille.fr", "bio", {(M, "alice@piaille.fr", "bio-handle", False)}),
    ("contact: alice@gmail.com", "bio", set()),
    ("alice.martin@orange.fr", "bio", set()),
    ("pro: a.martin@protonmail.com", "bio", set()),
    ("alice@yahoo.fr / alice@hotmail.com", "bio", set()),
    ("mail alice+news@univ.fr", "bio", set()),
    # Fediverse profile URLs
    ("https://piaille.fr/@alice", "bio", {(M, "alice@piaille.fr", "bio-url", True)}),
    ("piaille.fr/@alice", "bio", {(M, "alice@piaille.fr", "bio-url", True)}),
    ("http://mastodon.social/@Alice", "bio", {(M, "alice@mastodon.social", "bio-url", True)}),
    ("https://mastodon.xyz/users/dan", "bio", {(M, "dan@mastodon.xyz", "bio-url", True)}),
    ("https://a.social/@bob@b.social", "bio", {(M, "bob@b.social", "bio-url", True)}),
    ("https://piaille.fr/@alice/1123456", "bio", set()),
    ("https://medium.com/@alice", "bio", set()),
    ("https://www.youtube.com/@alice", "bio", set()),
    ("https://www.tiktok.com/@alice", "bio", set()),
    ("https://x.com/@alice", "bio", set()),
    ("https://bsky.app/@alice", "bio", set()),
    # X mirrors are the X account itself
    ("@alice@bird.makeup", "bio", set()),
    ("https://bird.makeup/users/alice", "bio", set()),
    ("🐘 @alice@birdsite.link", "bio", set()),
    # Unicode look-alikes and invisible characters
    ("🐘 ＠alice＠piaille.fr", "bio", {(M, "alice@piaille.fr", "bio-handle", True)}),
    ("𝐌𝐚𝐬𝐭𝐨𝐝𝐨𝐧: @ali\u200bce@piaille.fr", "bio", {(M, "alice@piaille.fr", "bio-handle", True)}),
    ("🦋 @𝐚𝐥𝐢𝐜𝐞.bsky.social", "bio", {(B, "alice.bsky.social", "bio-handle", True)}),
    ("🦋 @ａｌｉｃｅ.bsky.social", "bio", {(B, "alice.bsky.social", "bio-handle", True)}),
    ("@alice@pia\u00adille.fr", "bio", {(M, "alice@piaille.fr", "bio-handle", False)}),
    # International domain names are IDNA-encoded
    ("🐘 @dan@eldritch.café", "bio", {(M, "dan@eldritch.xn--caf-dma", "bio-handle", True)}),
    ("https://eldritch.café/@dan", "bio", {(M, "dan@eldritch.xn--caf-dma", "bio-url", True)}),
    ("🦋 @zoé.fr", "bio", {(B, "xn--zo-cja.fr", "bio-handle", True)}),
    # Bridgy Fed addresses
    (
        "@alice.bsky.social@bsky.brid.gy",
        "bio",
        {
            (M, "alice.bsky.social@bsky.brid.gy", "bio-handle", False),
            (B, "alice.bsky.social", "bio-handle", False),
        },
    ),
    (
        "🦋 @alice.piaille.fr.ap.brid.gy",
        "bio",
        {(B, "alice.piaille.fr.ap.brid.gy", "bio-handle", True)},
    ),
    # Both networks in one bio
    (
        "🦋 alice.bsky.social 🐘 @alice@piaille.fr",
        "bio",
        {(B, "alice.bsky.social", "bio-handle", True), (M, "alice@piaille.fr", "bio-handle", True)},
    ),
    (
        "Mastodon: piaille.fr/@alice | Bluesky: bsky.app/profile/alice.fr",
        "bio",
        {(M, "alice@piaille.fr", "bio-url", True), (B, "alice.fr", "bio-url", True)},
    ),
    # DIDs
    (
        "did:plc:abcdefghijklmnopqrstuvwx",
        "bio",
        {(B, "did:plc:abcdefghijklmnopqrstuvwx", "bio-handle", False)},
    ),
    ("did:plc:tooshort", "bio", set()),
    # Things that are not handles
    ("@alice_m", "bio", set()),
    ("#bluesky #mastodon", "bio", set()),
    ("v1.2 released", "bio", set()),
    ("@home.page", "bio", {(B, "home.page", "bio-handle", False)}),
    ("Paris, France", "bio", set()),
    ("alice@localhost", "bio", set()),
    ("@alice@192.168.0.1", "bio", set()),
    ("https://alice.fr", "bio", set()),
    ("", "bio", set()),
    ("@", "bio", set()),
    ("@@@...@@@", "bio", set()),
    ("🦋", "bio", set()),
    ("@.bsky.social", "bio", set()),
    ("@-alice.bsky.social", "bio", set()),
    ("@alice-.bsky.social", "bio", set()),
    ("@alice..bsky.social", "bio", set()),
    ("@alice.invalid", "bio", set()),
    ("@alice.local", "bio", set()),
    ("Prof. d'histoire, Sciences Po.", "bio", set()),
    ("I like bsky.social and mastodon.social", "bio", set()),
]


def _tuples(clues: list[Clue]) -> set[tuple[str, str, str, bool]]:
    return {(c.network, c.value, c.reason, c.claimed) for c in clues}


@pytest.mark.parametrize(("text", "where", "expected"), TEXT_CASES)
def test_clues_from_text(text: str, where: str, expected: set[tuple[str, str, str, bool]]) -> None:
    assert _tuples(signals.clues_from_text(text, where)) == expected


def test_bare_flag_marks_possible_email() -> None:
    [clue] = signals.clues_from_text("écrivez-moi: alice@univ-lyon2.fr", "bio")
    assert clue.bare and clue.value == "alice@univ-lyon2.fr"
    [clue] = signals.clues_from_text("@alice@univ-lyon2.fr", "bio")
    assert not clue.bare


WEBSITE_CASES = [
    ("https://alice.fr", "alice.fr"),
    ("https://alice.fr/", "alice.fr"),
    ("https://www.alice.fr/", "alice.fr"),
    ("http://Alice.FR", "alice.fr"),
    ("alice.fr", "alice.fr"),
    # A page of the site is still the site's (#20: `http://www.example.org/blog` was missed).
    ("https://alice.fr/blog", "alice.fr"),
    ("http://www.example.org/blog", "example.org"),
    ("https://alice.fr/?ref=x", "alice.fr"),
    ("https://linktr.ee/", None),
    ("https://github.com/", None),
    ("https://alice.bsky.social/", None),
    ("https://localhost/", None),
    ("", None),
    (None, None),
    ("https://zoé.fr/", "xn--zo-cja.fr"),
]


@pytest.mark.parametrize(("url", "expected"), WEBSITE_CASES)
def test_website_domain(url: str | None, expected: str | None) -> None:
    assert signals.website_domain(url) == expected


URL_CASES = [
    ("https://bsky.app/profile/alice.bsky.social", "website", {(B, "alice.bsky.social")}),
    ("https://piaille.fr/@alice", "website", {(M, "alice@piaille.fr")}),
    ("https://mastodon.online/@bob@b.social", "website", {(M, "bob@b.social")}),
    ("https://piaille.fr/users/alice", "bio-url", {(M, "alice@piaille.fr")}),
    ("https://eldritch.xn--caf-dma/@dan", "bio-url", {(M, "dan@eldritch.xn--caf-dma")}),
    (
        "https://bsky.app/profile/did:plc:abcdefghijklmnopqrstuvwx",
        "bio-url",
        {(B, "did:plc:abcdefghijklmnopqrstuvwx")},
    ),
    ("https://alice.fr/", "website", set()),
    ("https://medium.com/@alice", "website", set()),
    ("https://linktr.ee/alice", "website", set()),
    ("not a url at all", "website", set()),
    ("https://bsky.app/profile/alice.bsky.social?ref=1", "bio-url", {(B, "alice.bsky.social")}),
    ("https://piaille.fr/@alice%5F", "bio-url", {(M, "alice_@piaille.fr")}),
]


@pytest.mark.parametrize(("url", "reason", "expected"), URL_CASES)
def test_clues_from_url(url: str, reason: str, expected: set[tuple[str, str]]) -> None:
    clues = signals.clues_from_url(url, reason)
    assert {(c.network, c.value) for c in clues} == expected
    assert all(c.reason == reason and c.claimed for c in clues)


def test_extract_collects_every_source_with_its_reason() -> None:
    acc = Account(
        handle="alice_m",
        name="Alice 🦋 alice.fr",
        bio="Prof. 🐘 @alice@piaille.fr",
        url="https://www.alice.fr/",
        links=("https://bsky.app/profile/alice.fr",),
    )
    got = {(c.network, c.value, c.reason, c.claimed) for c in signals.extract(acc)}
    assert got == {
        (B, "alice.fr", "name-handle", True),
        (M, "alice@piaille.fr", "bio-handle", True),
        (B, "alice.fr", "website-domain-handle", False),
        (B, "alice.fr", "bio-url", True),
    }


def test_extract_several_links_on_one_network_are_not_claimed() -> None:
    acc = Account(handle="a", links=("https://piaille.fr/@alice", "https://piaille.fr/@bob"))
    assert {c.claimed for c in signals.extract(acc)} == {False}


def test_extract_deduplicates_same_value_and_reason() -> None:
    acc = Account(handle="a", bio="@alice@piaille.fr and again 🐘 @alice@piaille.fr")
    [clue] = signals.extract(acc)
    assert clue.claimed


SAME_HANDLE = [
    ("alice", ["alice.bsky.social"]),
    ("Alice", ["alice.bsky.social"]),
    ("alice_m", ["alice-m.bsky.social", "alicem.bsky.social"]),
    ("_alice_", ["alice.bsky.social"]),
    ("a__b", []),
    ("ab", []),
    ("a_b", ["a-b.bsky.social"]),
    ("averyveryverylongname", []),
    ("1234", ["1234.bsky.social"]),
]


@pytest.mark.parametrize(("x", "expected"), SAME_HANDLE)
def test_same_handle_candidates(x: str, expected: list[str]) -> None:
    assert signals.same_handle_candidates(x) == expected


BRIDGES = [
    ("alice@piaille.fr", "alice.piaille.fr.ap.brid.gy"),
    ("a_b@mastodon.social", "a-b.mastodon.social.ap.brid.gy"),
    ("a~b@tilde.zone", "a-b.tilde.zone.ap.brid.gy"),
    ("dan@eldritch.xn--caf-dma", "dan.eldritch.xn--caf-dma.ap.brid.gy"),
]


@pytest.mark.parametrize(("acct", "handle"), BRIDGES)
def test_bridged_handle_for_acct(acct: str, handle: str) -> None:
    assert addresses.bridged_handle_for_acct(acct) == handle


def test_bridged_acct_for_bsky_and_back() -> None:
    acct = addresses.bridged_acct_for_bsky("Alice.bsky.social")
    assert acct == "alice.bsky.social@bsky.brid.gy"
    assert addresses.bsky_handle_behind_bridge(acct) == "alice.bsky.social"
    assert addresses.bsky_handle_behind_bridge("alice@piaille.fr") is None


REVERSE = [
    ("Ex-Twitter @alice_m", "alice_m", True),
    ("ex twitter: @Alice_M", "alice_m", True),
    ("x.com/alice_m", "alice_m", True),
    ("https://twitter.com/alice_m", "alice_m", True),
    ("https://mobile.twitter.com/alice_m/", "alice_m", True),
    ("twitter.com/#!/alice_m", "alice_m", True),
    ("Formerly @alice_m on Twitter", "alice_m", True),
    ("🐦 @alice_m", "alice_m", True),
    ("X : @alice_m", "alice_m", True),
    ("(@alice_m sur X)", "alice_m", True),
    ("𝕏 @alice_m", "alice_m", True),
    ("x.com/alice_mm", "alice_m", False),
    ("x.com/balice_m", "alice_m", False),
    ("@alice_m", "alice_m", False),
    ("Hello @alice_m!", "alice_m", False),
    ("Twitter @bob", "alice_m", False),
    ("twitter.com/alice_m_", "alice_m", False),
    ("box.com/alice_m", "alice_m", False),
    ("@alice_m@piaille.fr on twitter", "alice_m", False),
    ("", "alice_m", False),
]


@pytest.mark.parametrize(("text", "handle", "expected"), REVERSE)
def test_names_x_handle(text: str, handle: str, expected: bool) -> None:
    assert signals.names_x_handle(text, handle) is expected


FIELDS = [
    ("Twitter", "@alice_m", True),
    ("X", "alice_m", True),
    ("🐦", "@Alice_M", True),
    ("Website", "https://x.com/alice_m", True),
    ("Website", "@alice_m", False),
    ("Twitter", "@bob", False),
    ("Twitter", "", False),
]


@pytest.mark.parametrize(("name", "value", "expected"), FIELDS)
def test_field_names_x_handle(name: str, value: str, expected: bool) -> None:
    assert signals.field_names_x_handle(name, value, "alice_m") is expected


@pytest.mark.parametrize(
    ("handle", "ok"),
    [
        ("alice.bsky.social", True),
        ("ALICE.fr", True),
        ("a.b.c.de", True),
        ("alice", False),
        ("alice.123", False),
        ("-a.fr", False),
        ("a_b.fr", False),
        ("handle.invalid", False),
        ("x" * 64 + ".fr", False),
        ("zoé.fr", True),
    ],
)
def test_valid_bsky_handle(handle: str, ok: bool) -> None:
    assert (addresses.valid_bsky_handle(handle) is not None) is ok


def test_long_adversarial_input_is_fast() -> None:
    import time

    nasty = ("a." * 3000) + "@" + ("b-" * 3000) + "…" + ("@x" * 2000) + "x.com/" * 500
    start = time.monotonic()
    signals.clues_from_text(nasty, "bio")
    signals.names_x_handle(nasty, "alice")
    assert time.monotonic() - start < 2.0


def test_a_bio_naming_many_servers_asks_only_a_few() -> None:
    """One request must not make the service knock on hundreds of hosts; the person's own
    account, even named last, is kept."""
    from server.resolve.signals import MAX_DESTINATIONS

    mentions = " ".join(f"@user{i}@server{i}.example" for i in range(60))
    account = Account(handle="alice", bio=f"{mentions} 🦋 alice.bsky.social")
    clues = signals.extract(account)
    assert len({(c.network, c.value) for c in clues}) == MAX_DESTINATIONS
    assert any(c.value == "alice.bsky.social" and c.claimed for c in clues)
