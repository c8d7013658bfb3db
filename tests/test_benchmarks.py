"""`python -m benchmarks` keeps working (a small run; the figures themselves are for the README,
never asserted as timings)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_module(module: str, options: str, out: Path) -> tuple[dict[str, Any], str]:
    """Run `python -m MODULE OPTIONS --out OUT`; its JSON report and what it printed."""
    p = subprocess.run(
        [sys.executable, "-m", module, *options.split(), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(out.read_text()), p.stdout


@pytest.mark.e2e  # its scan drives Chromium with the built extension
def test_small_run(tmp_path: Path) -> None:
    report, stdout = run_module(
        "benchmarks",
        "--sizes 60 --peer-sample 15 --scan 60 --latency 0.005 --real 40",
        tmp_path / "results.json",
    )
    [size] = report["sizes"]
    for phase in ("cold", "warm"):
        run = size[phase]
        assert run["errors"] == 0
        assert run["quality"]["bluesky"]["precision"] >= 0.995
    assert size["warm"]["upstream_requests"] == 0
    # Where the cost goes: every request counted under one kind, and shown.
    kinds = size["cold"]["requests_by_kind"]
    assert kinds["search"] > 0 and kinds["profiles"] > 0 and kinds["look-ups"] > 0
    assert abs(sum(kinds.values()) - size["cold"]["requests_per_account"]) < 0.02
    assert "by kind" in stdout
    assert size["peer"]["accounts"] == 15
    assert report["scan"]["read"] == 60
    # 60 accounts of the mix, then the families of time (issue #20).
    assert size["accounts"] == 80
    assert "| Passerelle cold | 80 |" in stdout and "| peer" in stdout
    # Checked again weeks later (issue #21): every arrival found and marked new.
    rc = size["recheck"]
    assert rc["arrivals"] >= 3 and rc["found_new"] == rc["arrivals"], rc
    assert rc["gone_said"] == rc["left"], rc
    assert "checking again, weeks later" in stdout
    # The second yardstick: real X accounts, beside the peer approach on the same accounts.
    real = report["real"]
    assert real["accounts"] == 40 and real["peer"]["accounts"] == 40
    assert real["cold"]["errors"] == 0 and real["cold"]["quality"]["bluesky"]["false_follows"] == 0
    assert "| Passerelle cold (real X accounts) | 40 |" in stdout


def test_small_load_run(tmp_path: Path) -> None:
    """`python -m benchmarks.load` keeps working: a few clients, two workers, a few seconds."""
    report, stdout = run_module(
        "benchmarks.load",
        "--clients 3 --workers 2 --seconds 2 --world 300 --popular 80 --list-size 120"
        " --latency 0.005 --host-rate 1000",
        tmp_path / "load.json",
    )
    cold, warm = report["phases"]
    for ph in (cold, warm):
        # How many finish inside the window depends on the machine; that every answer, in
        # the window or after it, is complete and right does not.
        answered = ph["requests"] + ph["finished_after_window"]
        assert answered > 0
        assert ph["statuses"].get("200", 0) == ph["requests"]
        assert ph["statuses_after_window"].get("200", 0) == ph["finished_after_window"]
        assert ph["server_errors"] == 0 and ph["transport_errors"] == 0
        assert ph["accounts_with_upstream_error"] == 0
        assert ph["accounts_with_upstream_error_after_window"] == 0
        if ph["requests"]:
            lat = ph["latency_s"]
            assert 0 < lat["p50"] <= lat["p99"] <= lat["max"]
    assert warm["upstream_requests"] == 0  # everything was in the shared cache
    assert "| cold |" in stdout and "| warm |" in stdout


@pytest.mark.e2e  # the results page, in Chromium
def test_small_page_run(tmp_path: Path) -> None:
    """`python -m benchmarks.page` keeps working: the results page at 300 rows, twice."""
    report, stdout = run_module("benchmarks.page", "--rows 300 --runs 2", tmp_path / "page.json")
    assert report["rows"] == 300 and report["runs"] == 2
    assert all(v > 0 for v in report["median"].values())
    assert "| first paint, all rows (ms) |" in stdout
    # …and its comparison with an earlier page (here the committed one), in paired runs.
    report, stdout = run_module(
        "benchmarks.page", "--rows 300 --runs 2 --against HEAD", tmp_path / "against.json"
    )
    assert report["against"] == "HEAD" and set(report["median"]) == {"HEAD", "now"}
    assert all(v > 0 for v in report["ratio"].values())
    assert "| answer one suggestion (ms) |" in stdout


def test_published_figures_are_the_recorded_ones() -> None:
    """docs/benchmarks.md shows the tables of the last full runs, as the commands printed them
    (their JSON reports are kept beside the code): a new run means new pages."""
    from benchmarks import load
    from benchmarks import page as results_page
    from benchmarks.__main__ import table

    page = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    for render, report in (
        (table, "benchmarks/results.json"),
        (load.table, "benchmarks/load_results.json"),
        (results_page.table, "benchmarks/page_results.json"),
        (results_page.against_table, "benchmarks/page_against.json"),
    ):
        recorded = render(json.loads((ROOT / report).read_text(encoding="utf-8")))
        assert recorded in page, f"docs/benchmarks.md does not show {report}:\n{recorded}"
