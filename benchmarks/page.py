"""`python -m benchmarks.page`: the results page at 5,000 accounts, in the suite's Chromium with
the built extension: time until every row is in the page and painted, and time to apply a filter
(a search, a level, the suggestions only) and to answer one suggestion.

The list is generated (tests/e2e/seed_results.js: every second account on Bluesky, every fifth on
the fediverse, a third of the Bluesky matches `possible`): the figures measure the page, not the
matching. Prints a table and writes benchmarks/page_results.json; nothing asserts.

`--against REV` measures the page of an earlier git revision beside today's, in paired runs
(benchmarks/page_against.json): how a change to the page moved its figures.
"""

from __future__ import annotations

import io
import json
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import build_extension  # noqa: E402
from tests.browser import extension_context  # noqa: E402

SEED = (ROOT / "tests" / "e2e" / "seed_results.js").read_text(encoding="utf-8")
RUNS = 5

# Wall time in the page, from a change to the next frame painted after it.
TIMED = """async ([setup, expected]) => {
  const t0 = performance.now();
  %s
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  return performance.now() - t0;
}"""


def _until_painted(page: Any, n: int) -> float:
    """From navigation start to the first frame painted with all `n` rows in the document."""
    return float(
        page.evaluate(
            """async (n) => {
              while (document.querySelectorAll('[data-testid=row]').length < n) {
                await new Promise((r) => setTimeout(r, 5));
              }
              await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
              return performance.now();
            }""",
            n,
        )
    )


def _timed(page: Any, action: str) -> float:
    return float(page.evaluate(TIMED % action, [None, None]))


FIGURES = (
    "first screen painted (ms)",
    "first paint, all rows (ms)",
    "search one name (ms)",
    "level filter: possible (ms)",
    "clear the filters (ms)",
    "answer one suggestion (ms)",
)


def _measure(ctx: Any, ext_id: str, n: int, figures: dict[str, list[float]]) -> None:
    """One load of the results page and each change, in a fresh tab."""
    page = ctx.new_page()
    page.goto(f"chrome-extension://{ext_id}/pages/results.html?list=big/following")
    figures["first screen painted (ms)"].append(_until_painted(page, min(n, 20)))
    figures["first paint, all rows (ms)"].append(_until_painted(page, n))
    figures["search one name (ms)"].append(
        _timed(
            page,
            "const s = document.getElementById('search'); s.value = 'user4999';"
            " s.dispatchEvent(new Event('input'));",
        )
    )
    figures["level filter: possible (ms)"].append(
        _timed(
            page,
            "const s = document.getElementById('search'); s.value = '';"
            " const l = document.getElementById('level'); l.value = 'possible';"
            " l.dispatchEvent(new Event('change'));",
        )
    )
    figures["clear the filters (ms)"].append(
        _timed(
            page,
            "const l = document.getElementById('level'); l.value = '';"
            " l.dispatchEvent(new Event('change'));",
        )
    )
    figures["answer one suggestion (ms)"].append(
        _timed(page, "document.querySelector('[data-testid=bluesky-accept]').click();")
    )
    page.close()


def _seeded(ctx: Any, ext_id: str, n: int) -> None:
    seed = ctx.new_page()
    seed.goto(f"chrome-extension://{ext_id}/pages/options.html")
    seed.evaluate(SEED, n)
    seed.close()


def run(n: int = 5000, runs: int = RUNS) -> dict[str, Any]:
    out = Path(tempfile.mkdtemp(prefix="passerelle-page-bench-"))
    build_extension.build(("chrome",), "http://127.0.0.1:9", out)
    from playwright.sync_api import sync_playwright

    figures: dict[str, list[float]] = {k: [] for k in FIGURES}
    with sync_playwright() as p, extension_context(p, out / "chrome") as (ctx, ext_id):
        _seeded(ctx, ext_id, n)
        for _ in range(runs):
            _measure(ctx, ext_id, n, figures)
    return {
        "rows": n,
        "runs": runs,
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "median": {k: round(statistics.median(v), 1) for k, v in figures.items()},
        "worst": {k: round(max(v), 1) for k, v in figures.items()},
        "when": time.strftime("%Y-%m-%d"),
    }


