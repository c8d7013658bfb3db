"""The Firefox build: Mozilla's linter passes with no error and no warning, and the add-on
installs in Firefox ESR (headless). Playwright cannot drive Firefox with an add-on here, so the
scanning itself is tested in Chromium (tests/e2e/), on the same code."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

import build_extension

ROOT = Path(__file__).resolve().parent.parent
WEB_EXT = ROOT / "tests/webext/node_modules/.bin/web-ext"


@pytest.fixture(scope="module")
def firefox_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not WEB_EXT.exists():
        pytest.fail("web-ext is not installed: run scripts/test-deps.sh (make test does)")
    out = tmp_path_factory.mktemp("dist")
    build_extension.build(("firefox",), "http://127.0.0.1:8765", out)
    return out / "firefox"


def test_web_ext_lint(firefox_build: Path) -> None:
    p = subprocess.run(
        [str(WEB_EXT), "lint", "-s", str(firefox_build), "--output", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    import json

    report = json.loads(p.stdout)
    assert p.returncode == 0, report
    assert report["summary"]["errors"] == 0, report["errors"]
    assert report["summary"]["warnings"] == 0, report["warnings"]


def test_installs_in_firefox_esr(firefox_build: Path, tmp_path: Path) -> None:
    firefox = shutil.which("firefox-esr") or shutil.which("firefox")
    if firefox is None:
        pytest.fail("Firefox is not installed: run scripts/test-deps.sh (make test does)")
    log = tmp_path / "web-ext.log"
    env = {**os.environ, "MOZ_HEADLESS": "1"}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                str(WEB_EXT),
                "run",
                "-s",
                str(firefox_build),
                f"--firefox={firefox}",
                "--no-input",
                "--no-reload",
                "--profile-create-if-missing",
                f"--firefox-profile={tmp_path / 'profile'}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 90
        while "as a temporary add-on" not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the add-on did not install:\n{log.read_text()}")
            time.sleep(0.3)
        assert f"Installed {firefox_build} as a temporary add-on" in log.read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
