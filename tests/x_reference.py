"""An independent reading of X's follow-list responses, to check the extension's page hook.

Written from the recorded responses (tests/data/x_recorded/), not from the hook's code: it
follows the timeline's entries rather than walking the whole document, and takes each field
from where each of X's formats puts it:
- to early 2025: `legacy.{screen_name, name, description}`, bio links in
  `legacy.entities.description.urls`, the website in `legacy.entities.url.urls[0]`;
- by mid-2026: `core.{screen_name, name}`, `profile_bio.description`, the links still in
  `legacy.entities`;
- since August 2026: no `legacy`; links in `profile_bio.entities.description.urls`, the website in
  `profile_bio.entities.url.urls[0]`, and `website.url` only the t.co link.
The website is always the expanded address, never a t.co link.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

RECORDED = Path(__file__).resolve().parent / "data" / "x_recorded"


def load(name: str) -> dict[str, Any]:
    with gzip.open(RECORDED / name, "rt", encoding="utf-8") as f:
        return json.load(f)


def recorded_files() -> list[str]:
    return sorted(p.name for p in RECORDED.glob("*.json.gz"))


def timeline(response: dict[str, Any]) -> dict[str, Any]:
    data = response["data"]
    if "list" in data:
        return data["list"]["members_timeline"]["timeline"]
    return data["user"]["result"]["timeline"]["timeline"]


def entries(response: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for instruction in timeline(response)["instructions"]:
        if instruction.get("type") == "TimelineAddEntries":
            out += instruction["entries"]
    return out


def _urls(container: dict[str, Any] | None, key: str) -> list[dict[str, Any]]:
    return ((container or {}).get("entities") or {}).get(key, {}).get("urls") or []


def person(result: dict[str, Any]) -> dict[str, Any] | None:
    """One user as the extension must send it, or None for an unavailable account."""
    if result.get("__typename") != "User":
        return None
    legacy = result.get("legacy") or {}
    core = result.get("core") or {}
    bio = result.get("profile_bio")
    description = bio["description"] if bio and "description" in bio else legacy["description"]
    link_urls = _urls(bio, "description") or _urls(legacy, "description")
    site_urls = _urls(bio, "url") or _urls(legacy, "url")
    for u in link_urls:  # the bio as X shows it: each t.co link in its display form
        description = description.replace(u["url"], u["display_url"])
    return {
        "handle": core.get("screen_name") or legacy["screen_name"],
        "id": result["rest_id"],
        "name": core.get("name") or legacy.get("name") or "",
        "description": description,
        "links": [u["expanded_url"] for u in link_urls],
        "url": site_urls[0]["expanded_url"] if site_urls else None,
    }


def people(response: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for entry in entries(response):
        item = (entry.get("content") or {}).get("itemContent")
        if not item:
            continue  # a cursor
        p = person(item["user_results"]["result"])
        if p is not None:
            out.append(p)
    return out
