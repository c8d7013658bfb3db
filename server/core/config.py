"""Settings: defaults, then an instance file, then `PASSERELLE_*` environment variables.

Every setting is listed in `SETTINGS` with its default and meaning; the README's table is
checked against it by a test, so neither can drift.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message names it."""


# Settings renamed: the old name is refused with the new one, never silently ignored.
RENAMED = {"PASSERELLE_THREADS": "PASSERELLE_LOOKUPS"}

# name: (default, meaning)
SETTINGS: dict[str, tuple[str, str]] = {
    "PASSERELLE_BSKY_APPVIEW": (
        "https://public.api.bsky.app",
        "the Bluesky AppView used for look-ups",
    ),
    "PASSERELLE_CACHE_URL": (
        "",
        "`sqlite:///PATH`, `redis://HOST:PORT/N`, or `none`; "
        "default `$XDG_CACHE_HOME/passerelle/cache.sqlite3`",
    ),
    "PASSERELLE_ALLOWED_ORIGINS": (
        "",
        "extra CORS origins, comma-separated (our Chrome build's origin and Firefox "
        "extension origins are always allowed; a Chrome Web Store build has its own ID: add "
        "`chrome-extension://ID`)",
    ),
    "PASSERELLE_BSKY_PDS": (
        "https://bsky.social",
        "where Bluesky sign-in and writes go, when set; unset, each account's own PDS is found "
        "from its handle (DNS or `.well-known`, then its DID document), and this default is "
        "used only when that fails",
    ),
    "PASSERELLE_PLC_URL": (
        "https://plc.directory",
        "the PLC directory that holds `did:plc` documents (where an account's PDS is named)",
    ),
    "PASSERELLE_TRUSTED_HOSTS": (
        "",
        "host names, comma-separated, the service may reach even though they are local or "
        "private (a PDS on the association's own network); no others",
    ),
    "PASSERELLE_BSKY_WRITE_BUDGET": (
        "5000",
        "write points per hour `passerelle follow bluesky` may spend (3 per follow)",
    ),
    "PASSERELLE_HOST_RATE": (
        "10",
        "requests per second to any one upstream host, shared by the workers of one "
        "`passerelle serve` (on several machines, give each its share)",
    ),
    "PASSERELLE_HOST_CONCURRENCY": (
        "6",
        "requests in flight to any one upstream host, shared the same way",
    ),
    "PASSERELLE_TIMEOUT": ("10", "seconds before an upstream request is abandoned"),
    "PASSERELLE_REQUEST_TIMEOUT": (
        "30",
        "seconds a client of `passerelle serve` has to send a whole request (then 408): a "
        "slow or stalled client never holds a thread",
    ),
    "PASSERELLE_RETRIES": (
        "2",
        "further attempts after a timeout, a dropped connection or 5xx (never after a name "
        "that does not resolve or a refused connection)",
    ),
    "PASSERELLE_MAX_WAIT": (
        "30",
        "longest 429 pause (seconds) honoured before marking accounts `upstream-unavailable`",
    ),
    "PASSERELLE_LOOKUPS": (
        "32",
        "upstream look-ups in flight at once in one worker, across all hosts "
        "(not `serve --threads`, which counts requests served)",
    ),
    "PASSERELLE_NAME_SEARCH": (
        "on",
        "search Bluesky by display name for accounts nothing else found (`on`/`off`)",
    ),
    "PASSERELLE_BRIDGES": ("on", "offer Bridgy Fed addresses (`on`/`off`)"),
    "PASSERELLE_FEDI_SEARCH": (
        "",
        "large fediverse servers (comma-separated names, e.g. `mastodon.social`) whose public "
        "account search is asked, for each person still unmatched on the fediverse, for a "
        "profile that names their X account; a hit counts only with that proof. One request "
        "per person and server: off by default",
    ),
    "PASSERELLE_DNS_SERVERS": (
        "",
        "DNS servers (`host` or `host:port`, comma-separated) for "
        "`_atproto` TXT look-ups; default the system's resolver",
    ),
    "PASSERELLE_MAX_ACCOUNTS": ("1000", "accounts per `POST /api/resolve` request"),
    "PASSERELLE_API_TOKEN": (
        "",
        "when set, every API request but the health check must carry "
        "`Authorization: Bearer TOKEN` (the extension sends what its options hold)",
    ),
    "PASSERELLE_RATE_LIMIT": (
        "600",
        "requests a minute from one client address (a resolve counts one per started 100 "
        "accounts); `0` turns the limit off",
    ),
    "PASSERELLE_MAX_HOSTS": (
        "500",
        "distinct servers named by the accounts (fediverse servers, website domains) one "
        "`POST /api/resolve` may make the service contact; accounts that needed more are "
        "answered with an error, to ask again; `0` no bound",
    ),
    "PASSERELLE_HOSTS_PER_HOUR": (
        "5000",
        "distinct servers one client address may make the service contact in an hour (summed "
        "over its requests), then 429 `rate-limited`; `0` no bound",
    ),
    "PASSERELLE_TRUSTED_PROXIES": (
        "0",
        "reverse proxies in front of the service whose `X-Forwarded-For` names the client "
        "(for the rate limit)",
    ),
    "PASSERELLE_PUBLIC_URL": (
        "",
        "the address people reach the service at (`https://passerelle.example.org` behind a "
        "reverse proxy): the Mastodon and Bluesky sign-ins send them back there, an `https` "
        "address makes the service a confidential Bluesky OAuth client (it publishes "
        "`/api/bluesky/client-metadata.json` and `/api/bluesky/jwks.json` there), and requests "
        "naming another host are refused; default the address `passerelle serve` listens on "
        "(bound to every interface, it then answers any host and sends people back to the one "
        "they used)",
    ),
    "PASSERELLE_SECRET_KEY": (
        "",
        "seals the follow sign-ins the workers share, and is what a hosted instance's Bluesky "
        "OAuth signing key is derived from; set the same value on every machine that shares "
        "one Redis, and on a hosted instance always (its published key then survives "
        "restarts); keep it out of files; default a key `passerelle serve` draws at start, in "
        "memory",
    ),
    "PASSERELLE_CONFIG": (
        "",
        "path of an instance file (TOML) that may set any of these keys; "
        "default `$XDG_CONFIG_HOME/passerelle/config.toml` when it exists",
    ),
}