def against(rev: str, n: int = 5000, runs: int = 12) -> dict[str, Any]:
    """The page of git revision `rev` against today's, each in its own browser, measured in
    turn (alternating which goes first) so that both meet the same load of a shared machine:
    on two cores, unpaired runs a few minutes apart differ by 20%, more than the 10% this
    comparison is for."""
    from playwright.sync_api import sync_playwright

    out = Path(tempfile.mkdtemp(prefix="passerelle-page-ab-"))
    archive = subprocess.run(
        ["git", "archive", rev, "extension"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(out / "then", filter="data")
    url = build_extension.check_server_url("http://127.0.0.1:9")
    version = build_extension.project_version()
    then_source = out / "then" / "extension"
    build_extension.build_one("chrome", url, out / "then-build", version, then_source)
    build_extension.build_one("chrome", url, out / "now-build", version)
    figures: dict[str, dict[str, list[float]]] = {
        side: {k: [] for k in FIGURES} for side in (rev, "now")
    }
    with (
        sync_playwright() as p,
        extension_context(p, out / "then-build" / "chrome") as then,
        extension_context(p, out / "now-build" / "chrome") as now,
    ):
        sides = {rev: then, "now": now}
        for ctx, ext_id in sides.values():
            _seeded(ctx, ext_id, n)
        for i in range(runs):
            for side in (rev, "now") if i % 2 == 0 else ("now", rev):
                _measure(*sides[side], n, figures[side])
    medians = {side: {k: statistics.median(v) for k, v in f.items()} for side, f in figures.items()}
    return {
        "rows": n,
        "runs": runs,
        "against": rev,
        "median": {side: {k: round(v, 1) for k, v in m.items()} for side, m in medians.items()},
        "ratio": {k: round(medians["now"][k] / medians[rev][k], 3) for k in FIGURES},
        "when": time.strftime("%Y-%m-%d"),
    }


def against_table(r: dict[str, Any]) -> str:
    rev = r["against"]
    head = f"results page, {r['rows']:,} rows, {r['runs']} paired runs"
    lines = [f"| {head} | {rev} | now | now ÷ {rev} |", "|---|---|---|---|"]
    for k in FIGURES:
        then, now = r["median"][rev][k], r["median"]["now"][k]
        lines.append(f"| {k} | {then:,.1f} | {now:,.1f} | {r['ratio'][k]:.2f} |")
    return "\n".join(lines)


def table(r: dict[str, Any]) -> str:
    lines = [
        f"| results page, {r['rows']:,} rows ({r['runs']} runs) | median | worst |",
        "|---|---|---|",
    ]
    for k in r["median"]:
        lines.append(f"| {k} | {r['median'][k]:,.1f} | {r['worst'][k]:,.1f} |")
    return "\n".join(lines)


def main() -> int:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=5000)
    p.add_argument("--runs", type=int, default=None, help=f"default {RUNS}, or 12 with --against")
    p.add_argument(
        "--against",
        metavar="REV",
        help="compare with the results page of this git revision, in paired runs "
        "(writes benchmarks/page_against.json)",
    )
    p.add_argument("--out", default=None)
    args = p.parse_args()
    if args.against:
        r = against(args.against, args.rows, args.runs or 12)
        out = args.out or str(ROOT / "benchmarks" / "page_against.json")
        Path(out).write_text(json.dumps(r, indent=1) + "\n")
        print(against_table(r))
        return 0
    r = run(args.rows, args.runs or RUNS)
    Path(args.out or str(ROOT / "benchmarks" / "page_results.json")).write_text(
        json.dumps(r, indent=1) + "\n"
    )
    print(table(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
