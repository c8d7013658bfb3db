"""Sign in with Bluesky (atproto OAuth), so that no app password is ever typed.

The atproto SDK for Python has no OAuth client; this follows the atproto OAuth profile
(https://atproto.com/specs/oauth) as Bluesky's own Flask example does (bluesky-social/cookbook,
`python-oauth-web-app/atproto_oauth.py`):
1. the handle gives the DID and the PDS (`pds.account_for`); the PDS names its authorization
   server (`/.well-known/oauth-protected-resource`), whose metadata gives the endpoints and
   must name that very server as its `issuer`;
2. a pushed authorization request (PAR) carries the client, the redirect URI, the scope, a PKCE
   challenge (S256) and a DPoP proof signed by a key made for this sign-in (ES256); servers ask
   for their nonce first (`use_dpop_nonce`), and the request is sent again with it;
3. the user's browser goes to the authorization endpoint with the `request_uri` it gave, signs
   in there and allows the client; it comes back to the redirect URI with `code`, `state` and
   `iss`;
4. the code and the PKCE verifier are exchanged for DPoP-bound tokens; the answer's `sub` must
   be the DID the handle gave, and `iss` the server asked (a mix-up defence);
5. every request to the PDS then carries `Authorization: DPoP <token>` and a proof bound to the
   method, the URL, the token (`ath`) and the PDS's own nonce.

A service running on the user's own machine is a *loopback client*, as the specification
allows: `client_id` is `http://localhost` with the redirect URI and scope in its query, no
secret (a public client). A hosted instance (reached over https at `PASSERELLE_PUBLIC_URL`) is a
*confidential client*: its `client_id` is the address of the client metadata it publishes
(`/api/bluesky/client-metadata.json`), which names its public key (`/api/bluesky/jwks.json`);
every request to the token endpoints carries a `private_key_jwt` assertion signed with that key
(RFC 7523), which earns longer-lived sessions. The key is derived from the service's secret
(`PASSERELLE_SECRET_KEY`): every worker has the same one and none is ever written to disk.
Tokens and the DPoP key live in this process's memory, or sealed in the shared store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from ..core.hosts import why_not_public

SCOPE = "atproto transition:generic"
MAX_DOCUMENT = 64 * 1024


class OAuthError(Exception):
    """The sign-in could not go on; the message says why, for the user."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _sha256_b64(text: str) -> str:
    return _b64(hashlib.sha256(text.encode("ascii")).digest())


