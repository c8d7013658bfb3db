"""Which OAuth client the service is to Bluesky servers, and what a hosted instance publishes.

The whole flow runs against the local PDS in `test_follow_bluesky.py`; these check the pieces a
PDS relies on: the key derived from the secret (the same in every worker, never stored), its
thumbprint, the assertions it signs, the client metadata and JWKS endpoints, and the table of
service addresses → kind of client.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc import jws
from joserfc.jwk import ECKey

from server.follow.bsky_oauth import ASSERTION_TYPE, ClientKey, DpopKey, OAuthError, client_fields

SECRET = "a-secret-for-the-tests-0123456789"


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verify(jwt: str, jwk: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, payload) of an ES256 compact JWS, checked against `jwk` (independently of the
    code under test: the public numbers rebuilt from the JWK)."""
    head, body, sig = jwt.split(".")
    numbers = ec.EllipticCurvePublicNumbers(
        int.from_bytes(_unb64(jwk["x"]), "big"),
        int.from_bytes(_unb64(jwk["y"]), "big"),
        ec.SECP256R1(),
    )
    raw = _unb64(sig)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    numbers.public_key().verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    return json.loads(_unb64(head)), json.loads(_unb64(body))


def test_the_key_is_the_secret_s_and_only_its() -> None:
    one, again, other = ClientKey(SECRET), ClientKey(SECRET), ClientKey(SECRET + "x")
    assert one.public_jwk() == again.public_jwk()  # every worker derives the same key
    assert one.kid != other.kid and one.jwk != other.jwk
    # RFC 7638: the SHA-256 of the required members, in lexicographic order, no spaces.
    members = {k: one.jwk[k] for k in ("crv", "kty", "x", "y")}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=")
    assert one.kid == expected.decode()
    assert "d" not in one.public_jwk() and SECRET not in repr(one)
    with pytest.raises(ValueError):
        ClientKey("")


def test_the_key_outlives_the_change_of_jose_library() -> None:
    """The key a secret gives is the one published before the JOSE work moved to joserfc
    (the kid below was computed by the hand-written code of 90193ce): a hosted instance that
    upgrades keeps its JWKS, and the sessions its workers sealed."""
    assert ClientKey(SECRET).kid == "VwKyVml6xjzPNt7WriBuGx9xjXdHFPktGlwqq8zjvaA"


