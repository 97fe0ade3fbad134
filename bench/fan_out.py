"""The fragment fan-out against a running server: how long its refusal takes, and /healthz meanwhile.

    python -m bench.fan_out http://127.0.0.1:8000 [--levels 30] [--rounds 20]

Each round sends `query { ...F0 }` (every fragment spreads the next one twice, `levels` deep) while
another connection polls /healthz without pause; prints the refusal's median and worst time and
the /healthz p50 / p99 over all rounds (the figure docs/security.md quotes)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx


def fan_out(levels: int) -> str:
    fragments = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels))
    return f"query {{ ...F0 }} {fragments} fragment F{levels} on Query {{ me {{ username }} }}"


async def _round(base: str, document: str) -> tuple[float, list[float], str]:
    async with httpx.AsyncClient(base_url=base, timeout=120, trust_env=False) as attacker, \
            httpx.AsyncClient(base_url=base, timeout=120, trust_env=False) as monitor:
        await monitor.get("/healthz")  # connections open before the clock starts
        started = time.perf_counter()
        attack = asyncio.create_task(attacker.post("/graphql", json={"query": document}))
        health = []
        while not attack.done():
            t = time.perf_counter()
            await monitor.get("/healthz")
            health.append(time.perf_counter() - t)
        response = await attack
        code = response.json()["errors"][0]["extensions"]["code"]
        return time.perf_counter() - started, health, code


async def main(base: str, levels: int, rounds: int) -> None:
    document = fan_out(levels)
    refusals, health, codes = [], [], set()
    for n in range(rounds):
        # A text of its own each round: a document seen before is answered from the validation cache.
        took, probes, code = await _round(base, f"# round {n} {time.time_ns()}\n{document}")
        refusals.append(took)
        health.extend(probes)
        codes.add(code)
    health.sort()
    p99 = health[min(len(health) - 1, int(len(health) * 0.99))] if health else float("nan")
    print(f"{levels}-level fan-out ({len(document.encode())} bytes), {rounds} rounds: answered {sorted(codes)}")
    print(f"refusal: median {statistics.median(refusals) * 1000:.1f} ms, worst {max(refusals) * 1000:.1f} ms")
    if health:
        print(f"/healthz meanwhile: {len(health)} probes, p50 {statistics.median(health) * 1000:.1f} ms, "
              f"p99 {p99 * 1000:.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("--levels", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=20)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.base, arguments.levels, arguments.rounds))
