"""The OpenAPI description of the HTTP API, served at `GET /api/openapi.json`.

Written by hand next to the code it describes, not generated from it, so that it is a promise
the code is tested against: schemathesis fuzzes every operation from this document
(`tests/test_fuzz_api.py`), and a test checks that it names exactly the routes the app serves.
The request schemas encode the same limits as `validate.py` (lengths, counts, patterns), so a
request the schema calls valid is accepted and one it calls invalid gets a documented 4xx.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..core.validate import (
    HANDLE_PATTERN,
    MAX_FIELD,
    MAX_ID,
    MAX_LINKS,
    SESSION_ID,
    TARGET_ACCT,
    TARGET_DID,
    TARGET_HANDLE,
)

_JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {_JSON: {"schema": schema}}}


def _ok(description: str, schema: dict[str, Any], status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": {_JSON: {"schema": schema}}}}


def _errors(*statuses: int) -> dict[str, Any]:
    meaning = {
        400: "malformed: not JSON, not UTF-8, nested too deeply",
        401: "a token is required (`PASSERELLE_API_TOKEN`), or the sign-in was refused",
        403: "not allowed",
        404: "no such thing",
        413: "body over 2 MB, or too many accounts",
        415: "the body is not sent as application/json",
        422: "a field is invalid; the message names it",
        429: "over this service's per-client rate limit; see Retry-After",
        503: "an upstream network could not be reached",
    }
    return {
        str(s): {"description": meaning[s], "content": {_JSON: {"schema": _ref("Error")}}}
        for s in statuses
    }


def _text(limit: int = MAX_FIELD) -> dict[str, Any]:
    return {"type": ["string", "null"], "maxLength": limit}


def _schemas(max_accounts: int) -> dict[str, Any]:
    account_in = {
        "type": "object",
        "required": ["handle"],
        "properties": {
            "handle": {
                "type": "string",
                "pattern": HANDLE_PATTERN,
                "description": "X screen name, with or without @",
            },
            "name": _text(),
            "bio": _text(),
            "url": _text(),
            "links": {
                "type": ["array", "null"],
                "maxItems": MAX_LINKS,
                "items": _text(),
            },
            "id": {"type": ["string", "integer", "null"], "maxLength": MAX_ID},
            "follows_you": {"type": ["boolean", "null"]},
            "previous": {
                "type": ["object", "null"],
                "description": "a re-check: this account's earlier answer (its bluesky and "
                "mastodon matches as this API gave them, or null); implies recheck",
                "properties": {
                    "bluesky": {
                        "oneOf": [
                            {
                                "type": "object",
                                "properties": {
                                    "did": {"type": "string", "minLength": 1},
                                    "handle": {"type": "string", "minLength": 1},
                                    "level": {"type": "string"},
                                },
                                "anyOf": [{"required": ["did"]}, {"required": ["handle"]}],
                            },
                            {"type": "null"},
                        ]
                    },
                    "mastodon": {
                        "oneOf": [
                            {
                                "type": "object",
                                "required": ["acct"],
                                "properties": {
                                    "acct": {"type": "string", "minLength": 1},
                                    "level": {"type": "string"},
                                },
                            },
                            {"type": "null"},
                        ]
                    },
                },
            },
        },
    }
    accounts = {"type": "array", "maxItems": max_accounts, "items": _ref("AccountIn")}
    match_common = {
        "url": {"type": "string"},
        "display_name": {"type": "string"},
        "avatar": {"type": ["string", "null"]},
        "level": {"enum": ["confirmed", "likely", "possible"]},
        "reasons": {"type": "array", "items": {"type": "string"}},
        "bridged": {"type": "boolean"},
        "new": {
            "type": "boolean",
            "description": "a re-check (recheck with previous): a pre-selected match the "
            "earlier answer did not have",
        },
        "gone": {
            "type": "boolean",
            "description": "a re-check: the earlier match is gone since (level possible, "
            "reason gone; gone_why says why)",
        },
        "gone_why": {"enum": ["not-found", "moved", "disclaims", "automated"]},
        "claimed_by": {
            "type": "string",
            "description": "with the reason claimed-by-other: the X account (of the same "
            "list) that keeps this destination",
        },
    }
    bsky_match = {
        "type": "object",
        "required": ["handle", "did", "url", "level", "reasons", "bridged"],
        "properties": {"handle": {"type": "string"}, "did": {"type": "string"}, **match_common},
    }
    fedi_match = {
        "type": "object",
        "required": ["acct", "url", "level", "reasons", "bridged"],
        "properties": {
            "acct": {"type": "string"},
            "id": {
                "type": "string",
                "description": "the account's id on its own server, when known (re-checks "
                "ask a server for many at once by id: Mastodon 4.3+, Misskey)",
            },
            "actor": {
                "type": "string",
                "description": "its ActivityPub actor's URL, when read from it (a re-check "
                "of software with no batch asks it alone)",
            },
            **match_common,
        },
    }
    result = {
        "type": "object",
        "required": ["handle", "bluesky", "mastodon", "candidates", "error"],
        "properties": {
            "handle": {"type": "string"},
            "bluesky": {"oneOf": [_ref("BlueskyMatch"), {"type": "null"}]},
            "mastodon": {"oneOf": [_ref("FediverseMatch"), {"type": "null"}]},
            "candidates": {
                "type": "object",
                "required": ["bluesky", "mastodon"],
                "properties": {
                    "bluesky": {"type": "array", "items": _ref("BlueskyMatch")},
                    "mastodon": {"type": "array", "items": _ref("FediverseMatch")},
                },
            },
            "error": {"oneOf": [_ref("ErrorBody"), {"type": "null"}]},
        },
    }
    error_body = {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
    }
    job = {
        "type": "object",
        "required": ["id", "network", "status", "message", "counts", "accounts"],
        "properties": {
            "id": {"type": "string"},
            "network": {"enum": ["bluesky", "mastodon"]},
            "status": {"enum": ["running", "waiting", "done", "stopped"]},
            "message": {"type": "string"},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "accounts": {"type": "object"},
            "lists": {},
            "starter_packs": {},
        },
    }
    return {
        "AccountIn": account_in,
        "ResolveRequest": {
            "oneOf": [
                {
                    "type": "object",
                    "required": ["accounts"],
                    "properties": {
                        "accounts": accounts,
                        "networks": {
                            "type": ["array", "null"],
                            "minItems": 1,
                            "items": {"enum": ["bluesky", "mastodon"]},
                        },
                        "recheck": {
                            "type": "boolean",
                            "description": "check again: no cached 'not found' answers these "
                            "accounts; with their previous answers, what those held is checked "
                            "to still exist (gone: said so, never pre-selected) and a match "
                            "they did not have carries new: true",
                        },
                        "mastodon_session": {
                            "type": ["string", "null"],
                            "pattern": SESSION_ID,
                            "description": "a Mastodon sign-in's id: that user's server is "
                            "searched too, with their token, for profiles naming the X account "
                            "of those still unmatched on the fediverse (401 session-expired "
                            "when it has expired)",
                        },
                    },
                },
                accounts,
            ],
        },
        "BlueskyMatch": bsky_match,
        "FediverseMatch": fedi_match,
        "Result": result,
        "ResolveResponse": {
            "type": "object",
            "required": ["results", "stats"],
            "properties": {
                "results": {"type": "array", "items": _ref("Result")},
                "stats": {
                    "type": "object",
                    "required": ["accounts", "upstream_requests", "cache_hits", "seconds"],
                    "properties": {
                        "accounts": {"type": "integer", "minimum": 0},
                        "upstream_requests": {"type": "integer", "minimum": 0},
                        "cache_hits": {"type": "integer", "minimum": 0},
                        "seconds": {"type": "number", "minimum": 0},
                    },
                },
            },
        },
        "ErrorBody": error_body,
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": _ref("ErrorBody")},
        },
        "Job": job,
    }


# Not only white space (the ASCII kind, which every regex dialect agrees on).
_NONEMPTY = {"type": "string", "minLength": 1, "maxLength": 300, "pattern": r"[^ \t\n\r\f\v]"}


_HOST_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# The user's server as they would type it: `piaille.fr`, `https://piaille.fr/`; a public
# internet name (local names and private addresses are refused with 422 all the same).
_PORT = "(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
_SERVER = {
    "type": "string",
    "maxLength": 200,
    "pattern": rf"^[ \t\n\r\f\v]*(https://)?(?:{_HOST_LABEL}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?"
    rf"(:{_PORT})?/?[ \t\n\r\f\v]*$",
}


def _targets(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "maxItems": 20_000, "items": item}


def _object(required: tuple[str, ...] = (), **properties: Any) -> dict[str, Any]:
    """A JSON object; a property given as `str` is a plain string."""
    props = {k: {"type": "string"} if v is str else v for k, v in properties.items()}
    return {"type": "object", "required": list(required), "properties": props}


def _operation(
    summary: str,
    ok: tuple[str, dict[str, Any]],
    errors: tuple[int, ...],
    body: dict[str, Any] | None = None,
    parameters: list[dict[str, Any]] | None = None,
    status: str = "200",
    open_: bool = False,
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary}
    if open_:
        op["security"] = []  # answered without the token
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = _body(body)
    op["responses"] = {**_ok(ok[0], ok[1], status), **_errors(*errors)}
    return op


def _query(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


def spec(max_accounts: int, token_required: bool) -> dict[str, Any]:
    """The whole document; `max_accounts` is this instance's setting, so the limit is exact."""
    auth = [{"token": []}] if token_required else []
    job_id = {"type": "string", "pattern": "^[0-9a-f]{16}$"}
    maybe = {"type": ["string", "null"]}
    x_handle = {"type": ["string", "null"], "pattern": "^[A-Za-z0-9_]{0,15}$"}
    started = ("started", _object(("job",), job=str))

    def follow_body(target: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """A follow job's request: the session, up to 20,000 targets, a job id to resume."""
        return _object(
            ("session", "targets"),
            session=_NONEMPTY,
            targets=_targets(target),
            **extra,
            job={**job_id, "type": ["string", "null"]},
        )

    body_errors = (400, 401, 413, 415, 422, 429)
    paths: dict[str, Any] = {
        "/api/health": {
            "get": _operation(
                "Is the service up, and which version",
                ("up", _object(("status", "version"), status={"const": "ok"}, version=str)),
                (),
                open_=True,
            )
        },
        "/api/openapi.json": {
            "get": _operation(
                "This document", ("the OpenAPI description", {"type": "object"}), (), open_=True
            )
        },
        "/api/resolve": {
            "post": _operation(
                "Find each X account on Bluesky and the fediverse, in input order",
                ("one result per input account", _ref("ResolveResponse")),
                body_errors,
                body=_ref("ResolveRequest"),
            )
        },
        "/api/bluesky/session": {
            "post": _operation(
                "Sign in at the PDS with an app password (used once, kept nowhere)",
                ("signed in", _object(("session", "did"), session=str, did=str)),
                (*body_errors, 503),
                body=_object(("handle", "app_password"), handle=_NONEMPTY, app_password=_NONEMPTY),
            )
        },
        "/api/bluesky/follow": {
            "post": _operation(
                "Start (or resume) a follow job on Bluesky",
                started,
                (*body_errors, 403),
                body=follow_body(
                    _object(
                        ("did", "handle"),
                        did={"type": "string", "maxLength": 300, "pattern": TARGET_DID},
                        handle={"type": "string", "maxLength": 253, "pattern": TARGET_HANDLE},
                        x=x_handle,
                    ),
                    list={**_NONEMPTY, "type": ["string", "null"], "maxLength": 64},
                    starter_pack={**_NONEMPTY, "type": ["string", "null"], "maxLength": 50},
                ),
                status="202",
            )
        },
        "/api/jobs/{job_id}": {
            "get": _operation(
                "Progress of a follow job",
                ("the job", _ref("Job")),
                (401, 404, 429),
                parameters=[{"name": "job_id", "in": "path", "required": True, "schema": job_id}],
            )
        },
        "/api/mastodon/authorize": {
            "post": _operation(
                "Register on the user's server and get its consent page",
                (
                    "the consent page to open",
                    _object(
                        ("authorize_url", "state", "key"), authorize_url=str, state=str, key=str
                    ),
                ),
                (*body_errors, 503),
                body=_object(("server",), server=_SERVER),
            )
        },
        "/api/bluesky/authorize": {
            "post": _operation(
                "Start a Sign in with Bluesky (OAuth): a loopback client on 127.0.0.1, a "
                "confidential client when reached over https",
                (
                    "the sign-in page to open",
                    _object(
                        ("authorize_url", "state", "key"), authorize_url=str, state=str, key=str
                    ),
                ),
                (*body_errors, 503),
                body=_object(
                    ("handle",),
                    handle={"type": "string", "pattern": TARGET_HANDLE, "maxLength": 253},
                ),
            )
        },
        "/api/bluesky/client-metadata.json": {
            "get": _operation(
                "The OAuth client metadata of a hosted instance (its client_id); 404 on a "
                "service on the user's own machine",
                (
                    "the client metadata",
                    _object(
                        ("client_id", "redirect_uris", "token_endpoint_auth_method", "jwks_uri"),
                        client_id=str,
                        redirect_uris={"type": "array", "items": {"type": "string"}},
                        token_endpoint_auth_method=str,
                        jwks_uri=str,
                    ),
                ),
                (404, 429),
                open_=True,
            )
        },
        "/api/bluesky/jwks.json": {
            "get": _operation(
                "The public key of a hosted instance's client assertions (ES256)",
                ("the key set", _object(("keys",), keys={"type": "array"})),
                (404, 429),
                open_=True,
            )
        },
        "/api/bluesky/callback": {
            "get": _operation(
                "Where the user's Bluesky server sends them back (a page, not JSON)",
                ("connected", {"type": "string"}),
                (400, 401, 429, 503),
                parameters=[
                    _query("state", _NONEMPTY, required=True),
                    _query("code", _NONEMPTY, required=True),
                    _query("iss", {"type": "string"}),
                    _query("error_description", {"type": "string"}),
                ],
                open_=True,
            )
        },
        "/api/bluesky/oauth-session": {
            "post": _operation(
                "Has the user come back from Bluesky (collect with the sign-in's key)",
                (
                    "not yet, or the session",
                    _object(("ready",), ready={"type": "boolean"}, session=str, did=str),
                ),
                body_errors,
                body=_object(("state", "key"), state=_NONEMPTY, key=_NONEMPTY),
            )
        },
        "/api/mastodon/callback": {
            "get": _operation(
                "Where the user's server sends them back (a page, not JSON)",
                ("connected", {"type": "string"}),
                (400, 401, 429),
                parameters=[
                    _query("state", _NONEMPTY, required=True),
                    _query("code", _NONEMPTY, required=True),
                    _query("error_description", {"type": "string"}),
                ],
                open_=True,
            )
        },
        "/api/mastodon/session": {
            "post": _operation(
                "Has the user come back from the consent page (collect with the sign-in's key)",
                (
                    "not yet, or the session",
                    _object(("ready",), ready={"type": "boolean"}, session=str, acct=maybe),
                ),
                body_errors,
                body=_object(("state", "key"), state=_NONEMPTY, key=_NONEMPTY),
            )
        },
        "/api/mastodon/follow": {
            "post": _operation(
                "Start (or resume) a follow job through the user's Mastodon server",
                started,
                (*body_errors, 403),
                body=follow_body(
                    _object(
                        ("acct",),
                        acct={"type": "string", "pattern": TARGET_ACCT, "maxLength": 300},
                        x=x_handle,
                    )
                ),
                status="202",
            )
        },
    }
    # The callback answers an HTML page, not JSON.
    for path in ("/api/mastodon/callback", "/api/bluesky/callback"):
        callback_ok = paths[path]["get"]["responses"]["200"]
        callback_ok["content"] = {"text/html": {"schema": {"type": "string"}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Passerelle companion service",
            "version": __version__,
            "description": "Finds X accounts on Bluesky and the fediverse, verified; "
            "see API.md and the README.",
        },
        "components": {
            "schemas": _schemas(max_accounts),
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "only when the instance sets PASSERELLE_API_TOKEN",
                }
            },
        },
        "security": auth,
        "paths": paths,
    }
