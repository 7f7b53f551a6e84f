"""Run every bench/bench_*.py in turn and say which ones missed their targets.

    .venv/bin/python bench/run_all.py            (or: make bench)
    .venv/bin/python bench/run_all.py demo quiz  (only those whose names contain a word)
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(words: list[str]) -> int:
    """Run the chosen benchmarks; exit 1 when any of them failed."""
    scripts = sorted(p for p in HERE.glob("bench_*.py") if not words or any(w in p.stem for w in words))
    if not scripts:
        print("no benchmark matched", file=sys.stderr)
        return 1
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        started = time.perf_counter()
        code = subprocess.run([sys.executable, str(script)], cwd=HERE.parent).returncode
        print(f"== {script.name}: {'ok' if code == 0 else f'FAILED (exit {code})'} "
              f"in {time.perf_counter() - started:.0f} s\n", flush=True)
        if code:
            failed.append(script.name)
    print(f"{len(scripts) - len(failed)} of {len(scripts)} benchmarks met their targets"
          + (f"; missed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
