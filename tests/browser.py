"""Chromium with the built extension loaded, as the end-to-end tests and benchmarks drive it.

Uses the system's Chromium (Debian's /usr/bin/chromium, installed by scripts/test-deps.sh);
on a machine without one, Playwright's own browser if `playwright install chromium` was run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Chromium must not dial out from a closed network, nor load anything but our extension.
QUIET_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-default-apps",
    "--no-default-browser-check",
    "--metrics-recording-only",
]


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("PASSERELLE_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None  # Playwright's own build, if it was installed


@contextmanager
def extension_context(
    playwright: Any,
    extension_dir: Path,
    locale: str = "en-US",
    viewport: tuple[int, int] = (1280, 1600),
    proxy: str | None = None,
) -> Iterator[tuple[Any, str]]:
    """A persistent context (extensions load only there) with the unpacked extension; yields
    the context and the extension's id.

    `proxy`: the stand-in internet's proxy, for pages the browser must load from it (a
    Mastodon server's consent page, opened by the extension in a new tab: Playwright's routing
    may attach to such a tab after its navigation started, and then the browser went out to
    the real network). Loopback addresses bypass it; its throw-away CA is accepted."""
    extra: dict[str, Any] = {}
    if proxy:
        # Playwright makes Chromium send even loopback through a proxy: the service is not there.
        bypass = "127.0.0.1,localhost,[::1]"
        extra = {"proxy": {"server": proxy, "bypass": bypass}, "ignore_https_errors": True}
        # …and the stand-in's throw-away CA accepted browser-wide from launch: Playwright sets
        # that per tab when it attaches, after a tab the extension opened may have loaded.
        stand_in_args = ["--ignore-certificate-errors"]
    else:
        stand_in_args = []
    user_data = tempfile.mkdtemp(prefix="passerelle-chromium-")
    ext = str(extension_dir)
    context = playwright.chromium.launch_persistent_context(
        user_data,
        executable_path=chromium_path(),
        headless=True,
        locale=locale,
        viewport={"width": viewport[0], "height": viewport[1]},
        args=[
            *QUIET_ARGS,
            f"--disable-extensions-except={ext}",
            f"--load-extension={ext}",
            f"--lang={locale}",
            *stand_in_args,
        ],
        env={**os.environ, "LANGUAGE": locale.replace("-", "_")},
        accept_downloads=True,
        **extra,
    )
    try:
        workers = context.service_workers
        worker = workers[0] if workers else context.wait_for_event("serviceworker", timeout=15000)
        ext_id = worker.url.split("/")[2]
        yield context, ext_id
    finally:
        context.close()
        shutil.rmtree(user_data, ignore_errors=True)
