"""Shared fixtures: the labelled world, the stand-in internet, and apps pointed at it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.envvars import patched
from tests.standins.internet import Internet

DATA = Path(__file__).resolve().parent / "data"
TESTS = Path(__file__).resolve().parent
# Modules outside tests/e2e/ that drive a real browser.
BROWSER_MODULES = {"test_scanner.py", "test_firefox.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that drives a browser is `e2e`, wherever it lives: `make check` leaves them
    out (`-m "not e2e and not devenv"`)."""
    for item in items:
        path = Path(str(item.fspath))
        if TESTS / "e2e" in path.parents or path.name in BROWSER_MODULES:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session", autouse=True)
def own_state_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each test process its own state folder (follow progress, leases): two workers of the
    parallel run never share one, as two users on one machine would not. And every service or
    command the tests start may ask the stand-ins fast: their politeness (10 requests a second
    per host) protects real servers, not ours, and cost a second per CLI run; the tests of
    politeness and the benchmarks set their own rate."""
    state = str(tmp_path_factory.mktemp("state"))
    with patched({"XDG_STATE_HOME": state, "PASSERELLE_HOST_RATE": "1000"}):
        yield


@pytest.fixture(scope="session")
def eval_world() -> dict[str, Any]:
    return json.loads((DATA / "eval_set.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def internet(eval_world: dict[str, Any]) -> Iterator[Internet]:
    """The stand-in internet, reached like the real one: through HTTPS_PROXY and a trusted CA."""
    net = Internet(eval_world)
    try:
        with patched(net.env):
            yield net
    finally:
        net.stop()


@pytest.fixture
def clean_internet(internet: Internet) -> Iterator[Internet]:
    internet.control.clear()
    internet.control.latency = 0.0
    yield internet
    internet.control.clear()


def app_config(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    config = {
        "PASSERELLE_CACHE_URL": f"sqlite:///{tmp_path}/cache.sqlite3",
        "PASSERELLE_HOST_RATE": "1000",
        "PASSERELLE_HOST_CONCURRENCY": "16",
        "PASSERELLE_TIMEOUT": "5",
        "PASSERELLE_RETRIES": "1",
    }
    config.update({k: str(v) for k, v in extra.items()})
    return config


@pytest.fixture
def make_app(tmp_path: Path, clean_internet: Internet) -> Any:
    from server import create_app

    apps = []

    def factory(**extra: Any) -> Any:
        app = create_app(app_config(tmp_path, **extra))
        app.testing = True
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.extensions["passerelle.resolver"].close()
        app.extensions["passerelle.cache"].close()


def steady_window(margin: float = 15.0) -> None:
    """Start a rate-limit test early in a one-minute window, so its counts are not reset by a
    new window halfway through."""
    import time

    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.05)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """`passerelle serve` running as a subprocess, with its output kept for failure messages.

    The output goes to a temporary file that lives as long as the server: `stop()` closes and
    removes it, keeping its text for `output()`.
    """

    def __init__(self, env: dict[str, str], workers: int = 1) -> None:
        import subprocess
        import sys
        import tempfile
        import time
        import urllib.request

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._final_output: str | None = None
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed by stop())
            prefix="passerelle-serve-", suffix=".log", delete=False
        )
        bin_dir = Path(sys.executable).parent
        self.proc = subprocess.Popen(
            [
                str(bin_dir / "passerelle"),
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.url + "/api/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"passerelle serve did not start:\n{self.output()}")
            time.sleep(0.1)

    def output(self) -> str:
        if self._final_output is not None:
            return self._final_output
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except Exception:
                self.proc.kill()
                self.proc.wait(10)
        if self._final_output is None:
            self._final_output = self.output()
            self.log.close()
            Path(self.log.name).unlink(missing_ok=True)


def service_env(internet: Internet, tmp: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(internet.env)
    env.update(app_config(tmp))
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def served(internet: Internet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The real service on gunicorn, reaching the stand-in internet through the proxy."""
    tmp = tmp_path_factory.mktemp("served")
    s = Served(service_env(internet, tmp))
    try:
        yield s
    finally:
        s.stop()


def post_json(url: str, body: Any, timeout: float = 120) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def x_accounts(world: dict[str, Any]) -> list[dict[str, Any]]:
    """The accounts as the extension sends them (the labels stripped)."""
    keys = ("handle", "name", "bio", "url", "links", "id", "follows_you")
    return [{k: a[k] for k in keys} for a in world["accounts"]]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """One Playwright driver for the session (its sync API allows one per thread)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p
