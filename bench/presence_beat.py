"""What one presence heartbeat costs: 1,000 sockets in 50 rooms, against a Redis you name.

Not part of `bench/run.py`: a quick before/after for the heartbeat alone (issue #16). It
joins the sockets, then times `RedisPresence.heartbeat` over a number of beats and prints,
per beat, this process's CPU (`time.process_time`), Redis's CPU (`INFO cpu`, sys + user)
and the commands Redis ran (`INFO commandstats`, after `CONFIG RESETSTAT`).

    .venv/bin/python bench/presence_beat.py redis://127.0.0.1:6391 [--beats 50]

Use a private Redis: it resets that Redis's command statistics.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

import orjson
import redis.asyncio as aioredis

from server.broker.select import open_backplane
from server.config import Settings

SOCKETS, ROOMS = 1000, 50


def sockets() -> list[tuple[str, str, str, str]]:
    """(room, user, conn, participant) as `_presence_round` passes them: one socket a user."""
    tag = uuid.uuid4().hex[:8]
    found = []
    for i in range(SOCKETS):
        user = f"u-{tag}-{i}"
        participant = {"id": user, "display_name": f"Member {i}", "role": "member"}
        found.append((f"beat-{tag}-{i % ROOMS}", user, f"c-{tag}-{i}", orjson.dumps(participant)))
    return [(room, user, conn, text.decode()) for room, user, conn, text in found]


async def redis_cpu(client: aioredis.Redis) -> float:
    info: dict[str, Any] = await client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


async def measure(url: str, beats: int) -> None:
    backplane, close = open_backplane(Settings(redis_url=url, secret_key="x" * 32))
    raw = aioredis.Redis.from_url(url)
    try:
        everyone = sockets()
        for room, user, conn, participant in everyone:
            await backplane.presence.join(room, user, conn, participant)
        await backplane.presence.heartbeat(everyone)  # warm: scripts loaded, pool filled
        await raw.config_resetstat()
        cpu, redis_before, wall = time.process_time(), await redis_cpu(raw), time.perf_counter()
        for _ in range(beats):
            await backplane.presence.heartbeat(everyone)
        wall = time.perf_counter() - wall
        cpu, redis_used = time.process_time() - cpu, await redis_cpu(raw) - redis_before
        stats: dict[str, Any] = await raw.info("commandstats")
        print(f"{SOCKETS} sockets in {ROOMS} rooms, {beats} beats; per beat:")
        print(f"  server CPU {cpu / beats * 1000:.2f} ms, wall {wall / beats * 1000:.2f} ms")
        print(f"  Redis CPU  {redis_used / beats * 1000:.2f} ms (INFO cpu, sys + user)")
        for name, stat in sorted(stats.items()):
            if name.removeprefix("cmdstat_") not in ("info", "config|resetstat"):
                calls, usec = int(stat["calls"]), float(stat["usec"])
                print(f"  {name}: {calls / beats:g} calls, {usec / beats / 1000:.2f} ms in Redis")
    finally:
        await raw.aclose()
        await close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--beats", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(measure(args.url, args.beats))


if __name__ == "__main__":
    main()
