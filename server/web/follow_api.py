"""HTTP endpoints behind the results page's "Follow on Bluesky": sign in, start or resume a
follow job, read its progress. The app password is used once, for the sign-in, and kept
nowhere; the session lives in memory only."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from ..core.errors import ApiError
from ..core.validate import SPACE, TARGET_ACCT, TARGET_DID, TARGET_HANDLE, InputError
from ..follow.bluesky import SignInError
from ..follow.jobs import Jobs
from ..follow.mastodon_oauth import OAuthError
from ..follow.plan import Target
from ..networks.http import UpstreamUnavailable
from .api import _json_body
from .hostcheck import base_url

bp = Blueprint("follow", __name__, url_prefix="/api")
JOB_ID = re.compile(r"^[0-9a-f]{16}$")
MAX_TARGETS = 20_000


def _jobs() -> Jobs:
    return current_app.extensions["passerelle.jobs"]


def _text(value: Any) -> bool:
    """A string that is Unicode text: JSON may carry lone surrogates ("\\ud800"), which no
    file, log or network can take."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _field(body: dict[str, Any], name: str, required: bool = True, limit: int = 300) -> Any:
    value = body.get(name)
    if value is None and not required:
        return None
    if not _text(value) or not value.strip(SPACE) or len(value) > limit:
        raise ApiError(
            422, "invalid-field", f"{name} must be a non-empty text of at most {limit} characters"
        )
    return value.strip(SPACE)


X_HANDLE = re.compile(r"^[A-Za-z0-9_]{1,15}$")


def _x_handle(t: dict[str, Any], i: int) -> str:
    """The X handle a target came from (shown in progress), optional."""
    x = t.get("x")
    if x is not None and not (isinstance(x, str) and (x == "" or X_HANDLE.match(x))):
        raise ApiError(422, "invalid-field", f"targets[{i}].x must be an X handle")
    return x or ""


_DID_RE, _HANDLE_RE, _ACCT_RE = (re.compile(x) for x in (TARGET_DID, TARGET_HANDLE, TARGET_ACCT))


def _bluesky_target(t: Any, i: int) -> Target:
    did = t.get("did") if isinstance(t, dict) else None
    handle = t.get("handle") if isinstance(t, dict) else None
    if not (
        isinstance(did, str)
        and _DID_RE.match(did)
        and isinstance(handle, str)
        and len(handle) <= 253
        and _HANDLE_RE.match(handle)
    ):
        raise ApiError(
            422, "invalid-field", f"targets[{i}] needs a did (did:plc: or did:web:) and a handle"
        )
    return Target(did, handle, _x_handle(t, i))


def _mastodon_target(t: Any, i: int) -> Target:
    acct = t.get("acct") if isinstance(t, dict) else None
    if not (isinstance(acct, str) and len(acct) <= 300 and _ACCT_RE.match(acct)):
        raise ApiError(422, "invalid-field", f"targets[{i}] needs an acct (user@server)")
    return Target(acct.lower().lstrip("@"), acct, _x_handle(t, i))


def _object_body() -> dict[str, Any]:
    body = _json_body()
    if not isinstance(body, dict):
        raise ApiError(422, "invalid-field", "expected an object")
    return body


def _target_list(body: dict[str, Any]) -> list[Any]:
    raw = body.get("targets")
    if not isinstance(raw, list) or len(raw) > MAX_TARGETS:
        raise ApiError(422, "invalid-field", f"targets must be a list of at most {MAX_TARGETS:,}")
    return raw


@bp.post("/bluesky/session")
def sign_in() -> Any:
    body = _json_body()
    if not isinstance(body, dict):
        raise ApiError(422, "invalid-field", 'expected {"handle", "app_password"}')
    handle = _field(body, "handle").lstrip("@")
    password = _field(body, "app_password")
    try:
        token, did = _jobs().sign_in(handle, password)
    except SignInError as e:
        raise ApiError(401, "sign-in-refused", str(e)) from None
    except UpstreamUnavailable as e:
        raise ApiError(503, "upstream-unavailable", f"cannot reach the PDS: {e}") from None
    return jsonify({"session": token, "did": did})


