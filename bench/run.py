"""`make bench`: the portal under gunicorn on district-scale data, driven by wrk, on SQLite and PostgreSQL.

For each database: build it once (migrate, the directory, then `flask generate` with BENCH_HOUSEHOLDS and
BENCH_CASES; kept under bench/data/ or as the PostgreSQL database portal_bench_<cases>_<households>,
never in git),
start gunicorn with two workers, sign in, and run wrk against each page for BENCH_SECONDS. Every figure
is also given as a ratio to the floor, a bare signed-in page, measured in the same run. The table goes
between the bench markers of docs/PERFORMANCE.md; the raw figures to bench/data/results-<db>.json.
"""
from __future__ import annotations

import itertools
import json
import os
import platform
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import Gunicorn  # noqa: E402

DATA = ROOT / "bench" / "data"
DOC = ROOT / "docs" / "PERFORMANCE.md"
LUA = ROOT / "bench" / "report.lua"
HOUSEHOLDS = int(os.environ.get("BENCH_HOUSEHOLDS", 150_000))
CASES = int(os.environ.get("BENCH_CASES", 1_000_000))
SECONDS = int(os.environ.get("BENCH_SECONDS", 10))
THREADS, CONNECTIONS, WRITERS = 2, 8, 20
PASSWORD = "demo2026"
POSTGRES_ADMIN = os.environ.get("BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def flask(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "PORTAL_SECRET_KEY": "bench"}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "portal", *args], cwd=ROOT, env=env,
                            check=True, capture_output=True, text=True)
    return result.stdout


def build(url: str) -> None:
    print(f"building {url} with {HOUSEHOLDS:,} households and {CASES:,} cases (once)", flush=True)
    flask(url, "db", "upgrade")
    flask(url, "demo-data", "--cases", "0")
    started = time.monotonic()
    print(flask(url, "generate", "--households", str(HOUSEHOLDS), "--cases", str(CASES)).strip().splitlines()[-1])
    (DATA / f"generate-{url.split(':')[0]}.json").write_text(json.dumps({"seconds": round(time.monotonic() - started)}))


def sqlite_database() -> str:
    path = DATA / f"bench-{CASES}-{HOUSEHOLDS}.sqlite3"
    url = f"sqlite:///{path}"
    marker = path.with_name(path.name + ".done")
    if not marker.exists():
        path.unlink(missing_ok=True)
        build(url)
        marker.touch()
    return url


def postgres_database() -> str | None:
    admin = sa.create_engine(POSTGRES_ADMIN.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            name = f"portal_bench_{CASES}_{HOUSEHOLDS}"
            url = admin.url.set(database=name, drivername="postgresql").render_as_string(hide_password=False)
            marker = DATA / f"{name}.done"
            exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if not (exists and marker.exists()):
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
                build(url)
                marker.touch()
            return url
    except sa.exc.OperationalError as error:
        print(f"PostgreSQL not reachable ({error.__class__.__name__}); benchmarking SQLite only")
        return None
    finally:
        admin.dispose()


# --- driving the server ------------------------------------------------------------------------------------

def session_of(base: str, username: str) -> tuple[str, str]:
    """The session cookie and CSRF token of ``username``, signed in."""
    session = requests.Session()
    page = session.get(f"{base}/auth/login", timeout=60).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = session.post(f"{base}/auth/login", data={"username": username, "password": PASSWORD,
                                                         "csrf_token": token}, allow_redirects=False, timeout=60)
    assert response.status_code == 303, (username, response.status_code)
    home = session.get(f"{base}/", timeout=60).text
    return f"portal_session={session.cookies['portal_session']}", re.search(r'"X-CSRFToken": "([^"]+)"', home).group(1)


def wrk(base: str, path: str, headers: dict[str, str], connections: int = CONNECTIONS, lines: list[str] | None = None,
        method: str = "GET", body: str = "") -> dict:
    env = {**os.environ, "BENCH_THREADS": str(THREADS)}
    if lines:
        handle = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)  # noqa: SIM115 - removed below
        handle.write("\n".join(lines) + "\n")
        handle.close()
        env["BENCH_LINES"] = handle.name
    elif method != "GET":
        handle = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)  # noqa: SIM115
        handle.write(f"{method} {path} {body}\n")
        handle.close()
        env["BENCH_LINES"], env["BENCH_THREADS"] = handle.name, "1"
    args = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{SECONDS}s", "--timeout", "10s", "-s", str(LUA)]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    output = subprocess.run([*args, base + path], capture_output=True, text=True, env=env, check=True).stdout
    if "BENCH_LINES" in env:
        Path(env["BENCH_LINES"]).unlink()
    return json.loads(output.strip().splitlines()[-1])


def worker_memory(master: int) -> list[float]:
    """Resident memory (MB) of each gunicorn worker."""
    sizes = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == master:
                status = (stat.parent / "status").read_text()
                sizes.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024)
        except (OSError, AttributeError, IndexError):
            continue
    return sizes


