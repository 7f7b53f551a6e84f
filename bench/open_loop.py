"""An open-loop load generator: requests sent on a fixed schedule, latency counted from the schedule.

wrk (without wrk2's -R) is a closed loop: a connection sends its next request only after the previous
answer (plus a delay() pause). When the server stalls, the requests that should have been sent during
the stall are never sent, so the stall is counted once per connection instead of once per request
(coordinated omission), and the rate falls as latency rises. Here request i leaves at
start + i / rate whatever happened before, over as many keep-alive connections as needed, and its
latency is measured from that scheduled moment: a stall shows in every request it delayed, as a client
with its own schedule (the protected system) would see it. The generator's own lateness is reported
(lag) so that a busy load generator is not mistaken for a slow server.

Used by bench_access_api.py; Python asyncio, no dependency.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from urllib.parse import urlsplit


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Status code and whether the connection may be reused."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    await reader.readexactly(int(headers.get("content-length", "0")))
    keep = headers.get("connection", "").lower() != "close" and lines[0].startswith("HTTP/1.1")
    return status, keep


async def _run(host: str, port: int, requests: list[bytes], rate: float, seconds: float,
               max_connections: int) -> dict:
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(max_connections)  # a client's connection pool: late requests wait for one
    total = int(rate * seconds)
    idle: deque = deque()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lag_max = 0.0
    connections_opened = 0

    async def one(index: int, scheduled: float) -> None:
        async with slots:
            await send(index, scheduled)

    async def send(index: int, scheduled: float) -> None:
        nonlocal connections_opened
        # A kept-alive connection the server has closed meanwhile (its keep-alive timeout) fails before
        # any answer: like an HTTP client's pool, try once more on a new connection.
        for reused in ((True, False) if idle else (False,)):
            writer = None
            try:
                if reused:
                    reader, writer = idle.pop()
                else:
                    reader, writer = await asyncio.open_connection(host, port)
                    connections_opened += 1
                writer.write(requests[index % len(requests)])
                status, keep = await _read_response(reader)
                break
            except (OSError, asyncio.IncompleteReadError, ValueError):
                if writer is not None:
                    writer.close()
                if not reused:
                    statuses[0] = statuses.get(0, 0) + 1
                    return
        latencies.append(loop.time() - scheduled)
        statuses[status] = statuses.get(status, 0) + 1
        if keep:
            idle.append((reader, writer))
        else:
            writer.close()

    tasks = set()
    start = loop.time() + 0.1
    for index in range(total):
        scheduled = start + index / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lag_max = max(lag_max, loop.time() - scheduled)
        task = asyncio.create_task(one(index, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    sent_in = loop.time() - start
    await asyncio.gather(*list(tasks))
    elapsed = loop.time() - start
    for _reader, writer in idle:
        writer.close()
    return {"latencies": latencies, "statuses": statuses, "offered_rate": total / sent_in,
            "completed_rate": len(latencies) / elapsed, "max_lag_ms": lag_max * 1000,
            "connections": connections_opened}


def percentile(values: list[float], fraction: float) -> float:
    """The value at a fraction (0.99 = p99) of the sorted values (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)] if ordered else float("inf")


def paced(base_url: str, targets: list[tuple[str, dict]], rate: float, seconds: float,
          max_connections: int = 64) -> dict:
    """Send GETs of `targets` (path, headers) in turn at `rate` per second; latency percentiles in ms.

    At most `max_connections` requests are in flight (a client's pool); a request waiting for a free
    connection still counts its latency from its scheduled moment.
    """
    parts = urlsplit(base_url)
    host, port = parts.hostname, parts.port or 80
    requests = [(f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                 + "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n").encode()
                for path, headers in targets]
    started = time.process_time()
    result = asyncio.run(_run(host, port, requests, rate, seconds, max_connections))
    result["generator_cpu_s"] = time.process_time() - started
    latencies = result.pop("latencies")
    result["count"] = len(latencies)
    result.update({f"p{int(f * 1000) / 10:g}": percentile(latencies, f) * 1000 for f in (0.5, 0.75, 0.9, 0.99, 0.999)})
    result["max"] = max(latencies) * 1000 if latencies else float("inf")
    return result
