"""How long a concurrent writer waits while a bulk `label --where` runs (issue 17).

Builds ``--n`` mentions with ``bench/gen.py``, then times ``social-watch claim`` (a
writer) alone as the baseline, and again while ``social-watch label negative --where
status=answered`` (a bulk write over most of the rows) runs in another process. Before
batching, the bulk label held the write lock for its whole run, so the claim waited all of
it (or died at the busy timeout); now it waits at most about one batch. Prints the bulk
label's own time, the claim's wait and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen


def sw(*args: str, db: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "social_watch", *args, "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SOCIAL_WATCH_AGENT": "jana"},
    )


def timed(*args: str, db: Path) -> tuple[float, int, str]:
    t0 = time.perf_counter()
    proc = sw(*args, db=db)
    _, err = proc.communicate()
    return time.perf_counter() - t0, proc.returncode, err.strip()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200_000)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="sw-bench-lock-"))
    db = work / "lock.db"
    try:
        t0 = time.perf_counter()
        gen.build_db(db, args.n)
        print(f"built {args.n:,} mentions in {time.perf_counter() - t0:.1f} s")
        with sqlite3.connect(db) as conn:
            open_ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM mentions WHERE status = 'open' AND item_id = id LIMIT 3"
                )
            ]
            bulk = conn.execute(
                "SELECT COUNT(*) FROM mentions WHERE status = 'answered'"
            ).fetchone()
        base, rc, err = timed("claim", str(open_ids[0]), db=db)
        print(f"claim alone: {base * 1000:.0f} ms (exit {rc})")
        t0 = time.perf_counter()
        label = sw("label", "negative", "--where", "status=answered", db=db)
        time.sleep(1.0)  # let the bulk label get going (a benchmark, not a test)
        during, rc, err = timed("claim", str(open_ids[1]), db=db)
        label.communicate()
        total = time.perf_counter() - t0
        print(f"bulk label of {bulk[0]:,} rows: {total:.1f} s (exit {label.returncode})")
        print(
            f"claim during the bulk label: {during * 1000:.0f} ms (exit {rc}) = "
            f"{during / base:.1f}x alone; {err or 'no error'}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