class DpopKey:
    """An ES256 key pair made for one sign-in; it signs the DPoP proofs its tokens are bound to.

    The JOSE work (keys as JWK, compact JWS, RFC 7638 thumbprints) is joserfc's, a maintained
    library (by Authlib's author, the one Bluesky's Python OAuth example builds on): security
    code is not ours to write by hand."""

    def __init__(
        self, pem: bytes | None = None, key: ec.EllipticCurvePrivateKey | None = None
    ) -> None:
        if key is not None:
            self._key = ECKey.import_key(key)
        elif pem is None:
            self._key = ECKey.generate_key("P-256")
        else:
            try:
                self._key = ECKey.import_key(pem)
            except (ValueError, TypeError, JoseError) as e:
                raise ValueError("not an EC key") from e
            if not self._key.is_private or self._key.curve_name != "P-256":
                raise ValueError("not a P-256 private key")
        public = self._key.as_dict(private=False)
        self.jwk = {k: str(public[k]) for k in ("kty", "crv", "x", "y")}

    def __repr__(self) -> str:
        return "DpopKey(…)"  # never the key

    def pem(self) -> str:
        """The private key, for the sealed store workers share (never a file)."""
        return self._key.as_pem(private=True).decode("ascii")

    def sign(self, header: dict[str, Any], payload: dict[str, Any]) -> str:
        """A compact JWS, ES256."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        return jws.serialize_compact(header, body, self._key, algorithms=["ES256"])

    def proof(
        self, method: str, url: str, nonce: str | None = None, access_token: str | None = None
    ) -> str:
        """A DPoP proof (RFC 9449) for one request: `htu` is the URL without query."""
        parts = urlsplit(url)
        payload: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": method,
            "htu": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
            "iat": int(time.time()),
        }
        if nonce:
            payload["nonce"] = nonce
        if access_token:
            payload["ath"] = _sha256_b64(access_token)
        return self.sign({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk}, payload)


# P-256's group order: a derived private scalar must lie in [1, n - 1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_METADATA_PATH = "/api/bluesky/client-metadata.json"
JWKS_PATH = "/api/bluesky/jwks.json"
CALLBACK_PATH = "/api/bluesky/callback"


class ClientKey(DpopKey):
    """The signing key of a confidential client (a hosted instance), derived from the service's
    secret so that every worker holds the same key and none is ever stored: HMAC-SHA256 of a
    fixed label, reduced to a P-256 scalar. Changing the secret changes the key (and the
    published JWKS): sessions signed in before then must sign in again, as their sealed copies
    could not be read anyway."""

    LABEL = b"passerelle/bluesky-oauth-client-key/v1"

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a confidential client needs a secret to derive its key from")
        digest = hmac.new(secret.encode("utf-8"), self.LABEL, hashlib.sha512).digest()
        scalar = int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1
        super().__init__(key=ec.derive_private_key(scalar, ec.SECP256R1()))
        # RFC 7638 thumbprint: names the key in the JWKS and in each assertion's header.
        self.kid = self._key.thumbprint()

    def __repr__(self) -> str:
        return f"ClientKey(kid={self.kid})"

    def public_jwk(self) -> dict[str, str]:
        return {**self.jwk, "kid": self.kid, "use": "sig", "alg": "ES256"}

    def assertion(self, client_id: str, audience: str) -> str:
        """A `private_key_jwt` client assertion (RFC 7523) for one request to `audience` (the
        authorization server's issuer); short-lived and never used twice."""
        now = int(time.time())
        return self.sign(
            {"alg": "ES256", "kid": self.kid, "typ": "JWT"},
            {
                "iss": client_id,
                "sub": client_id,
                "aud": audience,
                "jti": secrets.token_urlsafe(16),
                "iat": now,
                "exp": now + 60,
            },
        )


def loopback_client_id(redirect_uri: str, scope: str = SCOPE) -> str:
    """The client id of a service on the user's own machine (atproto OAuth, loopback clients)."""
    return "http://localhost?" + urlencode({"redirect_uri": redirect_uri, "scope": scope})


def client_metadata(base_url: str, key: ClientKey, name: str = "Passerelle") -> dict[str, Any]:
    """The client metadata a hosted instance publishes at its `client_id` (atproto OAuth,
    confidential web client): redirects only to its own callback, tokens bound to DPoP, the
    token endpoints authenticated with `private_key_jwt` and the key named at `jwks_uri`."""
    base = base_url.rstrip("/")
    return {
        "client_id": base + CLIENT_METADATA_PATH,
        "client_name": name,
        "client_uri": base,
        "application_type": "web",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": SCOPE,
        "redirect_uris": [base + CALLBACK_PATH],
        "dpop_bound_access_tokens": True,
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": "ES256",
        "jwks_uri": base + JWKS_PATH,
    }


def client_fields(client_id: str, key: ClientKey | None, audience: str) -> dict[str, str]:
    """How the client names itself in a request to the authorization server: its id, and
    for a confidential client an assertion signed with its key."""
    fields = {"client_id": client_id}
    if key is not None:
        fields["client_assertion_type"] = ASSERTION_TYPE
        fields["client_assertion"] = key.assertion(client_id, audience)
    return fields


@dataclass
class Pending:
    """A sign-in between the PAR and the user's return: kept in memory, by its `state`."""

    state: str
    handle: str
    did: str
    pds: str
    issuer: str
    token_endpoint: str
    client_id: str
    redirect_uri: str
    verifier: str = field(repr=False)
    dpop: DpopKey = field(repr=False)
    nonce: str = ""
    authorize_url: str = ""


_PENDING_FIELDS = (
    "state", "handle", "did", "pds", "issuer", "token_endpoint", "client_id", "redirect_uri",
    "verifier", "nonce", "authorize_url",
)  # fmt: skip


def pending_to_json(p: Pending) -> dict[str, str]:
    return {**{k: getattr(p, k) for k in _PENDING_FIELDS}, "dpop": p.dpop.pem()}


def pending_from_json(d: dict[str, Any]) -> Pending:
    return Pending(
        **{k: str(d.get(k) or "") for k in _PENDING_FIELDS},  # type: ignore[arg-type]
        dpop=DpopKey(str(d["dpop"]).encode("ascii")),
    )


@dataclass
class OAuthSession:
    """A signed-in account: DPoP-bound tokens for its PDS, in memory only."""

    did: str
    handle: str
    pds: str
    issuer: str
    scope: str
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False, default="")
    dpop: DpopKey = field(repr=False, default_factory=DpopKey)
    pds_nonce: str = ""
    expires_at: float = 0.0
    token_endpoint: str = ""
    client_id: str = ""
    auth_nonce: str = ""  # the authorization server's DPoP nonce, for refreshing
    # A confidential client's key (derived from the service's secret, never serialized): the
    # refresh requests must carry its assertions, as the sign-in did.
    client_key: ClientKey | None = field(repr=False, default=None)

    def to_json(self) -> dict[str, Any]:
        """Everything, the tokens and key included: only for the sealed shared store."""
        return {
            "did": self.did,
            "handle": self.handle,
            "pds": self.pds,
            "issuer": self.issuer,
            "scope": self.scope,
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "dpop": self.dpop.pem(),
            "pds_nonce": self.pds_nonce,
            "expires_at": self.expires_at,
            "token_endpoint": self.token_endpoint,
            "client_id": self.client_id,
            "auth_nonce": self.auth_nonce,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any], client_key: ClientKey | None = None) -> OAuthSession:
        """`client_key`: the service's, given again when the session was a confidential
        client's (its `client_id` an https address); a loopback client's session takes none."""
        confidential = str(d.get("client_id") or "").startswith("https://")
        return cls(
            did=str(d["did"]),
            handle=str(d.get("handle") or ""),
            pds=str(d["pds"]),
            issuer=str(d.get("issuer") or ""),
            scope=str(d.get("scope") or ""),
            access_token=str(d["access_token"]),
            refresh_token=str(d.get("refresh_token") or ""),
            dpop=DpopKey(str(d["dpop"]).encode("ascii")),
            pds_nonce=str(d.get("pds_nonce") or ""),
            expires_at=float(d.get("expires_at") or 0),
            token_endpoint=str(d.get("token_endpoint") or ""),
            client_id=str(d.get("client_id") or ""),
            auth_nonce=str(d.get("auth_nonce") or ""),
            client_key=client_key if confidential else None,
        )

    def refresh(self, http: requests.Session, timeout: float = 10.0) -> bool:
        """New tokens for the old refresh token (atproto refresh tokens are single-use):
        whether it worked. Done before the access token expires, and when the PDS says it
        has; the new access token stays bound to the same key."""
        if not (self.refresh_token and self.token_endpoint and self.client_id):
            return False
        if self.client_id.startswith("https://") and self.client_key is None:
            return False  # a confidential client's session: only its key may refresh it
        r = None
        for _ in range(2):
            form = {
                "grant_type": "refresh_token",
                "refresh_token": self.refresh_token,
                **client_fields(self.client_id, self.client_key, self.issuer),
            }
            proof = self.dpop.proof("POST", self.token_endpoint, self.auth_nonce or None)
            r = http.post(self.token_endpoint, data=form, headers={"DPoP": proof}, timeout=timeout)
            self.auth_nonce = r.headers.get("DPoP-Nonce") or self.auth_nonce
            if r.status_code in (400, 401) and _error_of(r) == "use_dpop_nonce":
                continue
            break
        if r is None or r.status_code != 200:
            return False
        body = r.json()
        if body.get("sub") != self.did or not body.get("access_token"):
            return False
        self.access_token = str(body["access_token"])
        self.refresh_token = str(body.get("refresh_token") or "")
        expires_in = body.get("expires_in")
        self.expires_at = time.time() + float(expires_in) if expires_in else 0.0
        return True

    def xrpc(
        self,
        http: requests.Session,
        method: str,
        nsid: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        timeout: float = 10.0,
    ) -> requests.Response:
        """One XRPC call to the account's PDS, with the DPoP proof and nonce it wants."""
        url = f"{self.pds}/xrpc/{nsid}"
        if self.expires_at and time.time() > self.expires_at - 60:
            self.refresh(http, timeout)  # about to expire: renew first
        refreshed = False
        for _ in range(3):
            headers = {
                "Authorization": f"DPoP {self.access_token}",
                "DPoP": self.dpop.proof(method, url, self.pds_nonce, self.access_token),
            }
            r = http.request(
                method, url, params=params, json=body, headers=headers, timeout=timeout
            )
            nonce = r.headers.get("DPoP-Nonce")
            if nonce:
                self.pds_nonce = nonce
            if r.status_code == 401 and nonce and _error_of(r) == "use_dpop_nonce":
                continue  # the PDS wants its nonce in the proof: once more with it
            if r.status_code == 401 and not refreshed and _error_of(r) == "invalid_token":
                refreshed = True
                if self.refresh(http, timeout):
                    continue  # expired: once more with the new token
            return r
        return r


