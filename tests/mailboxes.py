"""Real local servers for the delivery tests: an HTTP SMS gateway and an SMTP server, each in a thread on a
free port, that record what reached them and can be told to fail, refuse, hang, answer late, trickle their
answer a byte at a time, or die mid-send; the SMTP server can speak TLS (STARTTLS, or from its first byte)
with a certificate of the test's own."""
from __future__ import annotations

import json
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs


class _Gateway(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server: SmsGateway = self.server.owner
        fields = (json.loads(body) if self.headers.get("Content-Type", "").startswith("application/json")
                  else {k: v[0] for k, v in parse_qs(body.decode()).items()})
        mode = server.next_mode()
        server.received.append(fields)
        if server.on_request is not None:
            server.on_request(fields)  # the gateway's time passing, something happening meanwhile
        if mode == "die":  # took the request, then went away without a word
            self.close_connection = True
            return
        if mode == "hang":
            time.sleep(server.hang_seconds)
        if mode == "fail":
            self.send_response(503)
            self.end_headers()
            return
        answer = {"code": "40", "msg": "blacklisted"} if mode == "refuse" else {"code": "0", "msg": "ok"}
        data = json.dumps(answer).encode()
        try:
            if mode == "trickle":
                self.trickle(data, server)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the portal stopped waiting (its deadline)
            pass

    def trickle(self, data: bytes, server: SmsGateway) -> None:
        """A whole, well-formed 200 answer, one byte at a time: no single read ever waits long."""
        answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                  + str(len(data)).encode() + b"\r\n\r\n" + data)
        self.close_connection = True
        for byte in answer:
            if server.stopped.is_set():
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(server.trickle_seconds)

    def log_message(self, *args):
        pass


class _Serving:
    """Serves ``self.server`` in a thread inside a ``with`` block; ``stopped`` is set when it ends."""

    server: socketserver.BaseServer
    stopped: threading.Event

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()


class SmsGateway(_Serving):
    """``modes`` are used one per request, then "ok" for ever: "ok", "fail" (503), "refuse" (a 200 that says
    no), "hang" (answers after ``hang_seconds``), "trickle" (a 200 one byte every ``trickle_seconds``), "die"
    (takes the request and closes the connection without an answer). ``on_request(fields)`` is called with
    each request before it is answered, in the server's thread."""

    def __init__(self, modes=(), hang_seconds: float = 2.0, trickle_seconds: float = 0.05,
                 on_request: Callable[[dict], None] | None = None):
        self.modes, self.hang_seconds, self.received, self.lock = list(modes), hang_seconds, [], threading.Lock()
        self.trickle_seconds, self.on_request, self.stopped = trickle_seconds, on_request, threading.Event()
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


@dataclass(frozen=True)
class Certificate:
    cert: str
    key: str


def self_signed_certificate(folder: Path) -> Certificate:
    """A certificate for 127.0.0.1 and localhost, signed by itself: no system trusts it unless told to."""
    cert, key = folder / "server.crt", folder / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return Certificate(str(cert), str(key))


class _Smtp(socketserver.StreamRequestHandler):
    def handle(self):
        try:
            if self.server.owner.tls == "implicit" and not self.start_tls():
                return
            self.converse()
        except OSError:  # the portal hung up (its deadline), or stopped trusting us
            pass

    def finish(self):
        super().finish()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.close()

    def start_tls(self) -> bool:
        """Speak TLS from here on; False when the client gave up the handshake (it did not trust us)."""
        try:
            wrapped = self.server.owner.context.wrap_socket(self.connection, server_side=True)
        except OSError:
            return False
        self.rfile.close()
        self.wfile.close()
        self.connection = wrapped
        self.rfile, self.wfile = wrapped.makefile("rb"), wrapped.makefile("wb", buffering=0)
        return True

    def say(self, line: bytes) -> None:
        server: SmtpServer = self.server.owner
        if not server.trickle_seconds:
            self.wfile.write(line)
            return
        for byte in line:
            if server.stopped.is_set():
                raise ConnectionAbortedError
            self.wfile.write(bytes([byte]))
            time.sleep(server.trickle_seconds)

    def converse(self):
        server: SmtpServer = self.server.owner
        self.say(b"220 test ESMTP\r\n")
        lines, reading = [], False
        while line := self.rfile.readline():
            if reading:
                if line in (b".\r\n", b".\n"):
                    server.messages.append(b"".join(lines).decode())
                    lines, reading = [], False
                    self.say(b"250 queued\r\n")
                else:
                    lines.append(line[1:] if line.startswith(b"..") else line)
                continue
            verb = line.split(b" ")[0].strip().upper()
            if verb == b"EHLO" and server.tls == "starttls":
                self.say(b"250-test\r\n250 STARTTLS\r\n")
            elif verb == b"STARTTLS":
                self.say(b"220 go ahead\r\n")
                if not self.start_tls():
                    return
            elif verb == b"DATA":
                reading = True
                self.say(b"354 end with .\r\n")
            elif verb == b"QUIT":
                self.say(b"221 bye\r\n")
                return
            else:
                self.say(b"250 ok\r\n")


class SmtpServer(_Serving):
    """``tls``: None (plain), "starttls" (offers STARTTLS) or "implicit" (TLS from the first byte), with
    ``certificate``; ``trickle_seconds``: every reply a byte at a time, this far apart."""

    def __init__(self, tls: str | None = None, certificate: Certificate | None = None, trickle_seconds: float = 0):
        self.messages: list[str] = []
        self.tls, self.trickle_seconds, self.stopped = tls, trickle_seconds, threading.Event()
        if tls:
            self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.context.load_cert_chain(certificate.cert, certificate.key)
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
        self.server.daemon_threads = True
        self.server.owner = self
        self.port = self.server.server_address[1]
