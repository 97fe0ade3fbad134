"""Load generators, all bounded in count and time and aimed at 127.0.0.1 only.

- closed loop: wrk (Debian's), one thread, C keep-alive connections, D seconds; a Lua script
  posts the workload's body and counts non-200 answers and GraphQL `errors` as errors.
- open loop: an asyncio/httpx client that sends at a fixed rate for a fixed time and measures
  each latency from the request's *scheduled* send time (no coordinated omission). At most
  MAX_IN_FLIGHT requests are outstanding; a send that would exceed it is dropped and counted.
- sequential: one request at a time, for the "after a write" and N+1 figures.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bench.common import BENCH

WRK_SCRIPT = BENCH / "wrk_post.lua"
MAX_IN_FLIGHT = 64
REQUEST_TIMEOUT_S = 10.0


def _assert_loopback(url: str) -> None:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"load is only ever sent to this machine's loopback, not {host}")


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def wrk_available() -> str | None:
    return shutil.which("wrk")


def run_wrk(url: str, body: dict, headers: dict[str, str], connections: int, duration_s: float) -> dict:
    """Closed loop with wrk; returns req/s, p50/p99 (ms), requests, errors."""
    _assert_loopback(url)
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as f:
        f.write(json.dumps(body, ensure_ascii=False).encode())
        body_path = f.name
    try:
        argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration_s))}s", "--timeout", f"{int(REQUEST_TIMEOUT_S)}s",
                "-s", str(WRK_SCRIPT), url, "--", body_path,
                *(f"{k}: {v}" for k, v in headers.items())]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + REQUEST_TIMEOUT_S + 30)
    finally:
        Path(body_path).unlink(missing_ok=True)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-800:]} {done.stderr[-800:]}")
    raw = json.loads(line[len("WRKJSON "):])
    seconds = raw["duration_us"] / 1e6
    socket_errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return {
        "tool": "wrk", "connections": connections, "duration_s": round(seconds, 2),
        "requests": raw["requests"], "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": round(raw["p50"] / 1000, 2) if raw["requests"] else None,
        "p99_ms": round(raw["p99"] / 1000, 2) if raw["requests"] else None,
        "max_ms": round(raw["max"] / 1000, 2) if raw["requests"] else None,
        "errors": socket_errors + raw["bad"], "error_detail": {k: raw[k] for k in
                                                              ("connect", "read", "write", "timeout", "bad")},
    }


async def _open_loop(url: str, body: dict, headers: dict[str, str], rate: float, duration_s: float) -> dict:
    _assert_loopback(url)
    payload = json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", **headers}
    total = int(rate * duration_s)
    latencies: list[float] = []
    errors = dropped = 0
    in_flight = 0
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT_S, trust_env=False) as client:

        async def one(scheduled: float) -> None:
            nonlocal errors, in_flight
            try:
                response = await client.post(url, content=payload, headers=headers)
                ok = response.status_code == 200 and b'"errors"' not in response.content
            except httpx.HTTPError:
                ok = False
            finally:
                in_flight -= 1
            if ok:
                latencies.append(time.perf_counter() - scheduled)
            else:
                errors += 1

        tasks = []
        start = time.perf_counter() + 0.05
        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if in_flight >= MAX_IN_FLIGHT:
                dropped += 1
                continue
            in_flight += 1
            tasks.append(asyncio.create_task(one(scheduled)))
        if tasks:
            await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT_S + 5)
        elapsed = time.perf_counter() - start
    ms = [x * 1000 for x in latencies]
    return {
        "tool": "open-loop", "rate": rate, "duration_s": duration_s, "scheduled": total,
        "completed": len(ms), "errors": errors + dropped, "dropped": dropped,
        "achieved_rps": round(len(ms) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(ms, 50), 2) if ms else None,
        "p99_ms": round(percentile(ms, 99), 2) if ms else None,
        "max_ms": round(max(ms), 2) if ms else None,
    }


def run_open_loop(url: str, body: dict, headers: dict[str, str], rate: float, duration_s: float) -> dict:
    return asyncio.run(_open_loop(url, body, headers, rate, duration_s))


def timed_post(client: httpx.Client, url: str, body: dict, headers: dict[str, str]) -> tuple[float, dict, httpx.Response]:
    _assert_loopback(url)
    t0 = time.perf_counter()
    response = client.post(url, json=body, headers=headers)
    ms = (time.perf_counter() - t0) * 1000
    try:
        parsed = response.json()
    except ValueError:
        parsed = {"errors": [{"message": f"HTTP {response.status_code}: {response.text[:200]}"}]}
    return ms, parsed, response


def summarize(ms: list[float]) -> dict:
    return {
        "n": len(ms), "p50_ms": round(statistics.median(ms), 2) if ms else None,
        "p99_ms": round(percentile(ms, 99), 2) if ms else None,
        "min_ms": round(min(ms), 2) if ms else None, "max_ms": round(max(ms), 2) if ms else None,
        "samples_ms": [round(x, 2) for x in ms],
    }
