"""Render the browser extension from `extension/` for Chrome and Firefox, and package it.

    python build_extension.py [--browser chrome|firefox|all] [--server-url URL] [--out DIR]

writes DIR/chrome/ and DIR/firefox/ (unpacked, loadable as they are) and
DIR/passerelle-chrome.zip, DIR/passerelle-firefox.xpi. The same input gives byte-identical
packages (sorted entries, fixed timestamps and permissions). Templates (`*.j2`) are rendered
with Jinja2 (one manifest for both browsers, the differences behind `browser`); every other
file is copied as it is.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

from server.core.extension_id import CHROME_KEY

ROOT = Path(__file__).resolve().parent
SOURCE = ROOT / "extension"
BROWSERS = ("chrome", "firefox")
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
DEFAULT_URL = "http://127.0.0.1:8765"


class BuildError(Exception):
    """A bad option or a broken template: one line for the user, exit status 2."""


def project_version() -> str:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return str(data["project"]["version"])


def check_server_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BuildError(f"--server-url {url!r}: expected an http:// or https:// address")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BuildError(f"--server-url {url!r}: give the service's origin only, without a path")
    try:
        port = parts.port
    except ValueError:
        raise BuildError(f"--server-url {url!r}: bad port") from None
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def _environment(source: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(source)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def _render(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as e:
        raise BuildError(f"extension/{name}, line {e.lineno}: {e.message}") from None
    except jinja2.UndefinedError as e:
        raise BuildError(f"extension/{name}: {e.message}") from None


def build_one(
    browser: str, server_url: str, out: Path, version: str, source: Path | None = None
) -> Path:
    """Render the unpacked extension for one browser into out/browser. `source`: another
    `extension/` folder (an earlier revision's, for the page benchmark's comparison)."""
    source = source or SOURCE
    target = out / browser
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    env = _environment(source)
    context = {
        "browser": browser,
        "server_url": server_url,
        "server_origin": server_url,
        "version": version,
        "chrome_key": CHROME_KEY,  # a fixed ID, the one origin the service admits (CORS)
    }
    for src in sorted(source.rglob("*")):
        if src.is_dir() or src.name.startswith(".") or "__pycache__" in src.parts:
            continue
        rel = src.relative_to(source)
        if src.suffix == ".j2":
            text = _render(env, rel.as_posix(), context)
            dest = target / rel.with_suffix("")
            if dest.suffix == ".json":
                try:
                    text = json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
                except json.JSONDecodeError as e:
                    raise BuildError(
                        f"extension/{rel}: renders to invalid JSON for {browser}: "
                        f"line {e.lineno}: {e.msg}"
                    ) from None
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text, encoding="utf-8")
        else:
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(src.read_bytes())
    return target


def package(folder: Path, archive: Path) -> Path:
    """A zip whose bytes depend only on the files' paths and contents."""
    if archive.exists():
        archive.unlink()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            zf.writestr(info, path.read_bytes(), compresslevel=9)
    return archive


def build(browsers: tuple[str, ...], server_url: str, out: Path) -> list[Path]:
    url = check_server_url(server_url)
    version = project_version()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for browser in browsers:
        folder = build_one(browser, url, out, version)
        ext = "zip" if browser == "chrome" else "xpi"
        written += [folder, package(folder, out / f"passerelle-{browser}.{ext}")]
    return written


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        raise BuildError(message)


def main(argv: list[str] | None = None) -> int:
    p = _Parser(description="Render and package the Passerelle browser extension.")
    p.add_argument("--browser", choices=(*BROWSERS, "all"), default="all")
    p.add_argument(
        "--server-url",
        default=DEFAULT_URL,
        help=f"the companion service the extension talks to (default {DEFAULT_URL})",
    )
    p.add_argument("--out", default="dist", help="output folder (default dist)")
    try:
        args = p.parse_args(argv)
        browsers = BROWSERS if args.browser == "all" else (args.browser,)
        out = Path(args.out)
        written = build(browsers, args.server_url, out)
    except BuildError as e:
        sys.stderr.write(f"build_extension: error: {e}\n")
        return 2
    except OSError as e:
        sys.stderr.write(f"build_extension: failed: {e}\n")
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
