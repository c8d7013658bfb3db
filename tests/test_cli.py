"""The `passerelle` command (API.md §1), run as a user runs it: a subprocess."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Served, service_env, x_accounts
from tests.standins.internet import Internet

PASSERELLE = str(Path(sys.executable).parent / "passerelle")


def run(
    args: list[str], env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PASSERELLE, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def env(clean_internet: Internet, tmp_path: Path) -> dict[str, str]:
    return service_env(clean_internet, tmp_path)


@pytest.fixture
def accounts_file(tmp_path: Path, eval_world: dict[str, Any]) -> Path:
    path = tmp_path / "following.json"
    path.write_text(json.dumps({"accounts": x_accounts(eval_world)[:150]}), encoding="utf-8")
    return path


def test_resolve_json(env: dict[str, str], accounts_file: Path, eval_world: dict[str, Any]) -> None:
    p = run(["resolve", str(accounts_file)], env)
    assert p.returncode == 0, p.stderr
    body = json.loads(p.stdout)
    assert [r["handle"] for r in body["results"]] == [
        a["handle"] for a in eval_world["accounts"][:150]
    ]
    assert body["stats"]["accounts"] == 150
    assert "150/150" in p.stderr  # the progress bar
    assert "Traceback" not in p.stderr


def test_resolve_bare_list_from_stdin(env: dict[str, str], eval_world: dict[str, Any]) -> None:
    p = run(
        ["resolve", "-", "--networks", "bluesky"], env, stdin=json.dumps(x_accounts(eval_world)[:5])
    )
    assert p.returncode == 0, p.stderr
    assert all(r["mastodon"] is None for r in json.loads(p.stdout)["results"])


def test_resolve_csv(env: dict[str, str], accounts_file: Path) -> None:
    p = run(["resolve", str(accounts_file), "--format", "csv"], env)
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert len(rows) == 150
    assert rows[0].keys() >= {"x_handle", "bluesky_handle", "bluesky_level", "mastodon_acct"}
    assert any(r["bluesky_level"] == "confirmed" for r in rows)


def test_resolve_mastodon_csv(
    env: dict[str, str], accounts_file: Path, eval_world: dict[str, Any]
) -> None:
    p = run(["resolve", str(accounts_file), "--format", "mastodon-csv"], env)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "Account address,Show boosts,Notify on new posts,Languages"
    expected = {
        a["expect"]["mastodon"] for a in eval_world["accounts"][:150] if a["findable"]["mastodon"]
    }
    bridged = {acct for acct in expected if acct.endswith("@bsky.brid.gy")}
    assert bridged  # the set has Bluesky accounts bridged to the fediverse
    got = {line.split(",")[0] for line in lines[1:]}
    # Bridgy Fed mirrors of Bluesky accounts only for someone who will not follow them there.
    assert got == expected - bridged
    assert all(line.endswith(",true,false,") for line in lines[1:])
    p = run(["resolve", str(accounts_file), "--format", "mastodon-csv", "--include-bridged"], env)
    assert {line.split(",")[0] for line in p.stdout.splitlines()[1:]} == expected


@pytest.mark.parametrize(
    ("content", "args", "needle"),
    [
        (None, ["resolve", "{missing}"], "no such file"),
        ('{"accounts": [\n{"handle": "a"},\n{oops}]}', ["resolve", "{file}"], "line 3"),
        (
            '{"accounts": [{"handle": "a"}, {"bio": "x"}]}',
            ["resolve", "{file}"],
            "accounts[1].handle",
        ),
        ('{"accounts": 3}', ["resolve", "{file}"], "accounts must be a list"),
        ("[]", ["resolve", "{file}", "--format", "xml"], "invalid choice"),
        ("[]", ["resolve", "{file}", "--networks", "twitter"], "unknown network"),
        (None, ["resolve"], "required"),
        (None, [], "required"),
        (None, ["serve", "--port", "99999"], "--port"),
    ],
)
def test_bad_usage_exits_2_with_one_line(
    env: dict[str, str], tmp_path: Path, content: str | None, args: list[str], needle: str
) -> None:
    f = tmp_path / "in.json"
    if content is not None:
        f.write_text(content)
    args = [a.format(file=f, missing=tmp_path / "missing.json") for a in args]
    p = run(args, env)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert needle in p.stderr
    assert "Traceback" not in p.stderr
    assert p.stdout == ""


@pytest.mark.parametrize(
    ("cache_url", "needle"),
    [
        # Before: every gunicorn worker failed at boot with a traceback (#22).
        ("redis://127.0.0.1:9/0", "no Redis answers at redis://127.0.0.1:9/0"),
        ("memcached://127.0.0.1:11211", "unknown scheme 'memcached'"),
    ],
)
def test_serve_with_a_cache_that_cannot_work_exits_2_before_any_worker(
    env: dict[str, str], cache_url: str, needle: str
) -> None:
    p = run(
        ["serve", "--port", "8799", "--workers", "2"], {**env, "PASSERELLE_CACHE_URL": cache_url}
    )
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert needle in p.stderr and "PASSERELLE_CACHE_URL" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
    assert "Worker failed to boot" not in p.stdout + p.stderr


def test_bad_setting_exits_2(env: dict[str, str], accounts_file: Path) -> None:
    p = run(["resolve", str(accounts_file)], {**env, "PASSERELLE_TIMEOUT": "soon"})
    assert p.returncode == 2
    assert "PASSERELLE_TIMEOUT" in p.stderr and "Traceback" not in p.stderr


def test_serve_prints_url_and_extension(served: Served) -> None:
    out = served.output()
    assert f"serving on {served.url}" in out
    assert "xtension" in out


def test_resolve_exits_1_when_no_account_could_be_checked(
    env: dict[str, str], accounts_file: Path, tmp_path: Path
) -> None:
    """The networks unreachable (a proxy that refuses every connection): the answers still go
    to stdout, marked, so nothing is lost, but the exit status and one line say it failed."""
    from tests.conftest import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    p = run(
        ["resolve", str(accounts_file), "--networks", "bluesky"],
        {
            **env,
            "HTTPS_PROXY": dead,
            "https_proxy": dead,
            "PASSERELLE_CACHE_URL": "none",
            "PASSERELLE_RETRIES": "0",
            "PASSERELLE_DNS_SERVERS": f"127.0.0.1:{free_port()}",
        },
    )
    assert p.returncode == 1, p.stderr
    body = json.loads(p.stdout)
    assert len(body["results"]) == 150
    assert all(r["error"]["code"] == "upstream-unavailable" for r in body["results"])
    last = p.stderr.strip().splitlines()[-1]
    assert last == (
        "passerelle: failed: none of the 150 account(s) could be checked "
        "(the networks could not be reached); run again later"
    )
    assert "Traceback" not in p.stderr


def test_resolve_refuses_an_input_over_the_stated_limit(
    env: dict[str, str], tmp_path: Path
) -> None:
    from server.cli import MAX_INPUT_BYTES

    big = tmp_path / "big.json"
    with big.open("w") as f:
        f.write('[{"handle": "a", "bio": "')
        f.write("x" * (MAX_INPUT_BYTES + 10))
        f.write('"}]')
    p = run(["resolve", str(big)], env)
    assert p.returncode == 2
    assert f"larger than {MAX_INPUT_BYTES // 2**20} MB" in p.stderr
    assert p.stdout == "" and "Traceback" not in p.stderr
    # The limit is stated where a user looks first.
    assert f"at most {MAX_INPUT_BYTES // 2**20} MB" in run(["resolve", "--help"], env).stdout


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (
            ["serve", "--help"],
            ["default 127.0.0.1", "default 8765", "default 1", "default 8", "PASSERELLE_LOOKUPS"],
        ),
        (
            ["resolve", "--help"],
            ["json: the API's answer", "mastodon-csv: Mastodon's import", "default both", "Exit 0"],
        ),
        (["follow", "bluesky", "--help"], ["write budget", "default confirmed,likely"]),
    ],
)
def test_help_says_what_each_option_does_and_its_default(
    env: dict[str, str], args: list[str], needles: list[str]
) -> None:
    p = run(args, env)
    assert p.returncode == 0
    text = " ".join(p.stdout.split())
    for needle in needles:
        assert needle in text, needle


def test_follow_mastodon_offers_no_option_it_does_not_honour(env: dict[str, str]) -> None:
    """`--no-wait` is Mastodon's own now (the daily follow limit, tested in
    test_follow_mastodon.py); Bluesky's write budget is not offered there."""
    p = run(["follow", "mastodon", "--help"], env)
    text = " ".join(p.stdout.split())
    assert "budget" not in text
    assert "--no-wait" in text and "daily follow limit" in text
