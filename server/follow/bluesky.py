"""Writes to the user's Bluesky repository, signed in with an app password through the atproto
SDK, or with Bluesky's OAuth (`OAuthBlueskyWriter`); either lives only in memory: follows,
lists and their items, starter packs.

Records are created in batches with `com.atproto.repo.applyWrites`; what already exists is read
from the repository itself (`listRecords`), the source of truth, never from an index that lags.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import requests
from atproto_client import Client, models
from atproto_client import exceptions as atproto_errors

from ..networks.bluesky import AtprotoRequest
from ..networks.http import UpstreamUnavailable
from .bsky_oauth import OAuthSession

FOLLOW = "app.bsky.graph.follow"
LIST = "app.bsky.graph.list"
LIST_ITEM = "app.bsky.graph.listitem"
STARTER_PACK = "app.bsky.graph.starterpack"
CURATE = "app.bsky.graph.defs#curatelist"
REFERENCE = "app.bsky.graph.defs#referencelist"
MAX_WRITES = 200  # applyWrites accepts at most 200 operations
LIST_NAME_MAX = 64  # app.bsky.graph.list#name maxLength
PACK_NAME_MAX = 50  # app.bsky.graph.starterpack#name maxGraphemes
PACK_MEMBERS_MAX = 150  # what the Bluesky app lets a starter pack hold
PROFILES_MAX = 25  # app.bsky.actor.getProfiles#actors maxLength
GONE = "no longer on Bluesky (deleted, deactivated or suspended since the look-up)"


class SignInError(Exception):
    """The handle or app password was refused."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _unavailable(e: Exception, what: str) -> UpstreamUnavailable:
    return UpstreamUnavailable(f"{what}: {type(e).__name__}")