def select(url: str, *queries: str) -> list[list[tuple]]:
    """The rows of each read-only query, on a connection of its own."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        rows = [connection.execute(sa.text(query)).all() for query in queries]
    engine.dispose()
    return rows


def fixtures(url: str) -> dict:
    """What the scenarios need from the data: a case of the post, a phone with history, an API key."""
    [(case,)], [(phone,)] = select(
        url,
        "SELECT c.number FROM cases c JOIN service_points p ON p.id = c.service_point_id "
        "WHERE p.code = 'LS-P01' AND c.status = 'closed' ORDER BY c.id DESC LIMIT 1",
        "SELECT requester_phone FROM cases WHERE place_id = (SELECT id FROM places WHERE code = 'H01') "
        "AND description <> 'bench' "
        "ORDER BY id DESC LIMIT 1")
    key = flask(url, "api-key", "create", "--point", "LS-P01", "--name", f"bench-{time.time_ns()}").split()[-1]
    return {"case": case, "phone": phone, "key": key}


def writers_lines(url: str, create: str | None = None) -> list[str]:
    """Claims of the cases the creation run just logged, and callbacks of resolved cases, interleaved; with
    ``create`` (a kiosk's POST line), a new case between each (the mixed writers)."""
    waiting, resolved = select(
        url,
        "SELECT number, version FROM cases WHERE status = 'logged' AND channel = 'kiosk' ORDER BY id DESC "
        "LIMIT 20000",
        "SELECT number, version FROM cases WHERE status = 'resolved' ORDER BY id DESC LIMIT 20000")
    claims = [f"POST /cases/{n}/act/claim claim-version={v}" for n, v in waiting]
    closes = [f"POST /cases/{n}/act/close close-version={v}&close-outcome=solved&close-satisfaction=satisfied"
              for n, v in resolved]
    # Interleaved while both last, then the rest: a line is never sent twice (a second claim would be a 409).
    lines = [line for pair in itertools.zip_longest(claims, closes) for line in pair if line is not None]
    return [line for each in lines for line in (each, create)] if create else lines


def run(backend: str, url: str) -> dict:
    flask(url, "db", "upgrade")  # data built by an older checkout gets the newer indexes
    data = fixtures(url)
    results: dict[str, dict] = {}
    log = DATA / f"gunicorn-{backend}.log"
    with Gunicorn(url, workers=2, log=log, settings={"OPEN311_KEY_RATE_PER_MINUTE": 10**9,
                                                     "LOOKUP_ADDRESS_ATTEMPTS": 10**9}) as server:
        base = server.url
        staff, staff_token = session_of(base, "staff-ls-p01")
        proxy, _ = session_of(base, "proxy-h01")
        lead, lead_token = session_of(base, "leader")
        board = requests.get(f"{base}/boards/place/V1", headers={"Cookie": lead}, timeout=60).text
        etag = re.search(r'data-etag="([^"]+)"', board).group(1)
        pages = [
            ("floor", "a bare signed-in page (the stack's floor)", "/auth/password", staff),
            ("queue", "my queue", "/cases/?tab=mine", staff),
            ("errands", "claimable errands (a proxy's pool)", "/errands/", proxy),
            ("case", "a case page", f"/cases/{data['case']}", staff),
            ("village", "a village board (东岙村)", "/boards/place/V1", lead),
            ("estate", "an estate board (金色环海)", "/boards/place/E01", lead),
            ("wall", "the district wall view", "/boards/wall", lead),
            ("caller", "caller history by phone", f"/intake/caller?requester_phone={data['phone']}", staff),
        ]
        for key, label, path, cookie in pages:
            requests.get(base + path, headers={"Cookie": cookie}, timeout=60)  # warm both workers' caches
            results[key] = {"label": label, **wrk(base, path, {"Cookie": cookie})}
            print(f"{backend:10} {label:45} {results[key]['rps']:8.1f}/s  p95 {results[key]['p95']:7.1f} ms", flush=True)
        results["poll"] = {"label": "an unchanged board poll (304)", **wrk(base, "/boards/place/V1", {
            "Cookie": lead, "HX-Request": "true", "X-Portal-Poll": "1", "If-None-Match": f'"{etag}"'})}
        body = (f"api_key={data['key']}&service_code=CV05&address_id=H01&phone=13912345678&description=bench")
        results["create"] = {"label": "case creation (a kiosk's Open311 POST)", **wrk(
            base, "/open311/v2/requests.json", {"Content-Type": "application/x-www-form-urlencoded"},
            method="POST", body=body)}
        lines = writers_lines(url)
        results["writers"] = {"label": f"claim and callback, {WRITERS} concurrent writers", **wrk(
            base, "/", {"Cookie": lead, "X-CSRFToken": lead_token,
                        "Content-Type": "application/x-www-form-urlencoded"}, connections=WRITERS, lines=lines)}
        results["mixed"] = {"label": f"mixed: kiosk POSTs, claims and callbacks, {WRITERS} writers", **wrk(
            base, "/", {"Cookie": lead, "X-CSRFToken": lead_token,
                        "Content-Type": "application/x-www-form-urlencoded"}, connections=WRITERS,
            lines=writers_lines(url, f"POST /open311/v2/requests.json {body}"))}
        for key in ("poll", "create", "writers", "mixed"):
            print(f"{backend:10} {results[key]['label']:45} {results[key]['rps']:8.1f}/s  p95 "
                  f"{results[key]['p95']:7.1f} ms", flush=True)
        memory = worker_memory(server.process.pid)
    log_text = log.read_text(errors="replace")
    return {"backend": backend, "results": results, "memory_mb": memory,
            "locked": "database is locked" in log_text, "server_errors": log_text.count("Traceback")}


# --- the report ----------------------------------------------------------------------------------------------

def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) // 1024
    try:
        postgres = subprocess.run(["psql", POSTGRES_ADMIN, "-Atc", "SHOW server_version"], capture_output=True,
                                  text=True, timeout=10).stdout.strip() or "n/a"
    except OSError:
        postgres = "n/a"
    return (f"{cpu}, {os.cpu_count()} cores, {memory:,} MB RAM; {platform.platform()}; Python "
            f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, PostgreSQL {postgres}; gunicorn with 2 "
            f"sync workers; wrk with {THREADS} threads and {CONNECTIONS} connections ({WRITERS} for the writers), "
            f"{SECONDS} s a page, on the same machine over loopback")


