"""`make bench-import`: how long `flask import-households` takes for a roster of BENCH_ROWS rows
(150,000 by default), as CSV and as XLSX, into a fresh database with the directory loaded. The figures
go between the import markers of docs/PERFORMANCE.md."""
from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.domain.rosters import HOUSEHOLD_COLUMNS  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", 150_000))
DOC = ROOT / "docs" / "PERFORMANCE.md"
ESTATES = [f"E{n:02d}" for n in range(1, 13)]


def roster_rows(count: int) -> list[list[str]]:
    rng = random.Random(2026)
    rows = []
    for n in range(count):
        household = n // 2
        estate = ESTATES[household % len(ESTATES)]
        rows.append([estate, f"{estate}导入{household // 48 + 1}号楼{household % 48 + 1}室", "",
                     f"1{rng.choice('3578')}{rng.randrange(10**9):09d}", f"居民{n}", "", "", "否", "否", "否", ""])
    return rows


def flask(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "PORTAL_SECRET_KEY": "bench"}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "portal", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout


def timed(path: Path) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/import.sqlite3"
        flask(url, "db", "upgrade")
        flask(url, "demo-data", "--cases", "0")
        started = time.monotonic()
        output = flask(url, "import-households", str(path))
        return time.monotonic() - started, output.strip().splitlines()[-1]


def main() -> None:
    header = [c.header for c in HOUSEHOLD_COLUMNS]
    rows = roster_rows(ROWS)
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "roster.csv"
        csv_path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="gb18030")
        xlsx_path = Path(folder) / "roster.xlsx"
        book = Workbook(write_only=True)
        sheet = book.create_sheet("住户")
        sheet.append(header)
        for row in rows:
            sheet.append(row)
        book.save(xlsx_path)
        for label, path in (("CSV (GB18030)", csv_path), ("XLSX", xlsx_path)):
            seconds, output = timed(path)
            lines.append(f"| {label} | {ROWS:,} | {path.stat().st_size / 1e6:.1f} MB | {seconds:.0f} s | "
                         f"{'met' if seconds <= 120 else '**not met**'} | {output} |")
            print(lines[-1], flush=True)
    block = ("<!-- import:start -->\n"
             f"`make bench-import` ({time.strftime('%Y-%m-%d')}): `flask import-households` of a roster of {ROWS:,} "
             "residents (two to a household, in the twelve estates) into a database holding the demo directory, on "
             "SQLite, checks included. Target: 150,000 rows in under two minutes.\n\n"
             "| file | rows | size | time | target | result |\n|---|---:|---:|---:|---|---|\n" + "\n".join(lines)
             + "\n<!-- import:end -->")
    text = DOC.read_text(encoding="utf-8")
    DOC.write_text(re.sub(r"<!-- import:start -->.*?<!-- import:end -->", lambda _: block, text, flags=re.S),
                   encoding="utf-8")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
