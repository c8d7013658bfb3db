"""A faithful local imitation of an x.com follow list, served to Chromium by `context.route`.

What the scanner meets on x.com (X_PAGE.md): a single-page app whose list is virtualised
(only rows near the viewport exist, rows are recycled and their DOM order does not follow their
position), pages of users arriving by XHR from `/i/api/graphql/<id>/Following` in X's own
response formats (users built on users of responses X really served: all under `legacy` to
2025, `core` and `profile_bio` with `legacy.entities` by mid-2026, no `legacy` since August
2026; mixed), a progress bar while loading, emoji drawn as images, t.co links cut with "…",
mentions, hashtags, the hidden "Click to Unfollow" text, a sidebar of other accounts, a failed
load with a Retry button, and the end of the list.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

HERE = Path(__file__).resolve().parent
QUERY_ID = "pBm1kQ4Gl8lQqYQ4ZrXUAw"
PAGE_SIZE = 50
SIDEBAR = [
    {
        "handle": "whotofollow1",
        "name": "Suggested One",
        "bio": "Not in the list 🦋 @suggested.bsky.social",
    },
    {"handle": "whotofollow2", "name": "Suggested Two", "bio": "Also not in the list"},
]


def user_id(path: str) -> str:
    """A stable numeric id for the list's owner (X's variables name the user, not the path)."""
    return str(int.from_bytes(path.rstrip("/").lower().encode(), "big") % 10**12 + 10**6)


def display_url(url: str) -> str:
    """X's display form of a link: no scheme, no www, cut after 25 characters with "…"."""
    shown = re.sub(r"^https?://(www\.)?", "", url)
    return shown if len(shown) <= 25 else shown[:25] + "…"


def x_side(account: dict[str, Any], index: int) -> dict[str, Any]:
    """The account as X stores it: raw description with t.co links and their entities.

    The bio X shows (the API's `bio`) is the description with each t.co link replaced by its
    display form; for the world's accounts the display form already in the bio is kept.
    """
    bio = account.get("bio") or ""
    description = bio
    urls = []
    for j, link in enumerate(account.get("links") or []):
        tco = f"https://t.co/b{index:05d}{j}"
        shown = None
        for m in re.finditer(r"\S+…", description):
            fragment = m.group(0)
            if fragment.rstrip("…") and link.split("://", 1)[-1].startswith(
                fragment.rstrip("…").removeprefix("www.")
            ):
                shown = fragment
                break
        if shown is None:
            shown = display_url(link)
            description = (description + " " + tco).strip()
        else:
            description = description.replace(shown, tco, 1)
        urls.append({"url": tco, "expanded_url": link, "display_url": shown, "indices": [0, 0]})
    site = None
    if account.get("url"):
        site = {
            "url": f"https://t.co/w{index:05d}",
            "expanded_url": account["url"],
            "display_url": display_url(account["url"]),
            "indices": [0, 23],
        }
    return {"description": description, "urls": urls, "site": site}


# X's formats, each from a response X really served (tests/data/x_recorded/SOURCES.md): a user
# of the recording is the template, the world's account is written into it.
TEMPLATES = (
    "following-2025-03-07-3e30c374.json.gz",  # everything under legacy
    "following-2026-07-21-8ce44e44.json.gz",  # core, profile_bio.description, legacy.entities
    "following-2026-08-07-b71007c9.json.gz",  # no legacy; website.url is the t.co link
)


@functools.cache
def _template(name: str) -> str:
    from tests.x_reference import entries, load

    first = next(e for e in entries(load(name)) if e["content"].get("itemContent"))
    return json.dumps(first["content"]["itemContent"]["user_results"]["result"])