def verdict(key: str, figures: dict, floor: dict) -> str:
    ratio = floor["rps"] / figures["rps"] if figures["rps"] else float("inf")
    checks = []
    if key == "poll":
        checks.append(figures["rps"] >= 0.9 * floor["rps"])
    elif key == "create":
        checks.append(figures["rps"] >= 300)
    elif key in ("writers", "mixed"):
        checks += [figures["p95"] <= 100, figures["bad_status"] == 0 and figures["socket_errors"] == 0]
    elif key != "floor":
        checks += [ratio <= 2, figures["p95"] <= (20 if key == "caller" else 50)]
    return "—" if not checks else ("met" if all(checks) else "**not met**")


def table(run_: dict) -> str:
    results = run_["results"]
    floor = results["floor"]
    rows = ["| page | requests/s | p50 ms | p95 ms | ratio to floor | errors | target |", "|---|---:|---:|---:|---:|---:|---|"]
    for key, figures in results.items():
        ratio = floor["rps"] / figures["rps"] if figures["rps"] else float("inf")
        rows.append(f"| {figures['label']} | {figures['rps']:.0f} | {figures['p50']:.1f} | {figures['p95']:.1f} | "
                    f"{ratio:.2f}× | {figures['bad_status'] + figures['socket_errors']} | {verdict(key, figures, floor)} |")
    memory = ", ".join(f"{m:.0f}" for m in run_["memory_mb"])
    rows.append("")
    rows.append(f"Resident memory per worker after the run: {memory} MB (target ≤ 150 MB: "
                f"{'met' if run_['memory_mb'] and max(run_['memory_mb']) <= 150 else '**not met**'}). "
                f"\"database is locked\" in the server log: {'yes' if run_['locked'] else 'never'}; "
                f"server errors: {run_['server_errors']}.")
    return "\n".join(rows)


def write_report(runs: list[dict]) -> None:
    parts = [f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {machine()}. Data: {HOUSEHOLDS:,} households and "
             f"{CASES:,} generated cases over three years (plus the demo directory)."]
    for run_ in runs:
        generated = DATA / f"generate-{run_['backend']}.json"
        took = json.loads(generated.read_text())["seconds"] if generated.exists() else None
        parts.append(f"### {'SQLite' if run_['backend'] == 'sqlite' else 'PostgreSQL'}\n\n"
                     + (f"Generating the data took {took // 60} min {took % 60} s.\n\n" if took else "")
                     + table(run_))
    text = DOC.read_text(encoding="utf-8")
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    block = f"{start}\n" + "\n\n".join(parts) + f"\n{end}"
    text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    DOC.write_text(text, encoding="utf-8")


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    runs = []
    wanted = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
    urls = {"sqlite": sqlite_database()} if "sqlite" in wanted else {}
    if "postgresql" in wanted and (url := postgres_database()):
        urls["postgresql"] = url
    if os.environ.get("BENCH_BUILD_ONLY"):
        return
    for backend, url in urls.items():
        runs.append(run(backend, url))
    for run_ in runs:
        (DATA / f"results-{run_['backend']}.json").write_text(json.dumps(run_, indent=1))
    write_report(runs)
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
