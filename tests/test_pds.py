"""Finding an account's PDS from its handle (server/follow/pds.py): what the DID document must
say before an app password is sent anywhere. The whole path runs on the real local network in
tests/test_follow_bluesky.py; this table holds the documents that must be refused."""

from __future__ import annotations

from typing import Any

import pytest

from server.core.config import load
from server.follow.pds import PdsNotFound, pds_for

DID = "did:plc:abcdefghijklmnopqrstuvwx"
HANDLE = "asso.example.fr"


class FakeResponse:
    def __init__(self, doc: Any, status: int = 200) -> None:
        import json

        self.status_code = status
        self.content = json.dumps(doc).encode()
        self._doc = doc

    def json(self) -> Any:
        return self._doc


class FakeSession:
    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self.asked: list[str] = []

    def get(self, url: str, **_: Any) -> FakeResponse:
        self.asked.append(url)
        return FakeResponse(self.doc)


class FakeBluesky:
    def resolve_domain(self, domain: str) -> str | None:
        return DID if domain == HANDLE else None


def doc(endpoint: str = "https://pds.example.eu", aka: str = f"at://{HANDLE}", **extra: Any) -> Any:
    return {
        "id": DID,
        "alsoKnownAs": [aka],
        "service": [
            {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": endpoint}
        ],
        **extra,
    }


# (DID document, trusted hosts) → the PDS, or the reason it is refused
CASES = [
    (doc(), (), "https://pds.example.eu"),
    (doc("https://pds.example.eu/"), (), "https://pds.example.eu"),
    (doc(aka=f"at://{HANDLE.upper()}"), (), "https://pds.example.eu"),
    (doc(aka="at://someone.else"), (), "does not confirm this handle"),
    (doc("http://pds.example.eu"), (), "not a public https address"),
    (doc("https://10.0.0.7"), (), "not a public https address"),
    (doc("https://localhost:2583"), (), "not a public https address"),
    (doc("http://localhost:2583"), ("localhost",), "http://localhost:2583"),
    ({**doc(), "service": []}, (), "names no PDS"),
    ({**doc(), "id": "did:plc:another"}, (), "for another DID"),
    (
        {
            **doc(),
            "service": [
                {
                    "id": "#atproto_labeler",
                    "type": "AtprotoLabeler",
                    "serviceEndpoint": "https://x",
                },
                {
                    "id": f"{DID}#atproto_pds",
                    "type": "AtprotoPersonalDataServer",
                    "serviceEndpoint": "https://pds.example.eu",
                },
            ],
        },
        (),
        "https://pds.example.eu",
    ),
]


@pytest.mark.parametrize(("document", "trusted", "expected"), CASES)
def test_pds_table(document: Any, trusted: tuple[str, ...], expected: str) -> None:
    settings = load(
        {}, {"PASSERELLE_TRUSTED_HOSTS": ",".join(trusted), "PASSERELLE_CACHE_URL": "none"}
    )
    session = FakeSession(document)
    if expected.startswith(("http://", "https://")):
        assert pds_for(HANDLE, settings, session, FakeBluesky()) == expected  # type: ignore[arg-type]
        assert session.asked == [f"https://plc.directory/{DID}"]
    else:
        with pytest.raises(PdsNotFound, match=expected):
            pds_for(HANDLE, settings, session, FakeBluesky())  # type: ignore[arg-type]


def test_the_setting_overrides_and_nothing_is_asked() -> None:
    settings = load({}, {"PASSERELLE_BSKY_PDS": "https://pds.asso.fr"})
    session = FakeSession(doc())
    assert pds_for(HANDLE, settings, session, FakeBluesky()) == "https://pds.asso.fr"  # type: ignore[arg-type]
    assert session.asked == []


def test_unknown_handle() -> None:
    with pytest.raises(PdsNotFound, match="no Bluesky account"):
        pds_for("nobody.example", load({}), FakeSession(doc()), FakeBluesky())  # type: ignore[arg-type]