def user_result(account: dict[str, Any], index: int) -> dict[str, Any]:
    """One `user_results.result`, in one of the formats X has served (by `index`, in turn)."""
    xs = x_side(account, index)
    rest_id = str(account.get("id") or 10**9 + index)
    result: dict[str, Any] = json.loads(_template(TEMPLATES[index % len(TEMPLATES)]))
    result["rest_id"] = rest_id
    result["id"] = base64.b64encode(f"User:{rest_id}".encode()).decode()
    result["is_blue_verified"] = index % 7 == 0
    avatar = f"https://pbs.twimg.com/profile_images/{rest_id}/a_normal.jpg"
    name = account.get("name") or ""
    follows_you = bool(account.get("follows_you"))
    entities: dict[str, Any] = {"description": {"urls": xs["urls"]} if xs["urls"] else {}}
    if xs["site"]:
        entities["url"] = {"urls": [xs["site"]]}
    legacy = result.get("legacy")
    if "core" not in result:  # to 2025: all under legacy
        legacy.update(screen_name=account["handle"], name=name, description=xs["description"])
        legacy["entities"] = {"description": {"urls": xs["urls"]}, **entities}
        legacy["profile_image_url_https"] = avatar
        legacy.pop("url", None)
        if xs["site"]:
            legacy["url"] = xs["site"]["url"]
        if follows_you:
            legacy["followed_by"] = True
        return result
    result["core"].update(screen_name=account["handle"], name=name)
    result["avatar"] = {"image_url": avatar}
    result["relationship_perspectives"]["followed_by"] = follows_you
    if legacy is not None:  # mid-2026: the bio in profile_bio, its links still in legacy
        result["profile_bio"] = {"description": xs["description"]}
        legacy["description"] = xs["description"]
        legacy["entities"] = {"description": {"urls": xs["urls"]}, **entities}
        legacy.pop("url", None)
        if xs["site"]:
            legacy["url"] = xs["site"]["url"]
        return result
    # since August 2026: no legacy; the website's address only in profile_bio.entities.url
    result["profile_bio"] = {"description": xs["description"], "entities": entities}
    result["website"] = {"url": xs["site"]["url"] if xs["site"] else ""}
    return result


def timeline_page(
    accounts: list[dict[str, Any]], start: int, op: str, renamed: bool = False
) -> dict[str, Any]:
    """One page of the list; `renamed`: its users under a key only the app knows (a page shape
    the extension's reading of responses has never seen)."""
    chunk = accounts[start : start + PAGE_SIZE]
    key = "user_results_v2" if renamed else "user_results"
    entries: list[dict[str, Any]] = [
        {
            "entryId": f"user-{start + i}",
            "sortIndex": str(10**18 - start - i),
            "content": {
                "entryType": "TimelineTimelineItem",
                "__typename": "TimelineTimelineItem",
                "itemContent": {
                    "itemType": "TimelineUser",
                    "__typename": "TimelineUser",
                    key: {"result": user_result(a, start + i)},
                    "userDisplayType": "User",
                },
            },
        }
        for i, a in enumerate(chunk)
    ]
    nxt = start + PAGE_SIZE
    entries.append(
        {
            "entryId": f"cursor-bottom-{nxt}",
            "sortIndex": "0",
            "content": {
                "entryType": "TimelineTimelineCursor",
                "__typename": "TimelineTimelineCursor",
                "value": f"{nxt}|{'end' if nxt >= len(accounts) else 'more'}",
                "cursorType": "Bottom",
            },
        }
    )
    timeline = {
        "timeline": {
            "instructions": [
                {"type": "TimelineClearCache"},
                {"type": "TimelineAddEntries", "entries": entries},
            ]
        }
    }
    if op == "ListMembers":
        return {"data": {"list": {"members_timeline": timeline}}}
    return {"data": {"user": {"result": {"__typename": "User", "timeline": timeline}}}}


@dataclass
class XList:
    """One list served by the imitation, and what happened while serving it."""

    path: str  # "/owner/following"
    accounts: list[dict[str, Any]]
    fail_pages: set[int] = field(default_factory=set)  # page numbers failing once (503)
    latency_ms: int = 150
    requests: int = 0
    failed: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    op_name: str | None = None  # another operation name, as when X renames its queries
    cell_testid: str = "UserCell"  # another test id, as when X changes its markup
    renamed_pages: set[int] = field(default_factory=set)  # pages in a shape the hook cannot read
    # Pages from this one on are held (not answered) until `release()`: a test can then act
    # while the scan is surely mid-list, whatever the machine's speed.
    hold_from_page: int | None = None
    held: list[tuple[Any, int]] = field(default_factory=list)

    def release(self) -> None:
        """Answers the held pages and holds no more. Call it from the test's own thread (the
        one driving Playwright)."""
        self.hold_from_page = None
        held, self.held = self.held, []
        for route, start in held:
            route.fulfill(
                status=200,
                content_type="application/json",
                body=json.dumps(timeline_page(self.accounts, start, self.op), ensure_ascii=False),
            )

    @property
    def op(self) -> str:
        if self.op_name:
            return self.op_name
        kind = self.path.rstrip("/").rsplit("/", 1)[-1]
        return {
            "following": "Following",
            "followers": "Followers",
            "verified_followers": "BlueVerifiedFollowers",
            "members": "ListMembers",
        }.get(kind, "Following")


