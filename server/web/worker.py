"""A gunicorn worker that slow clients cannot stall: each request is read whole by the worker's
event loop before a thread is given to it.

gunicorn's `gthread` worker hands a connection to one of its threads as soon as the first
bytes arrive; a client that sends half a request and waits then holds that thread for as long
as it likes (there is no read timeout), and nine such clients stopped `/api/health` of a
service running eight threads. Here the loop that accepts connections also reads them, without
blocking, until the request's head and body (by `Content-Length`, or up to the last chunk) are
in memory; only then does a thread parse and answer it. A connection that has not sent its
whole request within `PASSERELLE_REQUEST_TIMEOUT` seconds is answered 408 and closed; a head
larger than 64 KB is answered 431. Thousands of idle sockets cost memory, not threads
(`worker_connections`, 1,000 a worker, bounds them); a hosted instance still belongs behind a
reverse proxy that limits connections per address (docs/hosting.md).
"""

from __future__ import annotations

import contextlib
import json
import re
import selectors
import socket
import time
from collections import deque
from functools import partial
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

HEAD_LIMIT = 64 * 1024
LINGER = 2.0  # seconds a refused client has to read its answer before the socket is closed
BODY_LIMIT = 2 * 1024 * 1024 + 64 * 1024  # the API reads 2 MB; more is refused (413) unread
_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(\d+)[ \t]*$", re.I | re.M)
_CHUNKED = re.compile(rb"^transfer-encoding[ \t]*:.*chunked", re.I | re.M)


def complete(buf: bytes | bytearray) -> bool | None:
    """Whether `buf` holds a whole request: True, False (more to come), None (a head too
    large to be a request of ours). A body too large is "complete" at the limit: the thread
    refuses it without reading it (413), which needs no more bytes."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None if len(buf) > HEAD_LIMIT else False
    if end > HEAD_LIMIT:
        return None
    head = bytes(buf[:end])
    body = len(buf) - end - 4
    if _CHUNKED.search(head):
        tail = bytes(buf[-7:]) if body >= 5 else b""
        return body >= BODY_LIMIT or tail.endswith(b"0\r\n\r\n")
    m = _LENGTH.search(head)
    if m:
        length = int(m.group(1))
        return body >= min(length, BODY_LIMIT)
    return True


def _error(status: str, code: str, message: str) -> bytes:
    """An answer in the API's error shape (docs/api.md), made without Flask."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


TIMED_OUT = _error(
    "408 Request Timeout", "request-timeout", "the request did not arrive whole in time"
)
HEAD_TOO_LARGE = _error(
    "431 Request Header Fields Too Large", "head-too-large", "the request head is over 64 KB"
)


class BufferingThreadWorker(ThreadWorker):  # type: ignore[misc]
    """`gthread`, but a thread only ever gets a request that has fully arrived."""

    read_timeout = 30.0  # PASSERELLE_REQUEST_TIMEOUT, set by `serve.run` before workers fork

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reading: deque[Any] = deque()  # connections being read, oldest deadline first
        self.lingering: deque[Any] = deque()  # refused connections closing, oldest first

    def enqueue_req(self, conn: Any) -> None:
        if conn.initialized or self.cfg.is_ssl:
            super().enqueue_req(conn)  # a request already read (or TLS, which we do not serve)
            return
        conn.incoming = bytearray()
        conn.read_deadline = time.monotonic() + self.read_timeout
        conn.sock.setblocking(False)
        self.reading.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))

    def _readable(self, conn: Any, _sock: Any) -> None:
        try:
            chunk = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:  # the client went away before sending a whole request
            self._drop(conn)
            return
        conn.incoming += chunk
        state = complete(conn.incoming)
        if state is False:
            return
        if state is None:
            self._drop(conn, HEAD_TOO_LARGE)
            return
        self._forget(conn)
        conn.data_ready = True  # no waiting in the thread: everything is here
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        incoming = conn.__dict__.pop("incoming", None)
        if incoming is not None:
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(bytes(incoming))
        return super().handle(conn)

    def _forget(self, conn: Any) -> None:
        with contextlib.suppress(OSError, KeyError, ValueError):
            self.poller.unregister(conn.sock)
        with contextlib.suppress(ValueError):
            self.reading.remove(conn)

    def _drop(self, conn: Any, answer: bytes | None = None) -> None:
        """Closes a connection that never sent a whole request, telling it why if it can (one
        non-blocking send: a client that does not read is not waited for).

        With an answer, the close lingers (as Apache's does): closing a socket whose client
        has sent bytes we have not read makes the kernel send a reset, not a FIN, and the
        client's kernel then drops our answer before the client reads it: a slow client got
        `ConnectionResetError` instead of its 408 (#22). So the socket is half-closed after
        the answer, what the client still sends is read and discarded, and it is closed when
        the client closes its side, or after `LINGER` seconds."""
        self._forget(conn)
        if not answer:
            self.nr_conns -= 1
            conn.close()
            return
        with contextlib.suppress(OSError):
            self._discard(conn.sock)
            conn.sock.send(answer)
            conn.sock.shutdown(socket.SHUT_WR)
        conn.linger_deadline = time.monotonic() + LINGER
        self.lingering.append(conn)
        try:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._lingers, conn))
        except (OSError, ValueError, KeyError):
            self._close_lingering(conn)

    @staticmethod
    def _discard(sock: Any) -> bool:
        """Reads and drops what has arrived; True once the client has closed its side."""
        while True:
            try:
                chunk = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:
                return True
            if not chunk:
                return True

    def _lingers(self, conn: Any, _sock: Any) -> None:
        if self._discard(conn.sock):
            self._close_lingering(conn)

    def _close_lingering(self, conn: Any) -> None:
        with contextlib.suppress(OSError, KeyError, ValueError):
            self.poller.unregister(conn.sock)
        with contextlib.suppress(ValueError):
            self.lingering.remove(conn)
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        while self.reading and self.reading[0].read_deadline <= now:
            self._drop(self.reading[0], TIMED_OUT)
        while self.lingering and self.lingering[0].linger_deadline <= now:
            self._close_lingering(self.lingering[0])
