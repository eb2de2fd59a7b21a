"""Real gunicorn servers for the tests that must cross processes: concurrent claims, a throttle held by
four workers, a server killed with SIGKILL in the middle of a stream of writes."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
PASSWORD = "correct-horse-7"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """``gunicorn 'portal:create_app()'`` on a free port, configured only through the environment, as
    in production (docs/DEPLOY.md)."""

    def __init__(self, database_url: str, workers: int = 4, log: Path | None = None, settings: dict | None = None,
                 app: str = "portal:create_app()", ready: str = "/auth/login", pythonpath: str | None = None,
                 timeout: int = 60):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {
            "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
            "DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "servers-test-secret",
            "PORTAL_ARGON2": json.dumps({"time_cost": 1, "memory_cost": 8, "parallelism": 1}),
            **{f"PORTAL_{name}": json.dumps(value) for name, value in (settings or {}).items()},
        }
        self.args = [GUNICORN, "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}", "--timeout", str(timeout),
                     "--graceful-timeout", "5", *(["--pythonpath", pythonpath] if pythonpath else []), app]
        self.ready = ready
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        output = open(self.log, "wb") if self.log else subprocess.DEVNULL  # noqa: SIM115 - closed in __exit__
        self._output = output
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=output, stderr=output,
                                        start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log}")
            try:
                if requests.get(f"{self.url}{self.ready}", timeout=10).status_code < 500:
                    return self
            except requests.RequestException:  # not listening yet, or its workers still booting
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start within 60 s")

    def workers(self) -> list[int]:
        """The pids of the workers (the master's children)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def cpu_seconds(self) -> float:
        """User and system CPU time the workers have used so far."""
        total = 0
        for pid in self.workers():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return total / os.sysconf("SC_CLK_TCK")

    def kill(self) -> None:
        """SIGKILL the master and every worker at once, as a power cut would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._output is not subprocess.DEVNULL:
            self._output.close()


def signed_in(base_url: str, username: str) -> requests.Session:
    """A browser-like session signed in as ``username`` (CSRF token and all)."""
    session = requests.Session()
    token = CSRF.search(session.get(f"{base_url}/auth/login", timeout=30).text).group(1)
    response = session.post(f"{base_url}/auth/login", data={"username": username, "password": PASSWORD,
                                                             "csrf_token": token}, allow_redirects=False, timeout=30)
    assert response.status_code == 303, (username, response.status_code)
    return session


def csrf_of(session: requests.Session, url: str) -> str:
    return re.search(r'"X-CSRFToken": "([^"]+)"', session.get(url, timeout=30).text).group(1)
