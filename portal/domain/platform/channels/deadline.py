"""The whole time one request to a gateway may take, shared by the channels that talk to one over a socket."""
from __future__ import annotations

import socket
import threading
import time


class Deadline:
    """The whole time one request to a gateway may take: connecting, TLS, sending, and every byte of the answer.
    A socket's timeout bounds each read alone, so a gateway trickling its answer a byte at a time could hold a
    message for ever, past its lease. When the time is up, the connection is shut under whatever call waits on
    it (through a duplicate of the socket, which wrapping it in TLS leaves open)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        with self._lock:
            for twin in self._watched:
                twin.close()
            self._watched.clear()

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError(self.reason())
        return left

    def reason(self) -> str:
        return f"no whole answer within {self.seconds:g} s"

    def connect(self, host: str, port: int, source_address=None) -> socket.socket:
        """A TCP connection to ``host``, shut when the time is up."""
        sock = socket.create_connection((host, port), self.remaining(), source_address)
        twin = sock.dup()
        with self._lock:
            self._watched.append(twin)
            if self.expired:
                _shut(twin)
        return sock

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for twin in self._watched:
                _shut(twin)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed already