def _why(r: requests.Response) -> str:
    """The server's error and its description, short, for the user (never a token)."""
    try:
        body = r.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not body.get("error"):
        return str(r.status_code)
    text = str(body["error"])
    if body.get("error_description"):
        text += ": " + str(body["error_description"])
    return text[:300]


def _error_of(r: requests.Response) -> str:
    if "use_dpop_nonce" in r.headers.get("WWW-Authenticate", ""):
        return "use_dpop_nonce"
    try:
        body = r.json()
    except ValueError:
        return ""
    return str(body.get("error") or "") if isinstance(body, dict) else ""


class BlueskyOAuth:
    """The client side of atproto OAuth, for one service process.

    `trusted_hosts` may be reached over plain HTTP or on private addresses (a local PDS in
    tests, or one the operator runs); anything else must be a public https address."""

    def __init__(
        self,
        http: requests.Session,
        timeout: float,
        trusted_hosts: tuple[str, ...] = (),
        client_key: ClientKey | None = None,
    ) -> None:
        self.http = http
        self.timeout = timeout
        self.trusted = tuple(h.lower() for h in trusted_hosts)
        self.client_key = client_key  # set: a confidential client (a hosted instance)

    # -- the authorization server ---------------------------------------------------------
    def _checked(self, url: str) -> str:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host in self.trusted:
            return url
        if parts.scheme != "https" or not host or why_not_public(host):
            raise OAuthError(f"{host or url[:60]} is not a public https address")
        return url

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            r = self.http.get(self._checked(url), timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as e:
            raise OAuthError(f"{urlsplit(url).hostname}: unreachable ({type(e).__name__})") from e
        if r.status_code != 200 or len(r.content) > MAX_DOCUMENT:
            raise OAuthError(f"{urlsplit(url).hostname}: HTTP {r.status_code} for {url}")
        try:
            doc = r.json()
        except ValueError:
            raise OAuthError(f"{urlsplit(url).hostname}: not JSON at {url}") from None
        if not isinstance(doc, dict):
            raise OAuthError(f"{urlsplit(url).hostname}: not a JSON object at {url}")
        return doc

    def server_of(self, pds: str) -> tuple[str, dict[str, Any]]:
        """The PDS's authorization server and its metadata (checked to be that server's)."""
        resource = self._get_json(f"{pds.rstrip('/')}/.well-known/oauth-protected-resource")
        servers = resource.get("authorization_servers") or []
        if not servers or not isinstance(servers[0], str):
            raise OAuthError(f"{urlsplit(pds).hostname}: names no authorization server")
        named = servers[0].rstrip("/")
        meta = self._get_json(f"{named}/.well-known/oauth-authorization-server")
        issuer = str(meta.get("issuer") or "")  # as the server spells it: assertions' audience
        if issuer.rstrip("/") != named:
            raise OAuthError(f"{urlsplit(named).hostname}: its metadata names another issuer")
        for key in ("pushed_authorization_request_endpoint", "authorization_endpoint"):
            if not isinstance(meta.get(key), str):
                raise OAuthError(f"{urlsplit(issuer).hostname}: no {key}")
        if "ES256" not in (meta.get("dpop_signing_alg_values_supported") or []):
            raise OAuthError(f"{urlsplit(issuer).hostname}: does not take ES256 DPoP proofs")
        return issuer, meta

    def _post(
        self, url: str, form: dict[str, str], dpop: DpopKey, nonce: str, issuer: str
    ) -> tuple[requests.Response, str]:
        """A form POST with a DPoP proof and the client's credentials (a fresh assertion
        each time: the server refuses a `jti` seen before); sent again once with the nonce
        the server asks for."""
        client_id = form["client_id"]
        for _ in range(2):
            form = {**form, **client_fields(client_id, self.client_key, issuer)}
            headers = {"DPoP": dpop.proof("POST", url, nonce or None)}
            try:
                r = self.http.post(
                    self._checked(url), data=form, headers=headers, timeout=self.timeout
                )
            except requests.RequestException as e:
                raise OAuthError(f"{urlsplit(url).hostname}: unreachable") from e
            nonce = r.headers.get("DPoP-Nonce") or nonce
            if r.status_code in (400, 401) and _error_of(r) == "use_dpop_nonce":
                continue
            return r, nonce
        return r, nonce

    # -- the flow ---------------------------------------------------------------------------
    def start(self, handle: str, did: str, pds: str, client_id: str, redirect_uri: str) -> Pending:
        """PAR for `handle` (whose DID and PDS the caller resolved): the sign-in to finish,
        with `authorize_url` for the user's browser."""
        issuer, meta = self.server_of(pds)
        verifier = secrets.token_urlsafe(48)
        pending = Pending(
            state=secrets.token_urlsafe(24),
            handle=handle,
            did=did,
            pds=pds.rstrip("/"),
            issuer=issuer,
            token_endpoint=str(meta.get("token_endpoint") or ""),
            client_id=client_id,
            redirect_uri=redirect_uri,
            verifier=verifier,
            dpop=DpopKey(),
        )
        form = {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "state": pending.state,
            "code_challenge": _sha256_b64(verifier),
            "code_challenge_method": "S256",
            "login_hint": handle,
        }
        r, pending.nonce = self._post(
            meta["pushed_authorization_request_endpoint"], form, pending.dpop, "", issuer
        )
        if r.status_code not in (200, 201):
            raise OAuthError(f"{urlsplit(issuer).hostname} refused the sign-in request ({_why(r)})")
        request_uri = str(r.json().get("request_uri") or "")
        if not request_uri:
            raise OAuthError(f"{urlsplit(issuer).hostname}: no request_uri")
        query = urlencode({"client_id": client_id, "request_uri": request_uri})
        pending.authorize_url = f"{meta['authorization_endpoint']}?{query}"
        return pending

    def finish(self, pending: Pending, code: str, iss: str | None) -> OAuthSession:
        """The user came back with `code`: tokens for the account, checked to be the one asked
        for, from the server asked."""
        if iss is not None and iss.rstrip("/") != pending.issuer.rstrip("/"):
            raise OAuthError("the answer came from another server than the one asked")
        if not pending.token_endpoint:
            raise OAuthError(f"{urlsplit(pending.issuer).hostname}: no token endpoint")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "client_id": pending.client_id,
            "code_verifier": pending.verifier,
        }
        r, nonce = self._post(
            pending.token_endpoint, form, pending.dpop, pending.nonce, pending.issuer
        )
        if r.status_code != 200:
            host = urlsplit(pending.issuer).hostname
            raise OAuthError(f"{host} refused the code ({_why(r)})")
        body = r.json()
        if body.get("sub") != pending.did:
            raise OAuthError("the server signed in another account than the one asked for")
        if str(body.get("token_type", "")).lower() != "dpop":
            raise OAuthError("the server gave a token not bound to our key")
        scope = str(body.get("scope") or "")
        if "atproto" not in scope.split():
            raise OAuthError("the server did not grant the atproto scope")
        expires_in = body.get("expires_in")
        return OAuthSession(
            did=pending.did,
            handle=pending.handle,
            pds=pending.pds,
            issuer=pending.issuer,
            scope=scope,
            access_token=str(body.get("access_token") or ""),
            refresh_token=str(body.get("refresh_token") or ""),
            dpop=pending.dpop,
            expires_at=time.time() + float(expires_in) if expires_in else 0.0,
            token_endpoint=pending.token_endpoint,
            client_id=pending.client_id,
            auth_nonce=nonce,
            client_key=self.client_key,
        )


class LoopbackCallback:
    """The redirect URI of a service on the user's own machine: a one-shot HTTP server on
    127.0.0.1 that takes the authorization server's answer for one `state`."""

    PAGE = (
        "<!doctype html><meta charset=utf-8><title>Passerelle</title>"
        "<p>Signed in with Bluesky: you can close this tab and go back to Passerelle.</p>"
        "<p>Connecté avec Bluesky : vous pouvez fermer cet onglet et revenir à Passerelle.</p>"
    )

    def __init__(self) -> None:
        import http.server
        import threading

        self.answer: dict[str, str] = {}
        self.done = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                from urllib.parse import parse_qs

                parts = urlsplit(self.path)
                if parts.path != "/callback":
                    self.send_error(404)
                    return
                query = {k: v[0] for k, v in parse_qs(parts.query).items() if v}
                if not outer.done.is_set():
                    outer.answer = query
                    outer.done.set()
                body = outer.PAGE.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:  # the code must never reach a log
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_port}/callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, timeout: float) -> dict[str, str]:
        """The query the browser came back with; {} when nobody came back in time."""
        self.done.wait(timeout)
        return self.answer

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
