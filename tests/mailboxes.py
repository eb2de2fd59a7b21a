"""Real local servers for the delivery tests: an HTTP SMS gateway and an SMTP server, each in a thread on a
free port, that record what reached them and can be told to fail, refuse, hang or answer slowly."""
from __future__ import annotations

import json
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class _Gateway(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server: SmsGateway = self.server.owner
        fields = (json.loads(body) if self.headers.get("Content-Type", "").startswith("application/json")
                  else {k: v[0] for k, v in parse_qs(body.decode()).items()})
        mode = server.next_mode()
        server.received.append(fields)
        if mode == "hang":
            time.sleep(server.hang_seconds)
        if mode == "fail":
            self.send_response(503)
            self.end_headers()
            return
        answer = {"code": "40", "msg": "blacklisted"} if mode == "refuse" else {"code": "0", "msg": "ok"}
        data = json.dumps(answer).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the portal stopped waiting (its timeout)
            pass

    def log_message(self, *args):
        pass


class _Serving:
    """Serves ``self.server`` in a thread inside a ``with`` block."""

    server: socketserver.BaseServer

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class SmsGateway(_Serving):
    """``modes`` are used one per request ("ok", "fail", "refuse", "hang"), then "ok" for ever."""

    def __init__(self, modes=(), hang_seconds: float = 2.0):
        self.modes, self.hang_seconds, self.received, self.lock = list(modes), hang_seconds, [], threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
        self.server.owner = self
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms/send"

    def next_mode(self) -> str:
        with self.lock:
            return self.modes.pop(0) if self.modes else "ok"

    def delivered(self) -> dict[str, list[dict]]:
        """What reached the gateway, by message key (a gateway drops a repeat of a key it has)."""
        by_key: dict[str, list[dict]] = {}
        for fields in self.received:
            by_key.setdefault(fields["requestId"], []).append(fields)
        return by_key


class _Smtp(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 test ESMTP\r\n")
        lines, reading = [], False
        while line := self.rfile.readline():
            if reading:
                if line in (b".\r\n", b".\n"):
                    self.server.owner.messages.append(b"".join(lines).decode())
                    lines, reading = [], False
                    self.wfile.write(b"250 queued\r\n")
                else:
                    lines.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line[:4].upper()
            if verb == b"DATA":
                reading = True
                self.wfile.write(b"354 end with .\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


class SmtpServer(_Serving):
    def __init__(self):
        self.messages: list[str] = []
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
        self.server.daemon_threads = True
        self.server.owner = self
        self.port = self.server.server_address[1]
