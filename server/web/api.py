"""The HTTP surface: `GET /api/health` and `POST /api/resolve` (see API.md)."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from .. import __version__
from ..core.errors import ApiError
from ..core.hosts import host_of
from ..core.validate import SESSION_ID, InputError, parse_request
from ..resolve.recheck import PreviousError, parse_previous
from .guard import charge_accounts, guard
from .openapi import spec

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_BODY = 2 * 1024 * 1024


@bp.get("/health")
def health() -> Any:
    return jsonify({"status": "ok", "version": __version__})


@bp.get("/openapi.json")
def openapi() -> Any:
    settings = current_app.extensions["passerelle.settings"]
    return jsonify(spec(settings.max_accounts, bool(settings.api_token)))


def _read_streamed() -> bytes:
    """A body sent without Content-Length (chunked): read it ourselves, stopping one byte past
    the limit, since Werkzeug leaves such a stream unread."""
    stream = request.environ.get("wsgi.input")
    if stream is None:
        return b""
    chunks, size = [], 0
    while size <= MAX_BODY:
        chunk = stream.read(min(65536, MAX_BODY + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > MAX_BODY:
        raise ApiError(413, "too-large", "request body too large (at most 2 MB)")
    return b"".join(chunks)


def _json_body() -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "too-large", "request body too large (at most 2 MB)")
    if not request.is_json:
        raise ApiError(415, "unsupported-media-type", "send the body as application/json")
    # With a length, MAX_CONTENT_LENGTH refuses an oversized body before it is read.
    raw = _read_streamed() if request.content_length is None else request.get_data(cache=False)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "malformed", "the body is not valid UTF-8") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise ApiError(400, "malformed", "the JSON is nested too deeply") from None
    except ValueError as e:
        raise ApiError(400, "malformed", f"the body is not valid JSON: {e}") from None


def _search_as(body: Any) -> tuple[str, str] | None:
    """`"mastodon_session"`: the user's Mastodon sign-in (for following), whose server's search
    is asked too for people still unmatched on the fediverse."""
    if not isinstance(body, dict) or body.get("mastodon_session") is None:
        return None
    sid = body["mastodon_session"]
    if not isinstance(sid, str) or not re.fullmatch(SESSION_ID, sid):
        raise ApiError(
            422, "invalid-field", "mastodon_session must be the id of a Mastodon sign-in"
        )
    session = current_app.extensions["passerelle.jobs"].mastodon.session(sid)
    if session is None:
        raise ApiError(401, "session-expired", "sign in to your Mastodon server again")
    return host_of(session.server), session.token


def _recheck(
    body: Any, accounts: list[Any]
) -> tuple[bool, dict[str, dict[Any, dict[str, Any]]] | None]:
    """`"recheck": true`, and each account's earlier answer (`"previous"`), if any, by the
    account's key (`accounts` is the parsed list, in the body's order)."""
    flag = body.get("recheck", False) if isinstance(body, dict) else False
    if not isinstance(flag, bool):
        raise ApiError(422, "invalid-field", "recheck must be true or false")
    # The body is `{"accounts": [...]}` or the bare list (both forms of the contract).
    items = body.get("accounts") if isinstance(body, dict) else body
    previous: dict[str, dict[Any, dict[str, Any]]] = {}
    for i, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict) and item.get("previous") is not None:
            try:
                previous[accounts[i].key] = parse_previous(item["previous"], f"accounts[{i}]")
            except PreviousError as e:
                raise ApiError(422, "invalid-field", str(e)) from None
    # Earlier answers can only mean a re-check.
    return flag or bool(previous), previous or None


@bp.post("/resolve")
def resolve() -> Any:
    body = _json_body()
    try:
        accounts, networks = parse_request(
            body, current_app.extensions["passerelle.settings"].max_accounts
        )
    except InputError as e:
        raise ApiError(e.status, e.code, str(e)) from None
    search_as = _search_as(body)
    recheck_, previous = _recheck(body, accounts)
    charge_accounts(len(accounts))
    resolver = current_app.extensions["passerelle.resolver"]
    g = guard()
    used: list[int] = []
    try:
        answer = resolver.resolve(
            accounts,
            networks,
            host_budget=g.host_budget(),
            hosts_used=used,
            search_as=search_as,
            recheck_=recheck_,
            previous=previous,
        )
    finally:
        g.spent_hosts(sum(used))
    return jsonify(answer)
