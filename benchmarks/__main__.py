"""`python -m benchmarks`: speed, cost to the networks and matching quality, beside the peer
approach (Sky Follower Bridge's matching), on labelled worlds served by the local stand-ins with
a latency per request and per-host rate limits that answer 429 like the real ones.

Prints one table and writes benchmarks/results.json. Nothing here asserts: the figures go in the
README with this command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import Served, service_env, x_accounts  # noqa: E402
from tests.evaluation import PRESELECTED, ident, score  # noqa: E402
from tests.independent import build as build_independent  # noqa: E402
from tests.standins.arrivals import later  # noqa: E402
from tests.standins.internet import Internet  # noqa: E402
from tests.standins.world import build_world  # noqa: E402

from .peer import Peer  # noqa: E402

BATCH = 100  # what the extension sends at a time
RECHECK_BATCH = 500  # what it sends at a time when checking again (config.js recheckBatchSize)


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (gunicorn's master and workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid = int(fields[1])
        if int(entry.name) == pid or ppid == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def tree_peak_rss_mb(pid: int) -> float:
    peak = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            ppid = int(next(x for x in status.splitlines() if x.startswith("PPid:")).split()[1])
        except (OSError, StopIteration):
            continue
        if int(entry.name) == pid or ppid == pid:
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
    return peak


def resolve_all(
    url: str, accounts: list[dict[str, Any]], recheck: bool = False
) -> tuple[list[dict[str, Any]], dict]:
    results: list[dict[str, Any]] = []
    stats = {"upstream_requests": 0, "cache_hits": 0}
    step = RECHECK_BATCH if recheck else BATCH
    for i in range(0, len(accounts), step):
        body = {"accounts": accounts[i : i + step], "recheck": recheck}
        r = requests.post(f"{url}/api/resolve", json=body, timeout=600)
        r.raise_for_status()
        body = r.json()
        results += body["results"]
        for k in stats:
            stats[k] += body["stats"][k]
    return results, stats


def quality(
    world: dict[str, Any], results: list[dict[str, Any]], networks: tuple[str, ...]
) -> dict[str, Any]:
    s = score(world["accounts"][: len(results)], results, networks)
    return {
        n: {
            "precision": round(v.precision, 4),
            "recall": round(v.recall, 4),
            "false_follows": len(v.wrong),
            "preselected": v.preselected,
        }
        for n, v in s.items()
    }


# Where the upstream requests go, by what they ask (the stand-ins record every request).
KINDS = (
    "search",
    "profiles",
    "domain checks",
    "WebFinger",
    "look-ups",
    "accounts by id",
    "nodeinfo",
    "bridge",
)
BRIDGE_HOSTS = ("bsky.brid.gy", "ap.brid.gy", "web.brid.gy", "fed.brid.gy")


def request_kind(host: str, path: str) -> str:
    path = path.split("?", 1)[0]
    if host in BRIDGE_HOSTS or path.endswith("app.bsky.graph.getRelationships"):
        return "bridge"
    if path.endswith(("app.bsky.actor.searchActors", "app.bsky.actor.searchActorsTypeahead")):
        return "search"
    if path.endswith(("app.bsky.actor.getProfiles", "app.bsky.actor.getProfile")):
        return "profiles"
    if path.startswith("/.well-known/atproto-did") or path.endswith("resolveHandle"):
        return "domain checks"
    if path.startswith("/.well-known/webfinger"):
        return "WebFinger"
    if path.startswith(("/.well-known/nodeinfo", "/nodeinfo")):
        return "nodeinfo"
    if path.startswith(("/api/v1/accounts/lookup", "/api/v2/search", "/users/", "/@")):
        return "look-ups"
    if path in ("/api/v1/accounts", "/api/users/show"):  # Mastodon 4.3+, Misskey
        return "accounts by id"
    return "other"


def by_kind(paths: list[tuple[str, str]], accounts: int) -> dict[str, float]:
    counts: dict[str, int] = {}
    for host, path in paths:
        kind = request_kind(host, path)
        counts[kind] = counts.get(kind, 0) + 1
    return {k: round(counts.get(k, 0) / accounts, 3) for k in (*KINDS, "other")}


def run_size(size: int, latency: float, host_rate: float, peer_sample: int) -> dict[str, Any]:
    """A world generated by `tests/standins/world.py` (written with the rules in mind); then
    the same world weeks later (`tests/standins/arrivals.py`), checked again."""
    return run_world(
        build_world(size, seed=1000 + size, time=True),
        latency,
        host_rate,
        peer_sample,
        recheck=True,
    )


def run_recheck(
    net: Internet, url: str, world: dict[str, Any], first: list[dict[str, Any]]
) -> dict[str, Any]:
    """People arrive (one in 15 of the accounts) and leave (one in 50) between two checks; the
    second is a re-check with the first answers. What it costs each network is measured apart
    for the accounts the first check matched there and for those it left unmatched (each group
    re-checked on that network alone), then the whole list is re-checked as the extension
    does, for the arrivals found and the departures said."""
    size = len(first)
    changed = later(world, joins=max(3, size // 15), leaves=max(3, size // 50))
    net.change(changed)
    xs = x_accounts(world)
    appview = world.get("appview_host")
    out: dict[str, Any] = {}
    for n in ("bluesky", "mastodon"):
        held = [bool(r[n] and r[n]["level"] in PRESELECTED) for r in first]
        for group, want in (("matched", True), ("unmatched", False)):
            picked = [
                {**a, "previous": {m: r[m] for m in ("bluesky", "mastodon")}}
                for a, r, h in zip(xs, first, held, strict=True)
                if h == want
            ]
            # Twice: the first re-check after the scan, then the next one (a day later, the
            # first re-check's answers sent back, nobody arriving in between): the second is
            # what a list checked every day costs, once the answers carry what a batch needs.
            for round_ in ("first", "next"):
                start = len(net.control.paths)
                answers: list[dict[str, Any]] = []
                for i in range(0, len(picked), RECHECK_BATCH):
                    part = picked[i : i + RECHECK_BATCH]
                    body = {"accounts": part, "networks": [n], "recheck": True}
                    r = requests.post(f"{url}/api/resolve", json=body, timeout=600)
                    r.raise_for_status()
                    answers += r.json()["results"]
                paths = net.control.paths[start:]
                mine = [(h, p) for h, p in paths if (h == appview) == (n == "bluesky")]
                entry = {
                    "accounts": len(picked),
                    "requests": len(mine),
                    "per_account": round(len(mine) / max(1, len(picked)), 3),
                    "by_kind": {
                        k: round(v * max(1, len(picked)))
                        for k, v in by_kind(mine, max(1, len(picked))).items()
                        if v
                    },
                }
                if round_ == "first":
                    out.setdefault(n, {})[group] = entry
                else:
                    out[n][group]["next"] = entry
                picked = [
                    {**a, "previous": {m: r[m] for m in ("bluesky", "mastodon")}}
                    for a, r in zip(picked, answers, strict=True)
                ]
    accounts = [
        {**a, "previous": {n: r[n] for n in ("bluesky", "mastodon")}}
        for a, r in zip(xs, first, strict=True)
    ]
    start_paths = len(net.control.paths)
    results, _ = resolve_all(url, accounts, recheck=True)
    paths = net.control.paths[start_paths:]
    by = {r["handle"]: r for r in results}
    out.update(
        {
            "whole_list_requests": len(paths),
            "by_kind": {k: round(v * size) for k, v in by_kind(paths, size).items() if v},
            "arrivals": sum(len(g) for g in changed["arrived"].values()),
            "found_new": sum(
                1
                for h, got in changed["arrived"].items()
                for n, acct in got.items()
                if (by[h][n] or {}).get("new") and ident(n, by[h][n]) == acct
            ),
            "gone_said": sum(
                1
                for r in results
                for n in ("bluesky", "mastodon")
                for m in [r[n], *r["candidates"][n]]
                if (m or {}).get("gone")
            ),
            "left": sum(len(g) for g in changed["left"].values()),
        }
    )
    return out


def run_real(sample: int, latency: float, host_rate: float) -> dict[str, Any]:
    """The real X accounts of `tests/independent.py`, labelled by hand (not written by us),
    the peer approach run on the same accounts."""
    world = build_independent()
    if sample:
        world["accounts"] = world["accounts"][:sample]
    out = run_world(world, latency, host_rate, len(world["accounts"]))
    out["world"] = "real X accounts"
    return out


def run_world(
    world: dict[str, Any],
    latency: float,
    host_rate: float,
    peer_sample: int,
    recheck: bool = False,
) -> dict[str, Any]:
    accounts = x_accounts(world)
    size = len(accounts)
    net = Internet(world)
    net.control.latency = latency
    net.control.rate_limit = host_rate * 1.25  # the stand-ins refuse beyond this, with a 429
    tmp = Path(tempfile.mkdtemp(prefix="passerelle-bench-"))
    served = Served(
        service_env(
            net,
            tmp,
            PASSERELLE_HOST_RATE=str(host_rate),
            PASSERELLE_HOST_CONCURRENCY="8",
            PASSERELLE_TIMEOUT="10",
        )
    )
    out: dict[str, Any] = {"accounts": size}
    first: list[dict[str, Any]] = []
    try:
        for phase in ("cold", "warm"):
            before_hits, before_refused = net.control.total(), net.control.refused
            before_paths = len(net.control.paths)
            cpu0 = tree_cpu_seconds(served.proc.pid)
            start = time.monotonic()
            results, stats = resolve_all(served.url, accounts)
            first = first or results
            wall = time.monotonic() - start
            cpu = tree_cpu_seconds(served.proc.pid) - cpu0
            out[phase] = {
                "seconds": round(wall, 2),
                "ms_per_account": round(1000 * wall / size, 2),
                "upstream_requests": net.control.total() - before_hits,
                "requests_per_account": round((net.control.total() - before_hits) / size, 3),
                "requests_by_kind": by_kind(net.control.paths[before_paths:], size),
                "answered_429": net.control.refused - before_refused,
                "server_cpu_seconds": round(cpu, 2),
                "cpu_share": round(cpu / wall, 3) if wall else 0,
                "cache_hits": stats["cache_hits"],
                "errors": sum(1 for r in results if r["error"]),
                "quality": quality(world, results, ("bluesky", "mastodon")),
            }
        out["peak_rss_mb"] = round(tree_peak_rss_mb(served.proc.pid), 1)
        if recheck:
            out["recheck"] = run_recheck(net, served.url, world, first)
        if peer_sample:
            sample = accounts[:peer_sample]
            session = requests.Session()
            session.trust_env = False
            session.proxies = {"https": net.env["HTTPS_PROXY"]}
            session.verify = net.env["REQUESTS_CA_BUNDLE"]
            peer = Peer(session, "https://public.api.bsky.app")
            before = net.control.total()
            start = time.monotonic()
            results = peer.run(sample)
            wall = time.monotonic() - start
            out["peer"] = {
                "accounts": len(sample),
                "seconds": round(wall, 2),
                "ms_per_account": round(1000 * wall / len(sample), 2),
                "requests_per_account": round((net.control.total() - before) / len(sample), 3),
                "quality": quality(world, results, ("bluesky",)),
            }
    finally:
        served.stop()
        net.stop()
    return out


def run_scan(count: int, page_latency_ms: int) -> dict[str, Any]:
    """Time for the extension to scan `count` accounts, against the time the page itself needs
    to load them when scrolled to the end as fast as it allows."""
    from playwright.sync_api import sync_playwright

    import build_extension
    from tests.browser import extension_context
    from tests.standins.xcom import XCom, XList

    world = build_world(count, seed=7)
    accounts = x_accounts(world)
    out_dir = Path(tempfile.mkdtemp(prefix="passerelle-bench-ext-"))
    build_extension.build(("chrome",), "http://127.0.0.1:9", out_dir)
    xlist = XList("/owner/following", accounts, latency_ms=page_latency_ms)
    with sync_playwright() as p, extension_context(p, out_dir / "chrome") as (ctx, ext_id):
        XCom([xlist]).install(ctx)
        page = ctx.new_page()
        page.goto("https://x.com/owner/following")
        start = time.monotonic()
        while not page.evaluate("window.__xcomState().ended"):
            page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
            page.wait_for_timeout(20)
        page_only = time.monotonic() - start
        page.goto("https://x.com/owner/following")
        ext = ctx.new_page()
        ext.goto(f"chrome-extension://{ext_id}/pages/options.html")
        page.bring_to_front()
        start = time.monotonic()
        page.get_by_test_id("passerelle-scan").click()
        while True:
            # Only the state and the count cross over: copying the whole list out ten times a
            # second would slow the very scan it measures.
            state = ext.evaluate(
                "chrome.storage.local.get('scan:owner/following')"
                ".then(x => x['scan:owner/following'])"
                ".then(s => s && {state: s.state, read: s.order.length})"
            )
            if state and state["state"] != "scanning":
                break
            time.sleep(0.1)
        scan = time.monotonic() - start
    return {
        "accounts": count,
        "read": state["read"],
        "page_seconds": round(page_only, 2),
        "scan_seconds": round(scan, 2),
        "ratio": round(scan / page_only, 2),
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        f"latency {report['latency_ms']} ms per request, politeness {report['host_rate']} req/s "
        f"per host (stand-ins answer 429 beyond {report['host_rate'] * 1.25:g})",
        "",
        "| run | accounts | req/account | ms/account | 429s | CPU share | Bluesky P / R | "
        "fediverse P / R | false follows | vs peer |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    runs = [*report["sizes"], *([report["real"]] if report.get("real") else [])]
    for size in runs:
        peer = size.get("peer")
        label = " (real X accounts)" if size.get("world") else ""
        for phase in ("cold", "warm"):
            r = size[phase]
            q = r["quality"]
            ratio = (
                f"{peer['ms_per_account'] / r['ms_per_account']:.1f}× faster"
                if peer and r["ms_per_account"]
                else ""
            )
            lines.append(
                f"| Passerelle {phase}{label} | {size['accounts']:,} | "
                f"{r['requests_per_account']} | "
                f"{r['ms_per_account']} | {r['answered_429']} | {r['cpu_share']} | "
                f"{q['bluesky']['precision']} / {q['bluesky']['recall']} | "
                f"{q['mastodon']['precision']} / {q['mastodon']['recall']} | "
                f"{q['bluesky']['false_follows'] + q['mastodon']['false_follows']} | {ratio} |"
            )
        if peer:
            q = peer["quality"]["bluesky"]
            lines.append(
                f"| peer (Sky Follower Bridge's rules){label} | {peer['accounts']:,} | "
                f"{peer['requests_per_account']} | {peer['ms_per_account']} | | | "
                f"{q['precision']} / {q['recall']} | — | {q['false_follows']} | 1× |"
            )
    kinds = [
        k
        for k in (*KINDS, "other")
        if any(k in s["cold"].get("requests_by_kind", {}) for s in runs)
    ]
    if kinds:
        lines += [
            "",
            "upstream requests per account, cold, by kind:",
            "",
            "| accounts | " + " | ".join(kinds) + " |",
            "|---|" + "---|" * len(kinds),
        ]
        for size in runs:
            k = size["cold"].get("requests_by_kind", {})
            label = " real X" if size.get("world") else ""
            lines.append(
                f"| {size['accounts']:,}{label} | "
                + " | ".join(str(k.get(x, 0)) for x in kinds)
                + " |"
            )
    rechecks = [s for s in report["sizes"] if s.get("recheck")]
    if rechecks:
        lines += [
            "",
            "checking again, weeks later (1 in 15 arrived, 1 in 50 left; generated worlds),",
            "upstream requests per account, by network and by what the first check found",
            "(next: the re-check after that one, its answers sent back, as a daily check costs):",
            "",
            "| accounts | Bluesky, unmatched | Bluesky, matched | fediverse, unmatched | "
            "fediverse, matched | whole list, by kind | arrivals found, marked new | "
            "gone said / left |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for size in rechecks:
            rc = size["recheck"]
            cells = [
                f"{rc[n][g]['per_account']} ({rc[n][g]['requests']:,} / {rc[n][g]['accounts']:,})"
                + (f"; next {rc[n][g]['next']['per_account']}" if "next" in rc[n][g] else "")
                for n in ("bluesky", "mastodon")
                for g in ("unmatched", "matched")
            ]
            kinds = ", ".join(f"{k} {v:,}" for k, v in rc["by_kind"].items())
            lines.append(
                f"| {size['accounts']:,} | "
                + " | ".join(cells)
                + f" | {rc['whole_list_requests']:,}: {kinds} | {rc['found_new']} / "
                f"{rc['arrivals']} | {rc['gone_said']} / {rc['left']} |"
            )
    for size in report["sizes"]:
        lines.append(
            f"\nserver peak memory at {size['accounts']:,} accounts: {size['peak_rss_mb']} MB"
        )
    if report.get("scan"):
        s = report["scan"]
        lines.append(
            f"\nscan of {s['accounts']:,} accounts: {s['scan_seconds']} s, against "
            f"{s['page_seconds']} s for the page to load them ({s['ratio']}×); "
            f"{s['read']:,} read"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--sizes", default="500,2000,10000")
    p.add_argument("--latency", type=float, default=0.05, help="seconds per upstream request")
    p.add_argument(
        "--host-rate",
        type=float,
        default=40.0,
        help="requests per second per host, for both approaches",
    )
    p.add_argument(
        "--peer-sample",
        type=int,
        default=300,
        help="accounts the peer approach resolves (it is slow), at the first size",
    )
    p.add_argument(
        "--scan", type=int, default=2000, help="accounts for the scan benchmark (0: skip)"
    )
    p.add_argument(
        "--real",
        type=int,
        default=-1,
        help="real X accounts (tests/independent.py) to resolve too: -1 all, 0 none",
    )
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results.json"))
    args = p.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    report: dict[str, Any] = {
        "latency_ms": round(args.latency * 1000),
        "host_rate": args.host_rate,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "sizes": [],
    }
    for i, size in enumerate(sizes):
        sys.stderr.write(f"resolving {size:,} accounts…\n")
        report["sizes"].append(
            run_size(size, args.latency, args.host_rate, args.peer_sample if i == 0 else 0)
        )
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")  # keep what is done
    if args.real:
        sys.stderr.write("resolving the real X accounts…\n")
        report["real"] = run_real(max(args.real, 0), args.latency, args.host_rate)
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    if args.scan:
        sys.stderr.write(f"scanning {args.scan:,} accounts…\n")
        report["scan"] = run_scan(args.scan, page_latency_ms=150)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))


if __name__ == "__main__":
    main()