@dataclass(frozen=True)
class Settings:
    bsky_appview: str
    cache_url: str
    allowed_origins: tuple[str, ...]
    bsky_pds: str
    bsky_write_budget: int
    host_rate: float
    host_concurrency: int
    timeout: float
    retries: int
    max_wait: float
    lookups: int
    name_search: bool
    bridges: bool
    max_accounts: int
    dns_servers: tuple[str, ...] = ()
    api_token: str = field(default="", repr=False)
    rate_limit: int = 600
    trusted_proxies: int = 0
    public_url: str = ""
    request_timeout: float = 30.0
    max_hosts: int = 500
    hosts_per_hour: int = 5000
    secret_key: str = field(default="", repr=False)
    bsky_pds_set: bool = False  # PASSERELLE_BSKY_PDS given: an override, no look-up
    plc_url: str = "https://plc.directory"
    trusted_hosts: tuple[str, ...] = ()
    fedi_search: tuple[str, ...] = ()

    def shared_by(self, workers: int) -> Settings:
        """This process's share of the per-host limits when `workers` processes run."""
        if workers <= 1:
            return self
        return replace(
            self,
            host_rate=self.host_rate / workers,
            host_concurrency=max(1, -(-self.host_concurrency // workers)),
        )

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _instance_file(env: dict[str, str]) -> Path | None:
    explicit = env.get("PASSERELLE_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"PASSERELLE_CONFIG: no such file: {path}")
        return path
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    path = Path(base) / "passerelle" / "config.toml"
    return path if path.is_file() else None


def _read_file(path: Path) -> dict[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: {e}") from e
    out = {}
    for key, value in data.items():
        if key in RENAMED:
            raise ConfigError(f"{path}: {key} is now called {RENAMED[key]}")
        if key not in SETTINGS:
            raise ConfigError(f"{path}: unknown setting {key!r}")
        out[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def _number(raw: dict[str, str], key: str, kind: type, low: float, high: float) -> Any:
    text = raw[key].strip()
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"{key}: expected a number, got {text!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{key}: {value} is outside {low}..{high}")
    return value


def _flag(raw: dict[str, str], key: str) -> bool:
    text = raw[key].strip().lower()
    if text in ("1", "on", "true", "yes"):
        return True
    if text in ("0", "off", "false", "no"):
        return False
    raise ConfigError(f"{key}: expected on or off, got {text!r}")


def _url(raw: dict[str, str], key: str) -> str:
    text = raw[key].strip().rstrip("/")
    if not text.startswith(("http://", "https://")):
        raise ConfigError(f"{key}: expected an http(s) URL, got {text!r}")
    return text


def _token(text: str) -> str:
    token = text.strip()
    if token and (
        len(token) < 16
        or not token.isascii()
        or not token.isprintable()
        or any(c.isspace() for c in token)
    ):
        raise ConfigError(
            "PASSERELLE_API_TOKEN: use at least 16 printable ASCII characters, no spaces "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe())')"
        )
    return token


def load(env: dict[str, str] | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Defaults < instance file < environment < `overrides` (a test config)."""
    env = dict(os.environ if env is None else env)
    for old, new in RENAMED.items():
        if old in env:
            raise ConfigError(f"{old} is now called {new}")
    raw = {k: v[0] for k, v in SETTINGS.items()}
    path = _instance_file(env)
    given: set[str] = set()  # the settings someone set (not left to their default)
    if path is not None:
        from_file = _read_file(path)
        raw.update(from_file)
        given |= set(from_file)
    raw.update({k: v for k, v in env.items() if k in SETTINGS})
    given |= {k for k in env if k in SETTINGS}
    if overrides:
        raw.update({k: str(v) for k, v in overrides.items()})
        given |= set(overrides)
    origins = tuple(
        o.strip().rstrip("/") for o in raw["PASSERELLE_ALLOWED_ORIGINS"].split(",") if o.strip()
    )
    return Settings(
        bsky_appview=_url(raw, "PASSERELLE_BSKY_APPVIEW"),
        cache_url=raw["PASSERELLE_CACHE_URL"].strip(),
        allowed_origins=origins,
        bsky_pds=_url(raw, "PASSERELLE_BSKY_PDS"),
        bsky_write_budget=_number(raw, "PASSERELLE_BSKY_WRITE_BUDGET", int, 3, 1_000_000),
        host_rate=_number(raw, "PASSERELLE_HOST_RATE", float, 0.1, 10_000),
        host_concurrency=_number(raw, "PASSERELLE_HOST_CONCURRENCY", int, 1, 256),
        timeout=_number(raw, "PASSERELLE_TIMEOUT", float, 0.1, 300),
        request_timeout=_number(raw, "PASSERELLE_REQUEST_TIMEOUT", float, 1, 3600),
        retries=_number(raw, "PASSERELLE_RETRIES", int, 0, 10),
        max_wait=_number(raw, "PASSERELLE_MAX_WAIT", float, 0, 3600),
        lookups=_number(raw, "PASSERELLE_LOOKUPS", int, 1, 512),
        name_search=_flag(raw, "PASSERELLE_NAME_SEARCH"),
        bridges=_flag(raw, "PASSERELLE_BRIDGES"),
        max_accounts=_number(raw, "PASSERELLE_MAX_ACCOUNTS", int, 1, 100_000),
        dns_servers=tuple(d.strip() for d in raw["PASSERELLE_DNS_SERVERS"].split(",") if d.strip()),
        api_token=_token(raw["PASSERELLE_API_TOKEN"]),
        rate_limit=_number(raw, "PASSERELLE_RATE_LIMIT", int, 0, 10_000_000),
        trusted_proxies=_number(raw, "PASSERELLE_TRUSTED_PROXIES", int, 0, 10),
        max_hosts=_number(raw, "PASSERELLE_MAX_HOSTS", int, 0, 1_000_000),
        hosts_per_hour=_number(raw, "PASSERELLE_HOSTS_PER_HOUR", int, 0, 100_000_000),
        secret_key=raw["PASSERELLE_SECRET_KEY"].strip(),
        bsky_pds_set="PASSERELLE_BSKY_PDS" in given and bool(raw["PASSERELLE_BSKY_PDS"].strip()),
        plc_url=_url(raw, "PASSERELLE_PLC_URL"),
        trusted_hosts=tuple(
            h.strip().lower().rstrip(".")
            for h in raw["PASSERELLE_TRUSTED_HOSTS"].split(",")
            if h.strip()
        ),
        public_url=_url(raw, "PASSERELLE_PUBLIC_URL")
        if raw["PASSERELLE_PUBLIC_URL"].strip()
        else "",
        fedi_search=_servers(raw, "PASSERELLE_FEDI_SEARCH"),
    )


def _servers(raw: dict[str, str], key: str) -> tuple[str, ...]:
    """Server names: public DNS names, as the operator writes them (`mastodon.social`)."""
    from .hosts import why_not_public

    out: list[str] = []
    for part in raw[key].split(","):
        name = part.strip().lower().rstrip(".")
        if not name:
            continue
        if "/" in name or ":" in name or "." not in name or why_not_public(name):
            raise ConfigError(f"{key}: expected server names like mastodon.social, got {name!r}")
        if name not in out:
            out.append(name)
    return tuple(out)
