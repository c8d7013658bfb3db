"""`passerelle serve` and `passerelle resolve` (see API.md §1).

Exit status: 0 success; 2 bad usage or bad input (one line naming the problem); 1 other failures.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .core.config import ConfigError, load
from .core.models import NETWORKS
from .core.validate import InputError, parse_request

CHUNK = 100  # accounts resolved together; progress moves a chunk at a time
RECHECK_CHUNK = 500
# The largest input file read: 10,000 accounts with long bios take about 25 MB as the
# extension exports them; beyond this something is wrong with the file (or it is not a list).
MAX_INPUT_BYTES = 32 * 2**20


class UsageError(Exception):
    """Bad usage or input: exit 2 with one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise UsageError(message)


def _networks(text: str) -> tuple[str, ...]:
    nets = tuple(n.strip() for n in text.split(",") if n.strip())
    bad = [n for n in nets if n not in NETWORKS]
    if bad or not nets:
        raise argparse.ArgumentTypeError(
            f"unknown network {bad[0] if bad else text!r} (use bluesky, mastodon or both)"
        )
    return nets


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="passerelle",
        description="Find the people you follow on X on Bluesky and the fediverse.",
    )
    p.add_argument("--version", action="version", version=f"passerelle {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    s = sub.add_parser(
        "serve",
        help="run the companion service",
        description="Run the companion service on gunicorn (a production WSGI server).",
    )
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    s.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    s.add_argument(
        "--threads",
        type=int,
        default=8,
        help="requests each worker serves at once (default 8); the look-ups each worker "
        "makes upstream at once are PASSERELLE_LOOKUPS",
    )
    r = sub.add_parser(
        "resolve",
        help="resolve a JSON file of X accounts without a browser",
        description="Resolve a JSON file of X accounts (the extension's 'scanned list' export, "
        f"or the body of POST /api/resolve); at most {MAX_INPUT_BYTES // 2**20} MB. "
        "Progress on stderr, results on stdout. Exit 0 when done, 1 when no account could "
        "be checked, 2 on bad usage or input.",
    )
    r.add_argument("file", help='JSON: a list of accounts, or {"accounts": [...]}; - for stdin')
    r.add_argument(
        "--format",
        choices=("json", "csv", "mastodon-csv"),
        default="json",
        help="json: the API's answer (what `passerelle follow` reads); csv: everything, one "
        "row per account; mastodon-csv: Mastodon's import file of the confirmed and likely "
        "matches (default json)",
    )
    r.add_argument(
        "--include-bridged",
        action="store_true",
        help="mastodon-csv: also list Bluesky accounts bridged to the fediverse (Bridgy Fed), "
        "for someone who will not follow those people on Bluesky",
    )
    r.add_argument(
        "--networks",
        type=_networks,
        default=NETWORKS,
        metavar="bluesky,mastodon",
        help="where to look, comma-separated (default both)",
    )
    r.add_argument(
        "--previous",
        metavar="OLD.json",
        help="check again against an earlier answer (`passerelle resolve --format json`): "
        "those it left unmatched are looked up afresh, what it found is checked to still "
        'exist; matches it did not have carry "new": true, those gone since "gone": true',
    )
    r.add_argument(
        "--search-server",
        metavar="URL",
        help="your own Mastodon server (with MASTODON_ACCESS_TOKEN, scope read:search): its "
        "search, which covers every account it federates with, is asked for a profile naming "
        "the X account of each person still unmatched on the fediverse (one request each; a "
        "hit counts only with that link back)",
    )
    f = sub.add_parser("follow", help="follow the matches of a resolve output")
    fsub = f.add_subparsers(dest="network", required=True, parser_class=_Parser)
    fb = fsub.add_parser(
        "bluesky", help="follow on Bluesky (BLUESKY_HANDLE, and BLUESKY_APP_PASSWORD or --oauth)"
    )
    fm = fsub.add_parser("mastodon", help="follow on a Mastodon server (MASTODON_ACCESS_TOKEN)")
    fm.add_argument("--server", required=True, help="your home server, e.g. https://piaille.fr")
    for q in (fb, fm):
        q.add_argument("file", help="the output of `passerelle resolve --format json`")
        q.add_argument(
            "--levels",
            default="confirmed,likely",
            help="match levels to act on (default confirmed,likely)",
        )
        q.add_argument("--state", help="progress file (default: beside FILE); a rerun resumes")
        q.add_argument(
            "--include-bridged",
            action="store_true",
            help="follow Bridgy Fed mirrors of accounts on the other network too: only if you "
            "do not follow those people there (else every post comes twice)",
        )
        q.add_argument(
            "--only-new",
            action="store_true",
            help='only the matches a re-check marked new ("new": true, from `passerelle '
            "resolve --previous`): the people who arrived since the last check",
        )
    fb.add_argument(
        "--no-wait",
        action="store_true",
        help="stop when Bluesky's hourly write budget is spent instead of waiting for it",
    )
    fm.add_argument(
        "--no-wait",
        action="store_true",
        help="stop when the server's daily follow limit (about 400) is reached instead of "
        "waiting for the next day; the progress is saved, a rerun goes on",
    )
    fb.add_argument(
        "--oauth",
        action="store_true",
        help="sign in with Bluesky in your browser (OAuth: no app password; BLUESKY_HANDLE "
        "names the account) instead of BLUESKY_APP_PASSWORD",
    )
    fb.add_argument("--list", help="also add them to this Bluesky list (created if missing)")
    fb.add_argument("--starter-pack", help="also make starter packs of them (150 people each)")
    return p


