"""Settings: precedence, validation, and the README listing every one of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.core.config import SETTINGS, ConfigError, load

ROOT = Path(__file__).resolve().parent.parent


def test_defaults() -> None:
    s = load(env={"HOME": "/nonexistent"})
    assert s.bsky_appview == "https://public.api.bsky.app"
    assert s.bsky_pds == "https://bsky.social"
    assert s.bsky_write_budget == 5000
    assert s.host_rate == 10
    assert s.name_search and s.bridges


def test_precedence_file_then_env_then_overrides(tmp_path: Path) -> None:
    f = tmp_path / "config.toml"
    f.write_text(
        "PASSERELLE_HOST_RATE = 3\nPASSERELLE_NAME_SEARCH = false\nPASSERELLE_TIMEOUT = 4\n"
    )
    env = {"PASSERELLE_CONFIG": str(f), "PASSERELLE_TIMEOUT": "7"}
    s = load(env=env)
    assert (s.host_rate, s.name_search, s.timeout) == (3, False, 7)
    s = load(env=env, overrides={"PASSERELLE_TIMEOUT": 9})
    assert s.timeout == 9


def test_xdg_config_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "passerelle").mkdir()
    (tmp_path / "passerelle" / "config.toml").write_text("PASSERELLE_RETRIES = 5\n")
    assert load(env={"XDG_CONFIG_HOME": str(tmp_path)}).retries == 5


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"PASSERELLE_HOST_RATE": "fast"}, "PASSERELLE_HOST_RATE"),
        ({"PASSERELLE_TIMEOUT": "0"}, "PASSERELLE_TIMEOUT"),
        ({"PASSERELLE_NAME_SEARCH": "maybe"}, "PASSERELLE_NAME_SEARCH"),
        ({"PASSERELLE_BSKY_APPVIEW": "ftp://x"}, "PASSERELLE_BSKY_APPVIEW"),
        ({"PASSERELLE_CONFIG": "/nonexistent.toml"}, "PASSERELLE_CONFIG"),
        # Renamed (it was confused with `serve --threads`): said, never silently ignored.
        ({"PASSERELLE_THREADS": "8"}, "PASSERELLE_THREADS is now called PASSERELLE_LOOKUPS"),
    ],
)
def test_bad_values_name_the_setting(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load(env=env)


def test_bad_instance_file(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("PASSERELLE_NOPE = 1\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load(env={"PASSERELLE_CONFIG": str(f)})
    f.write_text("not = [toml")
    with pytest.raises(ConfigError, match=str(f)):
        load(env={"PASSERELLE_CONFIG": str(f)})


def test_readme_lists_every_setting_and_no_other() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(PASSERELLE_[A-Z_]+)` \|", readme, re.MULTILINE))
    assert listed == set(SETTINGS)


def test_readme_documents_every_cli_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in (
        "passerelle serve",
        "passerelle resolve",
        "--format",
        "--networks",
        "mastodon-csv",
        "make run",
        "make test",
    ):
        assert command in readme, command


def test_workers_share_the_politeness() -> None:
    settings = load(env={"PASSERELLE_HOST_RATE": "40", "PASSERELLE_HOST_CONCURRENCY": "6"})
    assert settings.shared_by(1) == settings
    share = settings.shared_by(4)
    assert share.host_rate == 10 and share.host_concurrency == 2
    assert share.lookups == settings.lookups
