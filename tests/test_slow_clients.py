"""Slow clients cannot stall `passerelle serve` (server/web/worker.py).

Before: 9 connections sending half a request and waiting made `/api/health` time out for as
long as they stayed open (gunicorn's gthread gives a thread to a connection at its first byte,
with no read timeout). Now the worker's event loop reads each request whole first; a request
not whole within PASSERELLE_REQUEST_TIMEOUT is answered 408 and closed.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from server.web.worker import BODY_LIMIT, HEAD_LIMIT, complete
from tests.conftest import Served

STALLED = 40  # more than the threads of a worker (8), as in the report


def _serve(tmp_path: os.PathLike[str], timeout: str) -> Served:
    env = dict(os.environ)
    env.update(
        {
            "PASSERELLE_CACHE_URL": "none",
            "PASSERELLE_REQUEST_TIMEOUT": timeout,
            "PASSERELLE_RATE_LIMIT": "0",
            "XDG_STATE_HOME": str(tmp_path),
        }
    )
    return Served(env)


# One service of each kind for the module: each test closes the connections it opened.
@pytest.fixture(scope="module")
def patient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = _serve(tmp_path_factory.mktemp("patient"), "3600")  # stalled clients are not dropped
    yield s
    s.stop()


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = _serve(tmp_path_factory.mktemp("strict"), "2")
    yield s
    s.stop()


def _stall(port: int, n: int) -> list[socket.socket]:
    """`n` connections that each send part of a request, then nothing: half of them a head cut
    short, the other half a whole head and part of a body."""
    out = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        if i % 2:
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        else:
            s.sendall(
                b"POST /api/resolve HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b'Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"acc'
            )
        out.append(s)
    return out


def _drip(sockets: list[socket.socket], stop: threading.Event) -> None:
    """One byte now and then on every stalled connection: no gap long enough for a per-read
    timeout, only a deadline for the whole request, ends them."""
    while not stop.wait(0.5):
        for s in sockets:
            with contextlib.suppress(OSError):
                s.send(b"x")


def _health(url: str) -> int:
    with urllib.request.urlopen(url + "/api/health", timeout=60) as r:
        return int(r.status)


def test_health_answers_while_many_clients_stall(patient: Served) -> None:
    stalled = _stall(patient.port, STALLED)
    stop = threading.Event()
    dripper = threading.Thread(target=_drip, args=(stalled, stop), daemon=True)
    dripper.start()
    try:
        for _ in range(5):
            assert _health(patient.url) == 200
        # …while every stalled connection is still open and unanswered.
        for s in stalled:
            s.setblocking(False)
            with pytest.raises(BlockingIOError):
                s.recv(1)
    finally:
        stop.set()
        dripper.join()
        for s in stalled:
            s.close()


def _answer(s: socket.socket) -> bytes:
    s.setblocking(True)
    s.settimeout(120)
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            return data
        data += chunk


def test_a_request_not_whole_in_time_is_answered_408_and_closed(strict: Served) -> None:
    stalled = _stall(strict.port, 6)
    stop = threading.Event()
    dripper = threading.Thread(target=_drip, args=(stalled, stop), daemon=True)
    dripper.start()
    try:
        answers = [_answer(s) for s in stalled]  # the server closes each one
    finally:
        stop.set()
        dripper.join()
        for s in stalled:
            s.close()
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers), answers
    body = json.loads(answers[0].split(b"\r\n\r\n", 1)[1])
    assert body["error"]["code"] == "request-timeout"
    assert _health(strict.url) == 200


def test_a_client_still_sending_at_the_deadline_reads_its_408(strict: Served) -> None:
    """The body keeps coming, a few bytes at a time, when the deadline falls: bytes the server
    has not read are in its socket then. Closed at once, the kernel answered them with a reset,
    and the client's kernel dropped the 408 before it was read (`ConnectionResetError`: the
    failure CI saw under load, #22). The close now lingers: the 408 arrives, then the end."""
    outcomes = []
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", strict.port), timeout=30) as s:
            s.sendall(
                b"POST /api/resolve HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 900000\r\n\r\n"
            )
            s.setblocking(False)
            answer = b""
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    with contextlib.suppress(BlockingIOError, InterruptedError):
                        s.send(b"x" * 64)  # the body trickles in, never whole
                    chunk = s.recv(4096)
                except (BlockingIOError, InterruptedError):
                    time.sleep(0.001)
                    continue
                except (ConnectionResetError, BrokenPipeError):
                    outcomes.append(("reset", answer))
                    break
                if not chunk:
                    outcomes.append(("closed", answer))
                    break
                answer += chunk
            else:
                outcomes.append(("no answer", answer))
    assert all(kind == "closed" and a.startswith(b"HTTP/1.1 408 ") for kind, a in outcomes), [
        (kind, a[:40]) for kind, a in outcomes
    ]


def _send_in_pieces(port: int, pieces: list[bytes]) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        for piece in pieces:
            s.sendall(piece)
            time.sleep(0.05)
        return _answer(s)


def test_a_request_in_pieces_is_answered(patient: Served) -> None:
    body = json.dumps({"accounts": []}).encode()
    head = (
        b"POST /api/resolve HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
        % patient.port
        + b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    pieces = [head[:10], head[10:40], head[40:], body[:5], body[5:]]
    answer = _send_in_pieces(patient.port, pieces)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    chunked = (
        b"POST /api/resolve HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
        % patient.port
        + b"Content-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    pieces = [chunked, b"%x\r\n" % len(body[:7]) + body[:7] + b"\r\n"]
    pieces += [b"%x\r\n" % len(body[7:]) + body[7:] + b"\r\n", b"0\r\n\r\n"]
    answer = _send_in_pieces(patient.port, pieces)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


def test_an_endless_head_is_refused(patient: Served) -> None:
    head = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (HEAD_LIMIT + 10)
    answer = _send_in_pieces(patient.port, [head])
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "head-too-large"


# When is a request whole? (input → expected)
WHOLE = [
    (b"GET / HTTP/1.1\r\nHost: a\r\n", False),
    (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", True),
    (b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab", False),
    (b"POST / HTTP/1.1\r\ncontent-length:4\r\n\r\nabcd", True),
    (b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", False),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n", False),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n", True),
    (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", True),
    (b"GET / HTTP/1.1\r\n" + b"X: " + b"a" * HEAD_LIMIT, None),
]


@pytest.mark.parametrize(("data", "expected"), WHOLE)
def test_whole_request_table(data: bytes, expected: bool | None) -> None:
    assert complete(data) is expected


def test_an_oversized_body_is_whole_at_the_limit() -> None:
    head = b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"
    assert complete(head + b"a" * (BODY_LIMIT - 1)) is False
    assert complete(head + b"a" * BODY_LIMIT) is True
