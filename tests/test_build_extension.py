"""The extension builder: both manifests from one template, locales, deterministic packages,
and clear errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import build_extension
from server.core.extension_id import CHROME_ID, chrome_id

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build_extension.build(("chrome", "firefox"), "https://passerelle.example.org:8443", out)
    return out


def manifest(out: Path, browser: str) -> dict:
    return json.loads((out / browser / "manifest.json").read_text(encoding="utf-8"))


def test_chrome_manifest(built: Path) -> None:
    m = manifest(built, "chrome")
    assert m["manifest_version"] == 3
    assert m["background"] == {"service_worker": "background.js"}
    assert "browser_specific_settings" not in m
    assert m["version"] == build_extension.project_version()
    assert m["default_locale"] == "en"
    assert "https://passerelle.example.org:8443/*" in m["host_permissions"]
    for host in ("https://x.com/*", "https://twitter.com/*"):
        assert host in m["host_permissions"]
    # Nothing broader: no tabs, no activeTab; alarms wake a suspended background mid-resolve.
    assert m["permissions"] == ["storage", "alarms", "notifications"]
    assert set(m["host_permissions"]) == {
        "https://x.com/*",
        "https://twitter.com/*",
        "https://passerelle.example.org:8443/*",
    }
    for script in m["content_scripts"]:
        assert script["matches"] == ["https://x.com/*", "https://twitter.com/*"]
    hook, scan = m["content_scripts"]
    assert hook["world"] == "MAIN" and hook["run_at"] == "document_start"
    assert scan["js"][0] == "content/selectors.js"
    # A fixed ID: the one Chrome extension origin the service admits. That Chromium gives
    # this very ID to the build is checked where it loads it (tests/e2e/test_extension.py).
    assert chrome_id(m["key"]) == CHROME_ID == "mlhdekkjkneboboingmbaenbkhfehnhh"


def test_firefox_manifest(built: Path) -> None:
    m = manifest(built, "firefox")
    assert m["background"] == {"scripts": ["config.js", "background.js"]}
    assert "key" not in m  # Firefox's ID is in browser_specific_settings
    gecko = m["browser_specific_settings"]["gecko"]
    assert gecko["id"] and re.match(r"^\d+\.\d+$", gecko["strict_min_version"])
    chrome = manifest(built, "chrome")
    for key in ("name", "version", "permissions", "host_permissions", "content_scripts", "action"):
        assert m[key] == chrome[key]


def test_every_file_and_message_is_there(built: Path) -> None:
    for browser in ("chrome", "firefox"):
        folder = built / browser
        m = manifest(built, browser)
        referenced = [
            *m["content_scripts"][0]["js"],
            *m["content_scripts"][1]["js"],
            m["action"]["default_popup"],
            m["options_ui"]["page"],
            *m["icons"].values(),
        ]
        for rel in referenced:
            assert (folder / rel).is_file(), rel
        assert not list(folder.rglob("*.j2"))
        config = (folder / "config.js").read_text()
        assert '"https://passerelle.example.org:8443"' in config


def test_locales_match_and_cover_every_key_used() -> None:
    en = json.loads((ROOT / "extension/_locales/en/messages.json").read_text(encoding="utf-8"))
    fr = json.loads((ROOT / "extension/_locales/fr/messages.json").read_text(encoding="utf-8"))
    assert set(en) == set(fr)
    used = set()
    for path in (ROOT / "extension").rglob("*"):
        if path.suffix in (".js", ".html", ".j2"):
            text = path.read_text(encoding="utf-8")
            used |= set(re.findall(r"""\bt\(['"](\w+)['"]""", text))
            used |= set(re.findall(r'data-i18n(?:-placeholder|-title)?="(\w+)"', text))
            used |= set(re.findall(r"__MSG_(\w+)__", text))
    assert used <= set(en), used - set(en)
    for key in en:
        assert en[key]["message"].count("$") == fr[key]["message"].count("$"), key
        assert fr[key]["message"] != "" and en[key]["message"] != ""


def test_packages_are_byte_identical(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    build_extension.build(("chrome", "firefox"), "http://127.0.0.1:8765", a)
    build_extension.build(("chrome", "firefox"), "http://127.0.0.1:8765", b)
    for name in ("passerelle-chrome.zip", "passerelle-firefox.xpi"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    with zipfile.ZipFile(a / "passerelle-firefox.xpi") as zf:
        names = zf.namelist()
        assert "manifest.json" in names and names == sorted(names)


def test_default_command(tmp_path: Path) -> None:
    p = subprocess.run(
        [sys.executable, str(ROOT / "build_extension.py"), "--out", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert p.returncode == 0, p.stderr
    for rel in (
        "chrome/manifest.json",
        "firefox/manifest.json",
        "passerelle-chrome.zip",
        "passerelle-firefox.xpi",
    ):
        assert (tmp_path / "d" / rel).exists()
    assert "http://127.0.0.1:8765/*" in manifest(tmp_path / "d", "chrome")["host_permissions"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--browser", "safari"], "invalid choice"),
        (["--server-url", "ftp://x"], "--server-url"),
        (["--server-url", "http://x/api"], "without a path"),
        (["--server-url", "nothing"], "--server-url"),
    ],
)
def test_bad_options(tmp_path: Path, args: list[str], needle: str) -> None:
    p = subprocess.run(
        [sys.executable, str(ROOT / "build_extension.py"), "--out", str(tmp_path), *args],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2
    assert needle in p.stderr and "Traceback" not in p.stderr


def test_broken_template_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "extension"
    src.mkdir()
    (src / "manifest.json.j2").write_text('{"version": {{ version | tojson }}, {% if %}}')
    monkeypatch.setattr(build_extension, "SOURCE", src)
    with pytest.raises(build_extension.BuildError, match=r"manifest\.json\.j2, line 1"):
        build_extension.build(("chrome",), "http://127.0.0.1:8765", tmp_path / "out")
    (src / "manifest.json.j2").write_text('{"version": {{ nope }}}')
    with pytest.raises(build_extension.BuildError, match="nope"):
        build_extension.build(("chrome",), "http://127.0.0.1:8765", tmp_path / "out")
    (src / "manifest.json.j2").write_text('{"version": {{ version }}, }')
    with pytest.raises(build_extension.BuildError, match="invalid JSON"):
        build_extension.build(("chrome",), "http://127.0.0.1:8765", tmp_path / "out")
