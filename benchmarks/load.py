"""`python -m benchmarks.load`: many extension-like clients at once against several workers.

A hosted instance (an association's) is used by many members in the same evening, and their
follow lists overlap: the same newsrooms, unions and colleagues. This starts the stand-in
internet (a labelled world, a latency per request), a real `redis-server`, and
`passerelle serve --workers N` sharing it, then runs C clients on loopback for a bounded time.
Each client behaves like the extension: it takes one member's follow list (part from a popular
pool shared by everyone, part their own), sends it in batches of 100, one batch at a time, then
starts over as the next member. Each client has its own address (`X-Forwarded-For` behind one
trusted proxy), so the per-client rate limit applies as in production.

Prints throughput, latency percentiles and errors, and writes benchmarks/load_results.json.
Nothing here asserts: the figures go in the README with this command.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import Served, service_env, x_accounts  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402
from tests.standins.internet import Internet  # noqa: E402
from tests.standins.world import build_world  # noqa: E402

from .__main__ import tree_cpu_seconds, tree_peak_rss_mb  # noqa: E402

BATCH = 100


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    transport_errors: int = 0
    accounts: int = 0
    account_errors: int = 0
    lists_done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, status: int, accounts: int, errors: int) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status == 200:
                self.accounts += accounts
                self.account_errors += errors


def member_list(
    rng: random.Random, popular: list[dict[str, Any]], rest: list[dict[str, Any]], size: int
) -> list[dict[str, Any]]:
    """A follow list: about 60% from what everyone follows, the rest their own."""
    shared = rng.sample(popular, min(len(popular), int(size * 0.6)))
    own = rng.sample(rest, min(len(rest), size - len(shared)))
    chosen = shared + own
    rng.shuffle(chosen)
    return chosen


def client(
    n: int,
    url: str,
    popular: list[dict[str, Any]],
    rest: list[dict[str, Any]],
    deadline: float,
    tally: Tally,
    list_size: int,
) -> None:
    rng = random.Random(n)
    session = requests.Session()
    session.trust_env = False  # loopback, straight to the service
    headers = {"X-Forwarded-For": f"198.18.{n // 250}.{n % 250 + 1}"}
    while time.monotonic() < deadline:
        accounts = member_list(rng, popular, rest, list_size)
        for i in range(0, len(accounts), BATCH):
            if time.monotonic() >= deadline:
                return
            batch = accounts[i : i + BATCH]
            start = time.monotonic()
            try:
                r = session.post(
                    f"{url}/api/resolve", json={"accounts": batch}, headers=headers, timeout=300
                )
            except requests.RequestException:
                with tally.lock:
                    tally.transport_errors += 1
                continue
            took = time.monotonic() - start
            errors = 0
            if r.status_code == 200:
                errors = sum(1 for x in r.json()["results"] if x["error"])
            tally.add(took, r.status_code, len(batch), errors)
            if r.status_code == 429:
                time.sleep(float(r.headers.get("Retry-After", "1")))
        with tally.lock:
            tally.lists_done += 1


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def run(args: argparse.Namespace) -> dict[str, Any]:
    world = build_world(args.world, seed=4242)
    accounts = x_accounts(world)
    popular, rest = accounts[: args.popular], accounts[args.popular :]
    net = Internet(world)
    net.control.latency = args.latency
    net.control.rate_limit = args.host_rate * 1.25  # the stand-ins refuse beyond this (429)
    redis = RedisServer()
    tmp = Path(tempfile.mkdtemp(prefix="passerelle-load-"))
    served = Served(
        service_env(
            net,
            tmp,
            PASSERELLE_CACHE_URL=redis.url,
            PASSERELLE_TRUSTED_PROXIES="1",
            PASSERELLE_HOST_RATE=str(args.host_rate),
            PASSERELLE_HOST_CONCURRENCY="8",
        ),
        workers=args.workers,
    )
    tally = Tally()
    try:
        cpu0 = tree_cpu_seconds(served.proc.pid)
        start = time.monotonic()
        deadline = start + args.seconds
        threads = [
            threading.Thread(
                target=client,
                args=(n, served.url, popular, rest, deadline, tally, args.list_size),
                daemon=True,
            )
            for n in range(args.clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(args.seconds + 330)
        wall = time.monotonic() - start
        cpu = tree_cpu_seconds(served.proc.pid) - cpu0
        peak = tree_peak_rss_mb(served.proc.pid)
    finally:
        served.stop()
        redis.stop()
        net.stop()
    requests_done = sum(tally.statuses.values())
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "clients": args.clients,
        "workers": args.workers,
        "seconds": round(wall, 1),
        "world": args.world,
        "latency_ms": round(args.latency * 1000),
        "requests": requests_done,
        "requests_per_second": round(requests_done / wall, 2),
        "accounts_per_second": round(tally.accounts / wall, 1),
        "lists_done": tally.lists_done,
        "latency_s": {
            "p50": round(percentile(tally.latencies, 50), 3),
            "p90": round(percentile(tally.latencies, 90), 3),
            "p99": round(percentile(tally.latencies, 99), 3),
            "max": round(max(tally.latencies, default=0.0), 3),
            "mean": round(statistics.fmean(tally.latencies), 3) if tally.latencies else 0.0,
        },
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "transport_errors": tally.transport_errors,
        "server_errors": sum(v for k, v in tally.statuses.items() if k >= 500),
        "accounts_with_upstream_error": tally.account_errors,
        "upstream_requests": net.control.total(),
        "upstream_requests_per_account": round(net.control.total() / max(1, tally.accounts), 3),
        "answered_429_upstream": net.control.refused,
        "server_cpu_share": round(cpu / wall, 3) if wall else 0.0,
        "server_peak_rss_mb_per_process": round(peak, 1),
    }


def table(r: dict[str, Any]) -> str:
    lat = r["latency_s"]
    return "\n".join(
        [
            f"{r['clients']} clients, {r['workers']} workers, {r['seconds']} s, "
            f"upstream latency {r['latency_ms']} ms, world of {r['world']:,} accounts "
            f"({r['machine']})",
            "",
            "| requests | req/s | accounts/s | p50 | p90 | p99 | max | 5xx | transport errors "
            "| 429 | accounts with upstream error | upstream req/account |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
            f"| {r['requests']:,} | {r['requests_per_second']} | {r['accounts_per_second']} "
            f"| {lat['p50']} s | {lat['p90']} s | {lat['p99']} s | {lat['max']} s "
            f"| {r['server_errors']} | {r['transport_errors']} | {r['statuses'].get('429', 0)} "
            f"| {r['accounts_with_upstream_error']} | {r['upstream_requests_per_account']} |",
        ]
    )


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    p.add_argument("--clients", type=int, default=40)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--seconds", type=float, default=60.0, help="how long the clients run")
    p.add_argument("--world", type=int, default=5000, help="accounts in the labelled world")
    p.add_argument("--popular", type=int, default=600, help="accounts everyone follows some of")
    p.add_argument("--list-size", type=int, default=400, help="accounts per member's list")
    p.add_argument("--latency", type=float, default=0.05, help="seconds per upstream request")
    p.add_argument("--host-rate", type=float, default=40.0)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "load_results.json"))
    args = p.parse_args()
    report = run(args)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))


if __name__ == "__main__":
    main()
