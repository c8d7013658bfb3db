"""A DNS server on loopback answering `_atproto.DOMAIN TXT "did=…"` for a world's domains.

The service reaches it through `PASSERELLE_DNS_SERVERS`, the same code path (dnspython) that
asks the system's resolver in production. Unknown names get NXDOMAIN, as a real server says.
"""

from __future__ import annotations

import socket
import threading

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class TxtServer:
    def __init__(self, records: dict[str, str]) -> None:
        self.records = {k.lower().rstrip("."): v for k, v in records.items()}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.queries = 0
        self.mode = "answer"  # or "silent" (a resolver down) or "servfail" (one that fails)
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            try:
                query = dns.message.from_wire(data)
            except Exception:
                continue
            self.queries += 1
            if self.mode == "silent":
                continue
            reply = dns.message.make_response(query)
            if self.mode == "servfail":
                reply.set_rcode(dns.rcode.SERVFAIL)
                self.sock.sendto(reply.to_wire(), peer)
                continue
            question = query.question[0]
            name = question.name.to_text().lower().rstrip(".")
            value = self.records.get(name)
            if value is not None and question.rdtype == dns.rdatatype.TXT:
                reply.answer.append(
                    dns.rrset.from_text(question.name, 300, "IN", "TXT", f'"{value}"')
                )
            elif value is None:
                reply.set_rcode(dns.rcode.NXDOMAIN)
            try:
                self.sock.sendto(reply.to_wire(), peer)
            except OSError:
                return

    def stop(self) -> None:
        self._stop = True
        self.sock.close()