def _read_input(name: str) -> Any:
    try:
        if name == "-":
            data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with Path(name).open("rb") as f:
                data = f.read(MAX_INPUT_BYTES + 1)
        if len(data) > MAX_INPUT_BYTES:
            raise UsageError(
                f"{name}: larger than {MAX_INPUT_BYTES // 2**20} MB; split the list "
                "(a JSON list of accounts per file) and resolve each part"
            )
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise UsageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{name}: is a folder, not a file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{name}: cannot read: {e}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(
            f"{name}: line {e.lineno}, column {e.colno}: invalid JSON: {e.msg}"
        ) from None


class _Bar:
    """A progress bar on stderr (a plain line per step when stderr is not a terminal)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.tty = sys.stderr.isatty()

    def update(self, done: int, extra: str = "") -> None:
        width = 30
        filled = int(width * done / self.total) if self.total else width
        line = f"[{'#' * filled}{'.' * (width - filled)}] {done:,}/{self.total:,} {extra}"
        if self.tty:
            sys.stderr.write("\r" + line)
            if done >= self.total:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def _search_as(url: str) -> tuple[str, str]:
    """`--search-server`: the user's server and their token (from the environment only)."""
    from urllib.parse import urlsplit

    from .follow.mastodon import home_server

    token = os.environ.get("MASTODON_ACCESS_TOKEN", "").strip()
    if not token:
        raise UsageError(
            "--search-server needs MASTODON_ACCESS_TOKEN (a token of your account with the "
            "read:search scope) in the environment"
        )
    try:
        server = home_server(url)
    except InputError as e:
        raise UsageError(f"--search-server {e}") from None
    return urlsplit(server).hostname or "", token


