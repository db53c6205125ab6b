"""Peak memory of `social-watch import` at 200,000 and 2,000,000 mentions.

Usage: .venv/bin/python bench/import_memory.py [--sizes 200000,2000000] [--dir DIR] [--keep]

For each size, generates the file (``bench/gen.py``, streamed to disk: the 2 M file is
about 700 MB), runs ``social-watch import FILE`` as a child process into a fresh database,
and reports the child's own peak resident set size (``os.wait4`` → ``ru_maxrss``) plus
its RSS sampled from ``/proc`` while it runs, at each quarter of the run: a flat import
shows the same RSS at 25 % and at 100 %. Baselines measured in the same run: the peak of
``social-watch --version`` (interpreter and click) and of importing 1,000 mentions
(every module and lexicon loaded, almost no data).

Floor (issue 3): import memory flat whatever the size, under 150 MB. The 2 M import takes
several minutes; the files go to ``--dir`` (default: a temporary folder under /tmp),
removed at the end unless ``--keep``. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import gen  # noqa: E402

FLOOR_MB = 150.0
EXE = str(Path(sys.executable).with_name("social-watch"))


def _rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _private_mb(pid: int) -> float | None:
    """Pages of ``pid`` not shared with any other process (what it adds to the machine)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            kb = sum(int(line.split()[1]) for line in f if line.startswith("Private_"))
    except OSError:
        return None
    return kb / 1024


def run_child(cmd: list[str], *, sample_every: float = 0.25) -> dict[str, object]:
    """Run ``cmd``; its own peak RSS (MB), RSS samples over time, wall time, exit code.

    A long import forks an enrichment worker (``social_watch.parallel``): its peak RSS
    and its private (unshared) memory are sampled too; ``os.wait4`` reports only the
    larger of the two processes' peaks, so the parent's own peak is the sampled one.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOCIAL_WATCH_")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    samples: list[tuple[float, float]] = []
    worker_rss = worker_private = parent_rss = 0.0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        rss = _rss_mb(proc.pid)
        if rss is not None:
            samples.append((time.perf_counter() - t0, rss))
            parent_rss = max(parent_rss, rss)
        for kid in _children(proc.pid):
            worker_rss = max(worker_rss, _rss_mb(kid) or 0.0)
            worker_private = max(worker_private, _private_mb(kid) or 0.0)
        time.sleep(sample_every)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    return {
        "peak_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "parent_mb": parent_rss,
        "worker_mb": worker_rss,
        "worker_private_mb": worker_private,
        "samples": samples,
        "wall": wall,
        "rc": proc.returncode,
        "out": out.strip(),
        "err": err.strip()[-500:],
    }


def quarters(samples: list[tuple[float, float]], wall: float) -> str:
    """Highest RSS sampled in each quarter of the run's wall time (flat: four equal numbers)."""
    marks = []
    for q in (0.25, 0.5, 0.75, 1.0):
        inside = [rss for t, rss in samples if (q - 0.25) * wall < t <= q * wall]
        marks.append(f"{max(inside):.0f}" if inside else "-")
    return "/".join(marks)


def fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="200000,2000000", help="comma-separated line counts")
    ap.add_argument("--dir", help="where to put the files (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    work = Path(args.dir or tempfile.mkdtemp(prefix="sw-bench-mem-"))
    work.mkdir(parents=True, exist_ok=True)
    config = work / "social-watch.toml"
    config.write_text(gen.CONFIG_TOML, encoding="utf-8")
    try:
        print(f"cores: {os.cpu_count()}; files in {work}")
        base = run_child([EXE, "--version"])
        print(f"{'social-watch --version':<34} peak {base['peak_mb']:6.1f} MB")
        small = work / "mentions-1000.jsonl"
        gen.write_jsonl(small, 1000)
        cmd = [EXE, "import", "--config", str(config), "--db", str(fresh(work / "m.db"))]
        warm = run_child([*cmd, str(small)])
        print(f"{'import of 1,000 mentions':<34} peak {warm['peak_mb']:6.1f} MB")

        rows = []
        for n in sizes:
            data = work / f"mentions-{n}.jsonl"
            if not data.exists():
                t0 = time.perf_counter()
                gen.write_jsonl(data, n)
                print(
                    f"generated {n:,} mentions ({data.stat().st_size / 1e6:.0f} MB) "
                    f"in {time.perf_counter() - t0:.0f} s"
                )
            db = fresh(work / "m.db")
            res = run_child([EXE, "import", "--config", str(config), "--db", str(db), str(data)])
            if res["rc"] not in (0, 1):
                print(f"import of {n:,} failed ({res['rc']}): {res['err']}")
                continue
            peak = float(res["peak_mb"])  # type: ignore[arg-type]
            wall = float(res["wall"])  # type: ignore[arg-type]
            samples = res["samples"]
            rows.append((n, peak))
            print(
                f"{f'import of {n:,} mentions':<34} peak {peak:6.1f} MB "
                f"(+{peak - float(warm['peak_mb']):.1f} over the 1,000 import)  "
                f"max RSS per quarter of the run: {quarters(samples, wall)} MB  "  # type: ignore[arg-type]
                f"{wall:.0f} s, {n / wall:,.0f} mentions/s  [{res['out']}]"
            )
            db_size = sum(
                Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists()
            )
            if res["worker_mb"]:
                print(
                    f"{'':<34} sampled: parent {res['parent_mb']:.1f} MB; enrichment worker "
                    f"{res['worker_mb']:.1f} MB RSS, of it {res['worker_private_mb']:.1f} MB "
                    "its own (the rest shared with the parent)"
                )
            print(f"{'':<34} database {db_size / 1e6:.0f} MB")
            fresh(db)
            if not args.keep:
                data.unlink(missing_ok=True)

        print()
        for n, peak in rows:
            verdict = "ok" if peak < FLOOR_MB else f"OVER {FLOOR_MB:.0f} MB"
            print(f"peak at {n:>9,}: {peak:6.1f} MB  [{verdict}]")
        if len(rows) >= 2:
            (n1, p1), (n2, p2) = rows[0], rows[-1]
            growth = p2 - p1
            print(
                f"growth from {n1:,} to {n2:,} mentions ({n2 / n1:.0f}x the data): "
                f"{growth:+.1f} MB ({growth / p1:+.1%}) -> "
                f"{'flat' if abs(growth) < 0.1 * p1 else 'NOT flat'}"
            )
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
