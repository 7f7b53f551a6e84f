"""Everyone's certificates as a job, end to end, with 1 and then 2 consumers (`portal worker --workers 1`),
on synthetic attestations (1 in 100 names has 𠮷), SQLite database and SQLite queue:

    .venv/bin/python bench/bench_jobs_certificates.py [--certificates 3000] [--kill]

Targets: 2 consumers make ≥ 1.8× the certificates a minute of 1 consumer (same run); each
consumer's peak memory (VmHWM) ≤ 300 MB; progress written at least every 5 s. Also printed: the
CPU time a certificate took in the consumers. --kill: with 2 consumers, kill -9 one of them at
about 40% and start another; the ZIP must still hold every certificate once, every PDF opening
(pdfinfo) and the manifest matching. Exit 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench_certificates import _attestations, _kib_fields, _load
from training_synthetic import bench_app, exit_cleanly_on_sigterm, fresh_database, insert_people

PORTAL = Path(sys.executable).with_name("portal")
SPEED_UP_TARGET = 1.8
MEMORY_TARGET_MB = 300
PROGRESS_TARGET_S = 5.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _consumer(env: dict) -> subprocess.Popen:
    return subprocess.Popen([str(PORTAL), "worker", "--workers", "1"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _run(url: str, consumers: int, folder: Path, kill: bool) -> dict:
    """Start the job, run `consumers` consumers until it is done; figures."""
    from sqlalchemy import select

    from portal.certificates.jobs import start_certificate_export
    from portal.extensions import db
    from portal.jobs.models import Job
    from portal.jobs.services import announce_job

    queue = f"sqlite:///{folder / f'queue-{consumers}.sqlite3'}"
    files = folder / f"files-{consumers}"
    app = bench_app(url, PORTAL_JOBS_URL=queue, PORTAL_FILES_DIR=str(files))
    env = {**os.environ, "PORTAL_DATABASE_URL": url, "PORTAL_SECRET_KEY": "bench", "PORTAL_JOBS_URL": queue,
           "PORTAL_FILES_DIR": str(files), "PORTAL_JOBS_LEASE_SECONDS": "10"}
    with app.app_context():
        job = start_certificate_export(None, None, "bench")
        db.session.commit()
        job_id = job.id
        announce_job(job_id)
        processes = [_consumer(env) for _ in range(consumers)]
        started, killed = time.perf_counter(), False
        last_change, last_done, longest_gap = None, -1, 0.0  # counted from the moment a consumer started it
        peaks, cpu = {}, {}
        try:
            while True:
                time.sleep(0.1)
                db.session.rollback()
                job = db.session.get(Job, job_id, populate_existing=True)
                now = time.perf_counter()
                for process in processes:
                    if process.poll() is None:
                        peaks[process.pid] = _kib_fields(f"/proc/{process.pid}/status", ("VmHWM",)).get("VmHWM", 0)
                        cpu[process.pid] = _cpu_seconds(process.pid)
                if job.state == "running" and last_change is None:
                    last_change, last_done = now, job.done
                elif last_change is not None and job.done != last_done:
                    longest_gap = max(longest_gap, now - last_change)
                    last_done, last_change = job.done, now
                if kill and not killed and job.total and job.done >= 0.4 * job.total:
                    processes[0].send_signal(signal.SIGKILL)
                    processes[0].wait()
                    processes.append(_consumer(env))
                    killed = True
                if job.state in ("done", "failed") or now - started > 3600:
                    break
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait()
        elapsed = time.perf_counter() - started
        result = db.session.scalar(select(Job).where(Job.id == job_id))
        return {"state": result.state, "done": result.done, "elapsed": elapsed,
                "per_minute": result.done / elapsed * 60, "peak_mb": max(peaks.values(), default=0) / 1024,
                "cpu_ms": sum(cpu.values()) / max(result.done, 1) * 1000, "gap": longest_gap,
                "zip": files / result.result_path if result.result_path else None}


def _check_zip(path: Path, expected: int) -> str:
    """'' when every certificate is there once, every PDF opens and the manifest matches; else what is wrong."""
    archive = zipfile.ZipFile(path)
    pdfs = [name for name in archive.namelist() if name.endswith(".pdf")]
    if len(pdfs) != expected or len(set(pdfs)) != expected:
        return f"{len(pdfs)} PDFs ({len(set(pdfs))} distinct), expected {expected}"
    for name in pdfs:
        if subprocess.run(["pdfinfo", "-"], input=archive.read(name), capture_output=True).returncode != 0:
            return f"{name} does not open"
    manifest = list(csv.reader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    return "" if sorted(row[0] for row in manifest[1:]) == sorted(pdfs) else "manifest differs from the PDFs"


def main() -> int:
    """Run the benchmark; 0 when every target is met."""
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certificates", type=int, default=3000)
    parser.add_argument("--kill", action="store_true", help="kill -9 a consumer mid-export (2 consumers)")
    args = parser.parse_args()
    ok = True
    with fresh_database("sqlite") as url, tempfile.TemporaryDirectory() as folder:
        with bench_app(url).app_context():
            insert_people(args.certificates, max(args.certificates // 250, 1))
            _attestations(args.certificates)
        runs = {n: _run(url, n, Path(folder), kill=args.kill and n == 2) for n in (1, 2)}
        for n, run in runs.items():
            problem = _check_zip(run["zip"], args.certificates) if run["zip"] else run["state"]
            memory_ok, gap_ok = run["peak_mb"] <= MEMORY_TARGET_MB, run["gap"] <= PROGRESS_TARGET_S
            ok = ok and not problem and memory_ok and gap_ok
            print(f"{n} consumer(s): {run['done']} certificates in {run['elapsed']:.1f} s = "
                  f"{run['per_minute']:.0f} a minute; CPU {run['cpu_ms']:.1f} ms a certificate; peak "
                  f"{run['peak_mb']:.0f} MB per consumer ({'ok' if memory_ok else 'TOO MUCH'}; target ≤ "
                  f"{MEMORY_TARGET_MB} MB); longest wait for progress {run['gap']:.1f} s "
                  f"({'ok' if gap_ok else 'TOO SLOW'}; "
                  f"target ≤ {PROGRESS_TARGET_S:.0f} s); ZIP {problem or 'complete and valid'}"
                  f"{' after kill -9 of a consumer' if args.kill and n == 2 else ''}; {_load()}", flush=True)
        ratio = runs[2]["per_minute"] / runs[1]["per_minute"]
        scaled = ratio >= SPEED_UP_TARGET
        ok = ok and scaled
        print(f"2 consumers ÷ 1 consumer: {ratio:.2f}× ({'ok' if scaled else 'TOO SLOW'}; target ≥ "
              f"{SPEED_UP_TARGET}×; {os.cpu_count()} CPUs)", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