# -- Sign in with Bluesky (OAuth) ----------------------------------------------------------------
def _confidential_client() -> tuple[str, Any]:
    """(base URL, key) when this service is a confidential OAuth client (reached over https);
    404 otherwise: a service on the user's own machine is a loopback client and publishes
    nothing."""
    from ..follow.bsky_oauth import OAuthError

    base = base_url()
    try:
        key = _jobs().bluesky_client(base)[2]
    except OAuthError:
        key = None
    if key is None:
        raise ApiError(
            404,
            "not-found",
            "this service signs in with Bluesky as a loopback client (on this machine) or not "
            "at all: it publishes client metadata only when reached over https "
            "(PASSERELLE_PUBLIC_URL)",
        )
    return base, key


@bp.get("/bluesky/client-metadata.json")
def bluesky_client_metadata() -> Any:
    """The client metadata a hosted instance publishes at its `client_id`; every Bluesky
    server fetches it when a user signs in."""
    from ..follow.bsky_oauth import client_metadata

    base, key = _confidential_client()
    response = jsonify(client_metadata(base, key))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/bluesky/jwks.json")
def bluesky_jwks() -> Any:
    """The public key the client's assertions are signed with (never the private part)."""
    _base, key = _confidential_client()
    response = jsonify({"keys": [key.public_jwk()]})
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.post("/bluesky/authorize")
def bluesky_authorize() -> Any:
    from ..follow.bsky_oauth import OAuthError

    body = _json_body()
    if not isinstance(body, dict):
        raise ApiError(422, "invalid-field", 'expected {"handle"}')
    handle = _field(body, "handle").lstrip("@")
    if not re.match(TARGET_HANDLE, handle) or len(handle) > 253:
        raise ApiError(422, "invalid-field", "handle must be a Bluesky handle (alice.bsky.social)")
    try:
        url, state, key = _jobs().bluesky_authorize(handle, base_url())
    except OAuthError as e:
        raise ApiError(401, "sign-in-refused", str(e)) from None
    except UpstreamUnavailable as e:
        raise ApiError(503, "upstream-unavailable", f"cannot reach the PDS: {e}") from None
    return jsonify({"authorize_url": url, "state": state, "key": key})


def _page_errors(view: Any) -> Any:
    """A callback is where the user's browser lands: its errors are a page in their language
    (EN/FR) when a browser asks, the API's JSON shape otherwise; the status is the same."""
    import functools
    from html import escape

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except ApiError as e:
            wants = request.accept_mimetypes.best_match(["application/json", "text/html"])
            if wants != "text/html":
                raise
            page = _FAILED_PAGE.format(message=escape(e.message))
            return Response(page, e.status, content_type="text/html; charset=utf-8")

    return wrapped


@bp.get("/bluesky/callback")
@_page_errors
def bluesky_callback() -> Any:
    from html import escape

    from ..follow.bsky_oauth import OAuthError

    state, code = request.args.get("state", ""), request.args.get("code", "")
    if not state or not code:
        raise ApiError(
            400,
            "malformed",
            request.args.get("error_description")
            or "the server sent no code: the sign-in was refused or cancelled",
        )
    try:
        handle = _jobs().bluesky_callback(state, code, request.args.get("iss"))
    except OAuthError as e:
        raise ApiError(401, "sign-in-refused", str(e)) from None
    except UpstreamUnavailable as e:
        raise ApiError(503, "upstream-unavailable", str(e)) from None
    return Response(
        _DONE_PAGE.format(acct="@" + escape(handle)), 200, content_type="text/html; charset=utf-8"
    )


@bp.post("/bluesky/oauth-session")
def bluesky_oauth_session() -> Any:
    """POST, so the key travels in a body, never in an address a log could keep."""
    body = _json_body()
    if not isinstance(body, dict):
        raise ApiError(422, "invalid-field", 'expected {"state", "key"}')
    found = _jobs().bluesky_session_for_state(_field(body, "state"), _field(body, "key"))
    if found is None:
        return jsonify({"ready": False})
    return jsonify({"ready": True, "session": found[0], "did": found[1]})


@bp.post("/bluesky/follow")
def follow() -> Any:
    body = _object_body()
    writer = _jobs().writer(_field(body, "session"))
    if writer is None:
        raise ApiError(401, "session-expired", "sign in again")
    targets = [_bluesky_target(t, i) for i, t in enumerate(_target_list(body))]
    list_name = _field(body, "list", required=False, limit=64)
    pack_name = _field(body, "starter_pack", required=False, limit=50)
    job_id = body.get("job")
    if job_id is not None and not (isinstance(job_id, str) and JOB_ID.match(job_id)):
        raise ApiError(422, "invalid-field", "job must be an id returned earlier")
    try:
        job_id = _jobs().start(writer, targets, list_name, pack_name, job_id)
    except PermissionError as e:
        raise ApiError(403, "forbidden", str(e)) from None
    return jsonify({"job": job_id}), 202