class BlueskyWriter:
    def __init__(self, session: requests.Session, pds: str, timeout: float) -> None:
        self.client = Client(base_url=pds, request=AtprotoRequest(session, timeout))
        self.pds = pds
        self.did = ""

    def sign_in(self, handle: str, app_password: str) -> str:
        try:
            session = self.client._get_and_set_session(handle, app_password)
        except atproto_errors.UnauthorizedError as e:
            raise SignInError("Bluesky refused the handle or app password") from e
        except atproto_errors.BadRequestError as e:
            raise SignInError(
                "Bluesky refused the sign-in: "
                f"{getattr(e.response.content, 'message', '') or 'bad request'}"
            ) from e
        except atproto_errors.AtProtocolError as e:
            raise _unavailable(e, "sign-in") from e
        self.did = str(session.did)
        return self.did

    def resume(self, session_string: str, did: str) -> bool:
        """Signs in with a session another worker made (no password): whether it held."""
        try:
            self.client.login(session_string=session_string, fetch_bsky_profile=False)
        except (atproto_errors.AtProtocolError, ValueError):
            return False
        self.did = did
        return bool(self.did)

    # -- reading the repository ----------------------------------------------------------------
    def records(self, collection: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every record of a collection in the signed-in repository: (uri, value)."""
        cursor = None
        while True:
            params: dict[str, Any] = {"repo": self.did, "collection": collection, "limit": 100}
            if cursor:
                params["cursor"] = cursor
            try:
                page = self.client.com.atproto.repo.list_records(params=params)
            except atproto_errors.AtProtocolError as e:
                raise _unavailable(e, "listRecords") from e
            for rec in page.records:
                value = rec.value
                data = (
                    value.model_dump(by_alias=True) if hasattr(value, "model_dump") else dict(value)
                )
                yield str(rec.uri), data
            cursor = page.cursor
            if not cursor or not page.records:
                return

    def followed(self) -> set[str]:
        return {str(v.get("subject")) for _, v in self.records(FOLLOW)}

    def find_list(self, name: str, purpose: str) -> str | None:
        for uri, v in self.records(LIST):
            if v.get("name") == name and v.get("purpose") == purpose:
                return uri
        return None

    def list_members(self, list_uri: str) -> set[str]:
        return {
            str(v.get("subject")) for _, v in self.records(LIST_ITEM) if v.get("list") == list_uri
        }

    def existing(self, dids: list[str]) -> set[str]:
        """Of `dids`, those Bluesky still shows: `app.bsky.actor.getProfiles` (25 at a time,
        through the PDS to its AppView) leaves out accounts deleted, deactivated or taken down
        since the look-up, which must then be neither followed nor put in a list."""
        shown: set[str] = set()
        for i in range(0, len(dids), PROFILES_MAX):
            try:
                page = self.client.app.bsky.actor.get_profiles(
                    params={"actors": dids[i : i + PROFILES_MAX]}
                )
            except atproto_errors.AtProtocolError as e:
                raise _unavailable(e, "getProfiles") from e
            shown |= {str(p.did) for p in page.profiles}
        return shown

    def find_pack(self, name: str) -> str | None:
        for uri, v in self.records(STARTER_PACK):
            if v.get("name") == name:
                return uri
        return None

    # -- writing -------------------------------------------------------------------------------
    def create(self, collection: str, values: list[dict[str, Any]]) -> list[str]:
        """Create records in one applyWrites call; the new records' URIs, in order."""
        assert 0 < len(values) <= MAX_WRITES
        writes = [
            models.ComAtprotoRepoApplyWrites.Create(
                collection=collection, value={"$type": collection, **v}
            )
            for v in values
        ]
        try:
            out = self.client.com.atproto.repo.apply_writes(
                models.ComAtprotoRepoApplyWrites.Data(repo=self.did, writes=writes)
            )
        except atproto_errors.AtProtocolError as e:
            raise _unavailable(e, "applyWrites") from e
        return [str(r.uri) for r in (out.results or []) if getattr(r, "uri", None)]

    def follow_values(self, dids: list[str]) -> list[dict[str, Any]]:
        stamp = now_iso()
        return [{"subject": d, "createdAt": stamp} for d in dids]

    def list_values(self, name: str, purpose: str, description: str) -> dict[str, Any]:
        return {
            "name": name[:LIST_NAME_MAX],
            "purpose": purpose,
            "description": description,
            "createdAt": now_iso(),
        }

    def item_values(self, list_uri: str, dids: list[str]) -> list[dict[str, Any]]:
        stamp = now_iso()
        return [{"subject": d, "list": list_uri, "createdAt": stamp} for d in dids]

    def pack_value(self, name: str, list_uri: str, description: str) -> dict[str, Any]:
        return {"name": name, "list": list_uri, "description": description, "createdAt": now_iso()}


class OAuthBlueskyWriter(BlueskyWriter):
    """The same writes, signed in with Bluesky's OAuth (DPoP-bound tokens, no app password):
    the three calls that reach the network go through the OAuth session."""

    def __init__(self, session: requests.Session, signed_in: OAuthSession, timeout: float) -> None:
        super().__init__(session, signed_in.pds, timeout)
        self.http = session
        self.oauth = signed_in
        self.timeout = timeout
        self.did = signed_in.did

    def _call(
        self,
        method: str,
        nsid: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            r = self.oauth.xrpc(self.http, method, nsid, params, body, self.timeout)
        except requests.RequestException as e:
            raise _unavailable(e, nsid.rsplit(".", 1)[-1]) from e
        if r.status_code != 200:
            raise UpstreamUnavailable(f"{nsid.rsplit('.', 1)[-1]}: HTTP {r.status_code}")
        data = r.json()
        return data if isinstance(data, dict) else {}

    def records(self, collection: str) -> Iterator[tuple[str, dict[str, Any]]]:
        cursor = None
        while True:
            params: dict[str, Any] = {"repo": self.did, "collection": collection, "limit": 100}
            if cursor:
                params["cursor"] = cursor
            page = self._call("GET", "com.atproto.repo.listRecords", params)
            records = page.get("records") or []
            for rec in records:
                yield str(rec.get("uri")), dict(rec.get("value") or {})
            cursor = page.get("cursor")
            if not cursor or not records:
                return

    def existing(self, dids: list[str]) -> set[str]:
        shown: set[str] = set()
        for i in range(0, len(dids), PROFILES_MAX):
            page = self._call(
                "GET", "app.bsky.actor.getProfiles", {"actors": dids[i : i + PROFILES_MAX]}
            )
            shown |= {str(p.get("did")) for p in page.get("profiles") or []}
        return shown

    def create(self, collection: str, values: list[dict[str, Any]]) -> list[str]:
        assert 0 < len(values) <= MAX_WRITES
        writes = [
            {
                "$type": "com.atproto.repo.applyWrites#create",
                "collection": collection,
                "value": {"$type": collection, **v},
            }
            for v in values
        ]
        out = self._call(
            "POST", "com.atproto.repo.applyWrites", body={"repo": self.did, "writes": writes}
        )
        return [str(r["uri"]) for r in out.get("results") or [] if r.get("uri")]