def cmd_resolve(args: argparse.Namespace) -> int:
    from .resolve import recheck

    settings = load()
    body = _read_input(args.file)
    try:
        accounts, _ = parse_request(body, max_accounts=10**9)
    except InputError as e:
        raise UsageError(f"{args.file}: {e}") from None
    search_as = _search_as(args.search_server) if args.search_server else None
    previous = None
    if args.previous:
        try:
            previous = recheck.previous_answers(_read_input(args.previous), args.previous)
        except recheck.PreviousError as e:
            raise UsageError(str(e)) from None
    # Only now the look-up machinery: the atproto SDK alone takes a second to load, which a
    # mistyped file name or a bad setting should not cost.
    from .core.cache import open_cache
    from .resolve import output, owners
    from .resolve.resolver import Resolver

    resolver = Resolver(settings, open_cache(settings.cache_url))
    results: list[dict[str, Any]] = []
    stats = {"accounts": 0, "upstream_requests": 0, "cache_hits": 0, "seconds": 0.0}
    bar = _Bar(len(accounts))
    bar.update(0)
    try:
        # A re-check goes in larger chunks: what it checks still exists is asked of each
        # server many at a time, within one chunk.
        step = CHUNK if previous is None else RECHECK_CHUNK
        for i in range(0, len(accounts), step):
            part = resolver.resolve(
                accounts[i : i + step], args.networks, search_as=search_as, previous=previous
            )
            results += part["results"]
            for k in stats:
                stats[k] += part["stats"][k]
            found = sum(1 for r in results if r["bluesky"] or r["mastodon"])
            bar.update(len(results), f"found {found:,}")
    finally:
        resolver.close()
    stats["seconds"] = round(stats["seconds"], 3)
    results = owners.settle(results)  # over the whole list, not one chunk at a time
    if previous is not None:
        recheck.mark_new(results, previous)  # again: settling may have lowered a match
    response = {"results": results, "stats": stats}
    if args.format == "json":
        sys.stdout.write(output.to_json(response))
    elif args.format == "csv":
        sys.stdout.write(output.to_csv(results))
    else:
        sys.stdout.write(output.to_mastodon_csv(results, include_bridged=args.include_bridged))
    failed = sum(1 for r in results if r["error"])
    if failed and failed == len(results):
        sys.stderr.write(
            f"passerelle: failed: none of the {failed:,} account(s) could be checked "
            "(the networks could not be reached); run again later\n"
        )
        return 1
    if failed:
        sys.stderr.write(
            f"{failed:,} account(s) could not be checked (error set); run again later to retry "
            "them\n"
        )
    if previous is not None:
        new, gone = recheck.counts(results)
        sys.stderr.write(f"{new:,} new since {args.previous}, {gone:,} gone\n")
    return 0


def _check_cache(url: str | None) -> None:
    """The cache the workers will share opens (and, for Redis, answers) before any of them
    starts: else each worker would fail at boot with a traceback."""
    from .core.cache import CacheURLError, RedisCache, open_cache

    try:
        cache = open_cache(url)
    except CacheURLError as e:
        raise UsageError(str(e)) from None
    except (OSError, ImportError, ValueError) as e:
        raise UsageError(f"PASSERELLE_CACHE_URL: cannot open the cache: {e}") from None
    try:
        if isinstance(cache, RedisCache):
            try:
                cache.client.ping()
            except Exception as e:  # redis.ConnectionError and its kin
                raise UsageError(
                    f"PASSERELLE_CACHE_URL: no Redis answers at {url} ({type(e).__name__}): "
                    "start it, or set PASSERELLE_CACHE_URL to sqlite:///PATH or none"
                ) from None
    finally:
        cache.close()


def cmd_serve(args: argparse.Namespace) -> int:
    from .web.serve import run

    settings = load()  # fail now, with exit 2, on a bad setting
    _check_cache(settings.cache_url)  # …and on a cache that cannot work, before any worker
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port}: expected 1..65535")
    if args.workers < 1 or args.threads < 1:
        raise UsageError("--workers and --threads must be at least 1")
    return run(args.host, args.port, args.workers, args.threads)


def cmd_follow(args: argparse.Namespace) -> int:
    from .follow.cli import follow

    settings = load()
    body = _read_input(args.file)
    try:
        return follow(args, body, settings)
    except InputError as e:
        raise UsageError(f"{args.file}: {e}") from None


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "serve":
            return cmd_serve(args)
        if args.command == "follow":
            return cmd_follow(args)
        return cmd_resolve(args)
    except UsageError as e:
        sys.stderr.write(f"passerelle: error: {e}\n")
        return 2
    except ConfigError as e:
        sys.stderr.write(f"passerelle: error: {e}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("passerelle: interrupted\n")
        return 1
    except Exception as e:  # unexpected: one line, no traceback
        sys.stderr.write(f"passerelle: failed: {type(e).__name__}: {e}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
