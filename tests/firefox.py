"""Firefox ESR with the built extension, driven through Firefox's own Marionette protocol.

Playwright's Firefox cannot be installed here and has no way to install an add-on; geckodriver
has no package. Marionette is what geckodriver itself speaks: `firefox-esr --marionette` and the
`marionette_driver` client from PyPI. The extension is installed as a temporary add-on (an
unsigned build installs no other way), X's hosts go through a local proxy to the X imitation,
whose throw-away CA is trusted from the browser's chrome context. Everything else about the
browser is left as a user has it: in particular the event page's 30 s idle suspension
(`extensions.background.idle.timeout`), which is what the Firefox tests are about.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from tests.standins.tls import LocalCA

ADDON_ID = "passerelle@passerelle.social"

# A closed network: nothing of Mozilla's own is fetched, no DNS over HTTPS, no updates.
QUIET_PREFS: dict[str, Any] = {
    "app.update.enabled": False,
    "app.update.auto": False,
    "app.normandy.enabled": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.startup.page": 0,
    "browser.newtabpage.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "browser.safebrowsing.downloads.enabled": False,
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    "browser.region.network.url": "",
    "browser.region.update.enabled": False,
    "browser.search.update": False,
    "browser.topsites.contile.enabled": False,
    "browser.ping-centre.telemetry": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.server": "",
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.blocklist.enabled": False,
    "extensions.systemAddon.update.enabled": False,
    "media.gmp-manager.url": "",
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "network.dns.disablePrefetch": True,
    "network.prefetch-next": False,
    "network.trr.mode": 5,
    "services.settings.server": "http://127.0.0.1:9/",
    "security.OCSP.enabled": 0,
    "security.remote_settings.crlite_filters.enabled": False,
    "security.remote_settings.intermediates.enabled": False,
    "dom.push.enabled": False,
    "geo.provider.network.url": "",
    "identity.fxaccounts.enabled": False,
    "signon.rememberSignons": False,
    "devtools.selfxss.count": 5,
    "browser.tabs.warnOnClose": False,
    "browser.aboutwelcome.enabled": False,
    "trailhead.firstrun.didSeeAboutWelcome": True,
    "toolkit.startup.max_resumed_crashes": -1,
}


def firefox_path() -> str | None:
    for candidate in (
        os.environ.get("PASSERELLE_FIREFOX"),
        shutil.which("firefox-esr"),
        shutil.which("firefox"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prefs_js(prefs: dict[str, Any]) -> str:
    return "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items())


@dataclass
class FirefoxSession:
    """A running Firefox with the add-on; `base` is the add-on's moz-extension:// origin."""

    client: Any
    base: str

    def wait(self, fn: Any, what: str, timeout: float = 120) -> Any:
        """Polls `fn` until it returns something truthy; fails with `what` after `timeout`."""
        from tests.e2e.helpers import wait_for

        return wait_for(fn, timeout, what)

    def script(self, source: str, *args: Any) -> Any:
        """Runs `source` (a function body) in the current tab's page."""
        return self.client.execute_script(source, script_args=list(args))

    def handle_of(self, url_start: str) -> str | None:
        """The window handle of the tab whose address starts with `url_start`."""
        current = self.client.current_window_handle
        found = None
        for handle in self.client.window_handles:
            self.client.switch_to_window(handle)
            if self.client.get_url().startswith(url_start):
                found = handle
                break
        if found is None:
            self.client.switch_to_window(current)
        return found


@contextmanager
def firefox_with_extension(
    extension_dir: Path, ca: LocalCA, proxy_port: int, locale: str = "en-US"
) -> Iterator[FirefoxSession]:
    """Firefox ESR, headless, with the add-on from `extension_dir` installed (temporary), X's
    hosts sent to the proxy on `proxy_port` and `ca` trusted."""
    with warnings.catch_warnings():  # mozinfo, imported by the driver, calls a deprecated
        warnings.simplefilter("ignore", DeprecationWarning)  # distro function at import
        from marionette_driver.addons import Addons
        from marionette_driver.marionette import Marionette

    binary = firefox_path()
    if binary is None:
        raise RuntimeError("Firefox is not installed: run scripts/test-deps.sh (make test does)")
    profile = Path(tempfile.mkdtemp(prefix="passerelle-firefox-"))
    port = _free_port()
    addon_uuid = str(uuid.uuid4())
    prefs = {
        **QUIET_PREFS,
        "marionette.port": port,
        # Every HTTPS connection goes to the proxy, which tunnels X's hosts only; loopback
        # (the service) is never proxied (network.proxy.allow_hijacking_localhost is false).
        "network.proxy.type": 1,
        "network.proxy.ssl": "127.0.0.1",
        "network.proxy.ssl_port": proxy_port,
        "network.proxy.http": "127.0.0.1",
        "network.proxy.http_port": proxy_port,
        "network.proxy.share_proxy_settings": False,
        # A known origin for the add-on's pages (Firefox picks a random one per profile).
        "extensions.webextensions.uuids": json.dumps({ADDON_ID: addon_uuid}),
        "intl.locale.requested": locale,
        "intl.accept_languages": locale,
    }
    (profile / "user.js").write_text(_prefs_js(prefs))
    log = open(profile / "firefox.log", "w")  # noqa: SIM115 - closed in finally
    flags = [binary, "--headless", "--marionette", "-remote-allow-system-access", "--no-remote"]
    proc = subprocess.Popen(
        # System access: the test CA is trusted from the chrome context, which ESR 153 allows
        # only with this flag ("System access is required").
        [*flags, "--profile", str(profile)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "MOZ_HEADLESS": "1", "LANG": locale.replace("-", "_") + ".UTF-8"},
        start_new_session=True,
    )
    client = None
    try:
        client = Marionette(host="127.0.0.1", port=port, startup_timeout=120)
        client.start_session()
        der = ca.cert.public_bytes(serialization.Encoding.DER)
        with client.using_context(client.CONTEXT_CHROME):
            client.execute_script(
                """
                const db = Cc["@mozilla.org/security/x509certdb;1"].getService(Ci.nsIX509CertDB);
                db.addCertFromBase64(arguments[0], "C,,");
                """,
                script_args=[base64.b64encode(der).decode()],
            )
        Addons(client).install(str(extension_dir), temp=True)
        yield FirefoxSession(client=client, base=f"moz-extension://{addon_uuid}/")
    finally:
        if client is not None:
            with suppress(Exception):
                client.delete_session()
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