@bp.get("/jobs/<job_id>")
def job(job_id: str) -> Any:
    if not JOB_ID.match(job_id):
        raise ApiError(404, "not-found", "no such job")
    status = _jobs().status(job_id)
    if status is None:
        raise ApiError(404, "not-found", "no such job")
    return jsonify(status)


# -- Mastodon: OAuth on the user's own server, then a follow job --------------------------------
def _callback_url() -> str:
    """Built from the service's own address, never from what a request's Host says."""
    return base_url() + "/api/mastodon/callback"


@bp.post("/mastodon/authorize")
def mastodon_authorize() -> Any:
    body = _json_body()
    if not isinstance(body, dict):
        raise ApiError(422, "invalid-field", 'expected {"server"}')
    try:
        url, state, key = _jobs().mastodon.authorize_url(_field(body, "server"), _callback_url())
    except InputError as e:
        raise ApiError(422, "invalid-field", str(e)) from None
    except OAuthError as e:
        if e.unreachable:
            raise ApiError(503, "upstream-unavailable", str(e)) from None
        raise ApiError(422, "not-a-mastodon-server", str(e)) from None
    return jsonify({"authorize_url": url, "state": state, "key": key})


_DONE_PAGE = """<!doctype html><meta charset="utf-8"><title>Passerelle</title>
<body style="font:16px system-ui;margin:3em"><h1>Passerelle</h1>
<p data-testid="oauth-done">Connected as {acct}. You can close this tab and go back to the
results.</p><p lang="fr">Connecté·e en tant que {acct}. Vous pouvez fermer cet onglet et revenir
aux résultats.</p>"""
_FAILED_PAGE = """<!doctype html><meta charset="utf-8"><title>Passerelle</title>
<body style="font:16px system-ui;margin:3em"><h1>Passerelle</h1>
<p data-testid="oauth-failed">The sign-in did not go through: {message}. Close this tab, go back
to the results and sign in again.</p><p lang="fr">La connexion n'a pas abouti ({message}).
Fermez cet onglet, revenez aux résultats et connectez-vous à nouveau.</p>"""


@bp.get("/mastodon/callback")
@_page_errors
def mastodon_callback() -> Any:
    state, code = request.args.get("state", ""), request.args.get("code", "")
    if not state or not code:
        raise ApiError(
            400,
            "malformed",
            request.args.get("error_description")
            or "the server sent no code: the sign-in was refused or cancelled",
        )
    try:
        acct = _jobs().mastodon.callback(state, code)
    except OAuthError as e:
        raise ApiError(401, "sign-in-refused", str(e)) from None
    from html import escape

    return Response(
        _DONE_PAGE.format(acct=escape(acct)), 200, content_type="text/html; charset=utf-8"
    )


@bp.post("/mastodon/session")
def mastodon_session() -> Any:
    """POST, so the key travels in a body, never in an address a log could keep."""
    body = _json_body()
    if not isinstance(body, dict):
        raise ApiError(422, "invalid-field", 'expected {"state", "key"}')
    state, key = _field(body, "state"), _field(body, "key")
    session_id = _jobs().mastodon.session_for_state(state, key)
    if session_id is None:
        return jsonify({"ready": False})
    s = _jobs().mastodon.session(session_id)
    return jsonify({"ready": True, "session": session_id, "acct": s.acct if s else None})


@bp.post("/mastodon/follow")
def mastodon_follow() -> Any:
    body = _object_body()
    session = _jobs().mastodon.session(_field(body, "session"))
    if session is None:
        raise ApiError(401, "session-expired", "sign in again")
    targets = [_mastodon_target(t, i) for i, t in enumerate(_target_list(body))]
    job_id = body.get("job")
    if job_id is not None and not (isinstance(job_id, str) and JOB_ID.match(job_id)):
        raise ApiError(422, "invalid-field", "job must be an id returned earlier")
    try:
        job_id = _jobs().start_mastodon(session, targets, job_id)
    except PermissionError as e:
        raise ApiError(403, "forbidden", str(e)) from None
    return jsonify({"job": job_id}), 202