def test_the_library_reads_what_we_sign() -> None:
    """joserfc, reading our DPoP proof and assertion with the public key alone, finds them
    well formed and signed (the independent check above rebuilds the key by hand)."""
    key = DpopKey()
    proof = key.proof("POST", "https://pds.example/xrpc/x?q=1", nonce="n1", access_token="t")
    got = jws.deserialize_compact(proof, ECKey.import_key(key.jwk), algorithms=["ES256"])
    assert got.headers()["typ"] == "dpop+jwt" and got.headers()["jwk"] == key.jwk
    claims = json.loads(got.payload)
    assert claims["htu"] == "https://pds.example/xrpc/x" and claims["nonce"] == "n1"
    client = ClientKey(SECRET)
    jwt = client.assertion("https://app.example/client-metadata.json", "https://bsky.social")
    got = jws.deserialize_compact(jwt, ECKey.import_key(client.public_jwk()), algorithms=["ES256"])
    assert got.headers()["kid"] == client.kid
    # A copy of the private key (the sealed store workers share) signs as the original.
    again = DpopKey(key.pem().encode())
    assert again.jwk == key.jwk
    with pytest.raises(ValueError):
        DpopKey(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")


def test_an_assertion_names_the_client_and_the_server() -> None:
    key = ClientKey(SECRET)
    client_id = "https://passerelle.example.org/api/bluesky/client-metadata.json"
    fields = client_fields(client_id, key, "https://bsky.social")
    assert fields["client_id"] == client_id
    assert fields["client_assertion_type"] == ASSERTION_TYPE
    header, claims = _verify(fields["client_assertion"], key.public_jwk())
    assert header == {"alg": "ES256", "kid": key.kid, "typ": "JWT"}
    assert claims["iss"] == claims["sub"] == client_id
    assert claims["aud"] == "https://bsky.social"
    assert claims["iat"] <= time.time() < claims["exp"] <= claims["iat"] + 60
    again = client_fields(client_id, key, "https://bsky.social")["client_assertion"]
    assert _verify(again, key.public_jwk())[1]["jti"] != claims["jti"]  # never the same twice
    # A loopback client names itself, with nothing to sign.
    assert client_fields("http://localhost?x", None, "https://bsky.social") == {
        "client_id": "http://localhost?x"
    }


# The service's address (where people reach it) → the client it is to Bluesky servers.
CLIENTS = [
    # base URL, client_id (or the error), redirect URI, confidential
    (
        "http://127.0.0.1:8765",
        "http://localhost?redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fapi%2Fbluesky%2Fcallback"
        "&scope=atproto+transition%3Ageneric",
        "http://127.0.0.1:8765/api/bluesky/callback",
        False,
    ),
    (  # the specification wants a loopback IP in the redirect, never the name localhost
        "http://localhost:8765",
        "http://localhost?redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fapi%2Fbluesky%2Fcallback"
        "&scope=atproto+transition%3Ageneric",
        "http://127.0.0.1:8765/api/bluesky/callback",
        False,
    ),
    (
        "https://passerelle.example.org",
        "https://passerelle.example.org/api/bluesky/client-metadata.json",
        "https://passerelle.example.org/api/bluesky/callback",
        True,
    ),
    (
        "https://passerelle.example.org/",
        "https://passerelle.example.org/api/bluesky/client-metadata.json",
        "https://passerelle.example.org/api/bluesky/callback",
        True,
    ),
    ("http://passerelle.example.org", "needs https", "", False),  # no TLS: no OAuth
    ("http://192.168.1.20:8765", "needs https", "", False),  # on the LAN, not this machine
    ("https://10.0.0.5", "needs https", "", False),  # client ids must be domain names
]


@pytest.mark.parametrize(("base", "client_id", "redirect", "confidential"), CLIENTS)
def test_the_client_the_service_is(
    make_app: Any, base: str, client_id: str, redirect: str, confidential: bool
) -> None:
    jobs = make_app().extensions["passerelle.jobs"]
    if client_id == "needs https":
        with pytest.raises(OAuthError, match="reached over https"):
            jobs.bluesky_client(base)
        return
    got_id, got_redirect, key = jobs.bluesky_client(base)
    assert (got_id, got_redirect, key is not None) == (client_id, redirect, confidential)


def test_a_hosted_instance_publishes_its_metadata_and_key(make_app: Any) -> None:
    app = make_app(
        PASSERELLE_PUBLIC_URL="https://passerelle.example.org",
        PASSERELLE_SECRET_KEY=SECRET,
        PASSERELLE_API_TOKEN="a-token-the-pds-does-not-have",
    )
    client = app.test_client()
    host = {"Host": "passerelle.example.org"}
    meta = client.get("/api/bluesky/client-metadata.json", headers=host)
    assert meta.status_code == 200, meta.get_data(True)  # open: the PDS has no token
    m = meta.get_json()
    base = "https://passerelle.example.org"
    assert m == {
        "client_id": base + "/api/bluesky/client-metadata.json",
        "client_name": "Passerelle",
        "client_uri": base,
        "application_type": "web",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "atproto transition:generic",
        "redirect_uris": [base + "/api/bluesky/callback"],
        "dpop_bound_access_tokens": True,
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": "ES256",
        "jwks_uri": base + "/api/bluesky/jwks.json",
    }
    jwks = client.get("/api/bluesky/jwks.json", headers=host).get_json()
    assert jwks == {"keys": [ClientKey(SECRET).public_jwk()]}
    assert "max-age" in meta.headers["Cache-Control"]


def test_a_service_on_this_machine_publishes_nothing(make_app: Any) -> None:
    client = make_app().test_client()
    for path in ("/api/bluesky/client-metadata.json", "/api/bluesky/jwks.json"):
        r = client.get(path)
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not-found", path
        assert "loopback" in r.get_json()["error"]["message"]
