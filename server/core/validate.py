"""Pure: check a resolve request (HTTP body or CLI file) and turn it into `Account`s.

Errors name the field (`accounts[3].handle`) so a person can fix their file or their client.
"""

from __future__ import annotations

import re
from typing import Any

from .models import NETWORKS, Account, Network

MAX_FIELD = 5000
MAX_LINKS = 100
MAX_ID = 64
# The white space forgiven around a field: the ASCII kind, which every regex dialect (Python's,
# and the OpenAPI document's ECMA patterns) agrees on.
SPACE = " \t\n\r\f\v"
# Shared with the OpenAPI description, so the schema and the check agree on every string:
# surrounding ASCII white space and one "@" are forgiven, nothing else.
HANDLE_PATTERN = r"^[ \t\n\r]*@?[A-Za-z0-9_]{1,50}[ \t\n\r]*$"
_HANDLE = re.compile(HANDLE_PATTERN)


class InputError(ValueError):
    """Bad input; `status` is the HTTP status that fits (413 or 422), `code` the API slug."""

    def __init__(self, message: str, status: int = 422, code: str = "invalid-field") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _string(value: Any, where: str, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise InputError(f"{where} is required")
        return None
    if not isinstance(value, str):
        raise InputError(f"{where} must be a string, not {type(value).__name__}")
    if len(value) > MAX_FIELD:
        raise InputError(f"{where} is longer than {MAX_FIELD} characters")
    return value


def account_from(item: Any, index: int) -> Account:
    where = f"accounts[{index}]"
    if not isinstance(item, dict):
        raise InputError(f"{where} must be an object")
    raw_handle = _string(item.get("handle"), f"{where}.handle", required=True) or ""
    if not _HANDLE.fullmatch(raw_handle):
        raise InputError(
            f"{where}.handle must be an X screen name (letters, digits, _), got {raw_handle[:60]!r}"
        )
    handle = raw_handle.strip(" \t\n\r").lstrip("@")
    links_raw = item.get("links")
    links: list[str] = []
    if links_raw is not None:
        if not isinstance(links_raw, list):
            raise InputError(f"{where}.links must be a list of strings")
        if len(links_raw) > MAX_LINKS:
            raise InputError(f"{where}.links has more than {MAX_LINKS} items")
        for j, link in enumerate(links_raw):
            value = _string(link, f"{where}.links[{j}]")
            if value:
                links.append(value)
    ident = item.get("id")
    if isinstance(ident, bool) or not (ident is None or isinstance(ident, str | int)):
        raise InputError(f"{where}.id must be a string")
    if isinstance(ident, str) and len(ident) > MAX_ID:
        raise InputError(f"{where}.id is too long")
    follows = item.get("follows_you")
    if follows is not None and not isinstance(follows, bool):
        raise InputError(f"{where}.follows_you must be true, false or null")
    return Account(
        handle=handle,
        name=_string(item.get("name"), f"{where}.name") or "",
        bio=_string(item.get("bio"), f"{where}.bio") or "",
        url=_string(item.get("url"), f"{where}.url") or None,
        links=tuple(links),
        id=None if ident is None else str(ident),
        follows_you=follows,
    )


def parse_request(body: Any, max_accounts: int) -> tuple[list[Account], tuple[Network, ...]]:
    """`{"accounts": [...], "networks": [...]}` or a bare list → accounts, networks."""
    if isinstance(body, list):
        body = {"accounts": body}
    if not isinstance(body, dict):
        raise InputError('the body must be a JSON object with an "accounts" list')
    accounts_raw = body.get("accounts")
    if accounts_raw is None:
        raise InputError("accounts is required")
    if not isinstance(accounts_raw, list):
        raise InputError("accounts must be a list")
    if len(accounts_raw) > max_accounts:
        raise InputError(
            f"at most {max_accounts:,} accounts per request (got "
            f"{len(accounts_raw):,}); send them in batches",
            413,
            "too-many-accounts",
        )
    accounts = [account_from(item, i) for i, item in enumerate(accounts_raw)]
    nets_raw = body.get("networks", list(NETWORKS))
    if nets_raw is None:
        nets_raw = list(NETWORKS)
    if not isinstance(nets_raw, list) or not nets_raw:
        raise InputError('networks must be a non-empty list, e.g. ["bluesky", "mastodon"]')
    nets: list[Network] = []
    for j, n in enumerate(nets_raw):
        if n not in NETWORKS:
            raise InputError(f'networks[{j}] must be "bluesky" or "mastodon", got {n!r}')
        nets.append(n)
    return accounts, tuple(dict.fromkeys(nets))


# A sign-in's id as the service gives it (`secrets.token_urlsafe`).
SESSION_ID = r"^[A-Za-z0-9_-]{1,200}$"

# Targets as the atproto and Mastodon specifications write them; the OpenAPI description
# publishes these very patterns. One malformed identifier would fail a whole batch of writes,
# and a huge one would fill the job's file.
TARGET_DID = r"^did:(?:plc:[a-z2-7]{24}|web:[a-z0-9.-]{1,253})$"
TARGET_HANDLE = (
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)
TARGET_ACCT = (
    r"^@?[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9_])?"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{1,62}$"
)