class XCom:
    """Serves x.com for a Playwright context: the app shell, its script, and the list data."""

    def __init__(self, lists: list[XList]) -> None:
        self.lists = {x.path.lower(): x for x in lists}
        self.by_user_id = {user_id(x.path): x for x in lists}
        self.shell = (HERE / "shell.html").read_text(encoding="utf-8")
        self.script = (HERE / "xcom.js").read_text(encoding="utf-8")

    def install(self, context: Any) -> None:
        """Serve x.com to a Playwright context, by routing."""
        context.route(re.compile(r"^https://(mobile\.)?(x|twitter)\.com/.*"), self._route)
        context.route(re.compile(r"^https://(abs-0|pbs|abs)\.twimg\.com/.*"), self._route)

    def _route(self, route: Any) -> None:
        def hold(x: XList, start: int) -> None:
            x.held.append((route, start))

        answer = self.respond(route.request.url, hold=hold)
        if answer is not None:
            status, content_type, body = answer
            route.fulfill(status=status, content_type=content_type, body=body)

    def respond(self, address: str, hold: Any = None) -> tuple[int, str, str | bytes] | None:
        """The answer to one GET of `address`: (status, content type, body); None when the
        page is held for `XList.release()` (through `hold(xlist, start)`). The same answers for
        Playwright's routing (Chromium) and for `XComServer` (Firefox, through a proxy)."""
        url = urlsplit(address)
        host = (url.hostname or "").lower()
        if host.endswith("twimg.com"):
            return self._image(url.path)
        if url.path == "/__xcom.js":
            return 200, "application/javascript", self.script
        m = re.match(r"^/i/api/graphql/[^/]+/(\w+)$", url.path)
        if m:
            return self._graphql(url, hold)
        x = self.lists.get(url.path.rstrip("/").lower())
        config = {
            "path": url.path,
            "known": x is not None,
            "userId": user_id(url.path),
            "latencyMs": x.latency_ms if x else 0,
            "queryId": QUERY_ID,
            "op": x.op if x else "Following",
            "cellTestId": x.cell_testid if x else "UserCell",
            "sidebar": SIDEBAR,
            "title": url.path.strip("/"),
        }
        body = self.shell.replace("__CONFIG__", json.dumps(config).replace("</", "<\\/"))
        return 200, "text/html; charset=utf-8", body

    @staticmethod
    def _image(path: str) -> tuple[int, str, str | bytes]:
        if path.endswith(".svg"):
            return (
                200,
                "image/svg+xml",
                '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 36 36">'
                '<circle cx="18" cy="18" r="16" fill="#fc0"/></svg>',
            )
        return (
            200,
            "image/gif",
            b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!"
            b"\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00"
            b"\x00\x02\x02D\x01\x00;",
        )

    def _graphql(self, url: Any, hold: Any) -> tuple[int, str, str | bytes] | None:
        q = parse_qs(url.query)
        try:
            variables = json.loads(q.get("variables", ["{}"])[0])
        except ValueError:
            return 400, "application/json", "{}"
        x = self.by_user_id.get(str(variables.get("userId") or variables.get("listId") or ""))
        if x is None:
            return 404, "application/json", '{"errors":[{"message":"not found"}]}'
        cursor = str(variables.get("cursor") or "0|more")
        start = int(cursor.split("|", 1)[0])
        page = start // PAGE_SIZE
        with x.lock:
            x.requests += 1
            fail = page in x.fail_pages and page not in x.failed
            if fail:
                x.failed.add(page)
        if x.hold_from_page is not None and page >= x.hold_from_page:
            if hold is None:
                raise RuntimeError("holding pages needs Playwright's routing")
            hold(x, start)  # answered by x.release()
            return None
        if fail:
            return 503, "application/json", '{"errors":[{"message":"Over capacity","code":130}]}'
        body = json.dumps(
            timeline_page(x.accounts, start, x.op, page in x.renamed_pages), ensure_ascii=False
        )
        return 200, "application/json", body
