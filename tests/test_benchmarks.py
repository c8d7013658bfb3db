"""`python -m benchmarks` keeps working (a small run; the figures themselves are for the README,
never asserted as timings)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_small_run(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--sizes",
            "60",
            "--peer-sample",
            "15",
            "--scan",
            "60",
            "--latency",
            "0.005",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    report = json.loads(out.read_text())
    [size] = report["sizes"]
    for phase in ("cold", "warm"):
        run = size[phase]
        assert run["errors"] == 0
        assert run["quality"]["bluesky"]["precision"] >= 0.995
    assert size["warm"]["upstream_requests"] == 0
    assert size["peer"]["accounts"] == 15
    assert report["scan"]["read"] == 60
    assert "| Passerelle cold | 60 |" in p.stdout and "| peer" in p.stdout
