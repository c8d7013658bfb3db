"""Every follow-list response X really served (2024 → August 2026, recorded by twscrape: see
tests/data/x_recorded/SOURCES.md) goes through the built extension's page hook in Chromium, by
XHR and by fetch as X's app may use either; what the hook passes on must equal the independent
reading of tests/x_reference.py: handle, id, name, bio, links and website (never a t.co link).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.browser import extension_context
from tests.x_reference import load, people, recorded_files

OPS = {
    "following": ("/owner/following", "Following"),
    "followers": ("/owner/followers", "Followers"),
    "verified_followers": ("/owner/verified_followers", "BlueVerifiedFollowers"),
    "list_members": ("/i/lists/1234567/members", "ListMembers"),
}
FIELDS = ("handle", "id", "name", "description", "links", "url")

LISTEN = """() => {
  window.__hook = [];
  window.addEventListener('message', (e) => {
    const d = e.data;
    if (e.source === window && d && d.source === 'passerelle-hook') window.__hook.push(d);
  });
}"""
ASK = """async ([url, how, keep]) => {
  if (!keep) window.__hook = [];
  if (how === 'fetch') {
    await (await fetch(url)).text();
  } else {
    await new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open('GET', url);
      xhr.onload = resolve;
      xhr.send();
    });
  }
}"""


class Served:
    """x.com for the context: an empty page per list, and one recorded body per request."""

    def __init__(self) -> None:
        self.body = "{}"

    def install(self, ctx: Any) -> None:
        ctx.route(re.compile(r"^https://x\.com/.*"), self.handle)

    def handle(self, route: Any) -> None:
        if "/i/api/graphql/" in route.request.url:
            route.fulfill(status=200, content_type="application/json", body=self.body)
        else:
            route.fulfill(
                status=200, content_type="text/html", body="<!doctype html><title>x</title>"
            )


def kind_of(name: str) -> str:
    return re.sub(r"-\d{4}-\d\d-\d\d-[0-9a-f]{8}\.json\.gz$", "", name)


def hooked(
    page: Any, served: Served, kind: str, body: Any, how: str, keep: bool = False
) -> list[dict[str, Any]]:
    """What the hook passed on for one response: its users (several messages joined)."""
    _, op = OPS[kind]
    served.body = json.dumps(body)
    url = f"/i/api/graphql/qid/{op}?variables=" + json.dumps({"userId": "42", "count": 20})
    page.evaluate(ASK, [url, how, keep])
    page.wait_for_function("() => window.__hook.length > 0", timeout=10_000)
    return [u for m in page.evaluate("() => window.__hook") for u in m["users"]]


@pytest.fixture(scope="module")
def x_page(playwright: Any, extension_dir: Any) -> Any:
    served = Served()
    with extension_context(playwright, extension_dir) as (ctx, _):
        served.install(ctx)
        pages = {}
        for kind, (path, _) in OPS.items():
            page = ctx.new_page()
            page.goto(f"https://x.com{path}")
            page.evaluate(LISTEN)
            pages[kind] = page
        yield pages, served


@pytest.mark.parametrize("how", ["xhr", "fetch"])
def test_every_recorded_response_is_read_exactly(x_page: Any, how: str) -> None:
    pages, served = x_page
    files = recorded_files()
    assert len(files) >= 50 and {kind_of(f) for f in files} == set(OPS)
    wrong = []
    for name in files:
        kind = kind_of(name)
        response = load(name)
        want = people(response)
        got = hooked(pages[kind], served, kind, response, how)
        got = [{k: u.get(k) for k in FIELDS} for u in got]
        if got != want:
            diff = next(
                ((g, w) for g, w in zip(got, want, strict=False) if g != w), (len(got), len(want))
            )
            wrong.append((name, diff))
    assert not wrong, wrong[:3]


NEWEST = "following-2026-08-07-b71007c9.json.gz"


def test_a_page_with_errors_beside_its_data_is_kept(x_page: Any) -> None:
    """X sometimes answers `errors` together with `data` (a part it could not build): the users
    it did send are read. (The recording with an `errors` list added by hand.)"""
    pages, served = x_page
    response = load(NEWEST)
    response["errors"] = [{"message": "Timeout: Unspecified", "code": 29}]
    got = hooked(pages["following"], served, "following", response, "fetch")
    assert [{k: u.get(k) for k in FIELDS} for u in got] == people(load(NEWEST))


def test_an_unavailable_account_is_skipped_and_the_others_kept(x_page: Any) -> None:
    pages, served = x_page
    response = load(NEWEST)
    users = [
        e
        for i in response["data"]["user"]["result"]["timeline"]["timeline"]["instructions"]
        if i["type"] == "TimelineAddEntries"
        for e in i["entries"]
        if e["content"].get("itemContent")
    ]
    gone = users[0]["content"]["itemContent"]["user_results"]
    gone["result"] = {"__typename": "UserUnavailable", "reason": "Suspended"}
    got = [u["handle"] for u in hooked(pages["following"], served, "following", response, "xhr")]
    assert got == [p["handle"] for p in people(response)]
    assert len(got) == len(users) - 1


def test_errors_alone_are_not_the_end_of_the_list(x_page: Any) -> None:
    """An answer holding only `errors` says nothing about the list: no message, in particular
    not the empty page that means the end. (By XHR: the hook reads an answer in the same
    `load` event as the page, so it has said all it will before the next request.)"""
    pages, served = x_page
    page = pages["following"]
    errors_only = {"errors": [{"message": "Rate limit exceeded", "code": 88}]}
    assert hooked_nothing(page, served, errors_only)
    got = hooked(page, served, "following", load(NEWEST), "xhr", keep=True)
    assert [u["handle"] for u in got] == [p["handle"] for p in people(load(NEWEST))]
    messages = page.evaluate("() => window.__hook")
    assert len(messages) == 1 and messages[0]["users"] and not messages[0].get("end")


def hooked_nothing(page: Any, served: Served, body: Any) -> bool:
    served.body = json.dumps(body)
    page.evaluate(ASK, ["/i/api/graphql/qid/Following?variables={}", "xhr", False])
    return page.evaluate("() => window.__hook.length") == 0
