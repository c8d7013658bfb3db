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
    # Answers that came after the window: not in the figures, but they must be right too.
    late_statuses: dict[int, int] = field(default_factory=dict)
    late_account_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_late(self, status: int, errors: int) -> None:
        with self.lock:
            self.late_statuses[status] = self.late_statuses.get(status, 0) + 1
            self.late_account_errors += errors

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
                    f"{url}/api/resolve", json={"accounts": batch}, headers=headers, timeout=600
                )
            except requests.RequestException:
                with tally.lock:
                    tally.transport_errors += 1
                continue
            errors = 0
            if r.status_code == 200:
                errors = sum(1 for x in r.json()["results"] if x["error"])
            if time.monotonic() > deadline:
                tally.add_late(r.status_code, errors)  # not in the window's figures
                return
            tally.add(time.monotonic() - start, r.status_code, len(batch), errors)
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


def phase(
    name: str,
    args: argparse.Namespace,
    served: Served,
    net: Internet,
    popular: list[dict[str, Any]],
    rest: list[dict[str, Any]],
) -> dict[str, Any]:
    """C clients for a bounded time; figures count what completed inside the window, then the
    phase waits for requests still running so the next phase starts on an idle service."""
    sys.stderr.write(f"{name}: {args.clients} clients for {args.seconds:.0f} s…\n")
    tally = Tally()
    upstream0, refused0 = net.control.total(), net.control.refused
    cpu0, harness0 = tree_cpu_seconds(served.proc.pid), time.process_time()
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
    time.sleep(args.seconds)
    cpu = tree_cpu_seconds(served.proc.pid) - cpu0
    harness = time.process_time() - harness0
    upstream = net.control.total() - upstream0
    in_flight = sum(t.is_alive() for t in threads)
    for t in threads:
        t.join(650)
    window = args.seconds
    done = sum(tally.statuses.values())
    lat = tally.latencies
    return {
        "phase": name,
        "requests": done,
        "in_flight_at_end": in_flight,
        "requests_per_second": round(done / window, 2),
        "accounts_per_second": round(tally.accounts / window, 1),
        "latency_s": {
            "p50": round(percentile(lat, 50), 3),
            "p90": round(percentile(lat, 90), 3),
            "p99": round(percentile(lat, 99), 3),
            "max": round(max(lat, default=0.0), 3),
            "mean": round(statistics.fmean(lat), 3) if lat else 0.0,
        },
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "finished_after_window": sum(tally.late_statuses.values()),
        "statuses_after_window": {str(k): v for k, v in sorted(tally.late_statuses.items())},
        "accounts_with_upstream_error_after_window": tally.late_account_errors,
        "transport_errors": tally.transport_errors,
        "server_errors": sum(v for k, v in tally.statuses.items() if k >= 500),
        "accounts_with_upstream_error": tally.account_errors,
        "upstream_requests": upstream,
        "upstream_requests_per_second": round(upstream / window, 1),
        "answered_429_upstream": net.control.refused - refused0,
        "server_cpu_share": round(cpu / window, 3),
        "harness_cpu_share": round(harness / window, 3),
    }


def prefill(url: str, accounts: list[dict[str, Any]]) -> None:
    """Everyone's lists already looked up once, as after an instance's first evening."""
    sys.stderr.write(f"filling the cache with {len(accounts):,} accounts…\n")
    session = requests.Session()
    session.trust_env = False
    batches = [accounts[i : i + BATCH] for i in range(0, len(accounts), BATCH)]

    def one(k: int) -> None:
        for b in batches[k::8]:
            session.post(
                f"{url}/api/resolve",
                json={"accounts": b},
                headers={"X-Forwarded-For": f"198.19.0.{k + 1}"},
                timeout=600,
            ).raise_for_status()

    threads = [threading.Thread(target=one, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


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
            PASSERELLE_HOST_CONCURRENCY=str(args.host_concurrency),
        ),
        workers=args.workers,
    )
    try:
        cold = phase("cold", args, served, net, popular, rest)
        prefill(served.url, accounts)
        warm = phase("warm", args, served, net, popular, rest)
        peak = tree_peak_rss_mb(served.proc.pid)
    finally:
        served.stop()
        redis.stop()
        net.stop()
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "clients": args.clients,
        "workers": args.workers,
        "seconds": args.seconds,
        "world": args.world,
        "latency_ms": round(args.latency * 1000),
        "host_rate": args.host_rate,
        "host_concurrency": args.host_concurrency,
        "phases": [cold, warm],
        "server_peak_rss_mb_per_process": round(peak, 1),
    }


def table(r: dict[str, Any]) -> str:
    lines = [
        f"{r['clients']} clients, {r['workers']} workers, {r['seconds']:.0f} s per phase, "
        f"upstream latency {r['latency_ms']} ms, politeness {r['host_rate']} req/s and "
        f"{r['host_concurrency']} in flight per host, world of {r['world']:,} accounts "
        f"({r['machine']})",
        "",
        "| cache | requests | req/s | accounts/s | p50 | p90 | p99 | max | 5xx "
        "| transport errors | 429 from the service | accounts with upstream error "
        "| upstream req/s | 429 from upstream | server CPU | harness CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ph in r["phases"]:
        lat = ph["latency_s"]
        lines.append(
            f"| {ph['phase']} | {ph['requests']:,} | {ph['requests_per_second']} "
            f"| {ph['accounts_per_second']} | {lat['p50']} s | {lat['p90']} s | {lat['p99']} s "
            f"| {lat['max']} s | {ph['server_errors']} | {ph['transport_errors']} "
            f"| {ph['statuses'].get('429', 0)} | {ph['accounts_with_upstream_error']} "
            f"| {ph['upstream_requests_per_second']} | {ph['answered_429_upstream']} "
            f"| {ph['server_cpu_share']} | {ph['harness_cpu_share']} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    p.add_argument("--clients", type=int, default=40)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--seconds", type=float, default=45.0, help="how long each phase runs")
    p.add_argument("--world", type=int, default=3000, help="accounts in the labelled world")
    p.add_argument("--popular", type=int, default=600, help="accounts everyone follows some of")
    p.add_argument("--list-size", type=int, default=400, help="accounts per member's list")
    p.add_argument("--latency", type=float, default=0.05, help="seconds per upstream request")
    p.add_argument("--host-rate", type=float, default=40.0, help="per host, all workers together")
    p.add_argument("--host-concurrency", type=int, default=16)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "load_results.json"))
    args = p.parse_args()
    report = run(args)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))


if __name__ == "__main__":
    main()
