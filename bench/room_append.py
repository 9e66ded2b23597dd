"""What one message's append costs this process: `RedisRoomLog.append` against a named Redis.

Not part of `bench/run.py`: a quick before/after for the append alone (issue #16). It times
N appends into 20 rooms, one at a time and then 20 at once, and prints this process's CPU
per append (`time.process_time`) and the wall time.

    .venv/bin/python bench/room_append.py redis://127.0.0.1:6394 [--appends 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from server.broker.base import Append, Backplane
from server.broker.envelope import Header
from server.broker.select import open_backplane
from server.config import Settings
from server.wire.out import MessageFields, message_fields

ROOMS = 20


def message(room: str, i: int) -> Append:
    """A message as the send pipeline appends it: a real frame, a ref, a resume window."""
    message_id = f"m-{uuid.uuid4().hex}"
    author = {"id": "u-bench", "display_name": "Bench", "role": "member"}
    fields = MessageFields(message_id, room, author, f"hello {i}", 1_700_000_000_000, False)
    return Append(
        room=room,
        message_id=message_id,
        author_id="u-bench",
        fields=message_fields(fields),
        header=Header(kind="message", conn="c-bench", ref=f"r{i}", recorded=False),
        ref_key=f"u-bench\x00r{i}-{uuid.uuid4().hex[:6]}",
        window_seconds=300,
        known=None,
    )


async def timed(backplane: Backplane, rooms: list[str], appends: int, concurrency: int) -> None:
    messages = [message(rooms[i % ROOMS], i) for i in range(appends)]
    queue = iter(messages)

    async def worker() -> None:
        for item in queue:
            await backplane.log.append(item)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"concurrency {concurrency:2}: {cpu / appends * 1e6:6.1f} µs CPU per append, "
        f"wall {wall / appends * 1e6:6.1f} µs per append ({appends} appends)"
    )


async def measure(url: str, appends: int) -> None:
    backplane, close = open_backplane(Settings(redis_url=url, secret_key="x" * 32))
    try:
        tag = uuid.uuid4().hex[:8]
        rooms = [f"append-{tag}-{i}" for i in range(ROOMS)]
        await timed(backplane, rooms, 200, 20)  # warm: scripts loaded, connections made
        for concurrency in (1, 20):
            await timed(backplane, rooms, appends, concurrency)
    finally:
        await close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--appends", type=int, default=4000)
    args = parser.parse_args()
    asyncio.run(measure(args.url, args.appends))


if __name__ == "__main__":
    main()
