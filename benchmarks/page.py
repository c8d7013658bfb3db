"""`python -m benchmarks.page`: the results page at 5,000 accounts, in the suite's Chromium with
the built extension: time until every row is in the page and painted, and time to apply a filter
(a search, a level, the suggestions only) and to answer one suggestion.

The list is generated (tests/e2e/seed_results.js: every second account on Bluesky, every fifth on
the fediverse, a third of the Bluesky matches `possible`): the figures measure the page, not the
matching. Prints a table and writes benchmarks/page_results.json; nothing asserts.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
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


def run(n: int = 5000, runs: int = RUNS) -> dict[str, Any]:
    out = Path(tempfile.mkdtemp(prefix="passerelle-page-bench-"))
    build_extension.build(("chrome",), "http://127.0.0.1:9", out)
    from playwright.sync_api import sync_playwright

    figures: dict[str, list[float]] = {
        "first screen painted (ms)": [],
        "first paint, all rows (ms)": [],
        "search one name (ms)": [],
        "level filter: possible (ms)": [],
        "clear the filters (ms)": [],
        "answer one suggestion (ms)": [],
    }
    with sync_playwright() as p, extension_context(p, out / "chrome") as (ctx, ext_id):
        seed = ctx.new_page()
        seed.goto(f"chrome-extension://{ext_id}/pages/options.html")
        seed.evaluate(SEED, n)
        url = f"chrome-extension://{ext_id}/pages/results.html?list=big/following"
        for _ in range(runs):
            page = ctx.new_page()
            page.goto(url)
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
                _timed(
                    page,
                    "document.querySelector('[data-testid=bluesky-accept]').click();",
                )
            )
            page.close()
    return {
        "rows": n,
        "runs": runs,
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "median": {k: round(statistics.median(v), 1) for k, v in figures.items()},
        "worst": {k: round(max(v), 1) for k, v in figures.items()},
        "when": time.strftime("%Y-%m-%d"),
    }


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
    p.add_argument("--runs", type=int, default=RUNS)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "page_results.json"))
    args = p.parse_args()
    r = run(args.rows, args.runs)
    Path(args.out).write_text(json.dumps(r, indent=1) + "\n")
    print(table(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
