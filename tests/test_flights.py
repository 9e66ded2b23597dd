"""Single flights (server/ops/flights.py): a burst of asks for one key makes one ask."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest

from server.ops.flights import Flights


async def test_concurrent_asks_share_one_flight_and_the_next_starts_anew() -> None:
    flights: Flights[str, int] = Flights()
    asked: list[str] = []
    gate = asyncio.Event()

    async def ask(key: str) -> int:
        asked.append(key)
        await gate.wait()
        return asked.count(key)

    burst = [asyncio.create_task(flights.share(k, partial(ask, k))) for k in "aaab"]
    for _ in range(3):
        await asyncio.sleep(0)
    assert asked == ["a", "b"]  # one flight for "a", one for "b"
    gate.set()
    assert await asyncio.gather(*burst) == [1, 1, 1, 1]
    assert await flights.share("a", partial(ask, "a")) == 2  # landed: never kept


async def test_an_exception_reaches_every_asker_once() -> None:
    flights: Flights[str, int] = Flights()
    calls = 0

    async def failing() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        raise ConnectionError("the database is down")

    results = await asyncio.gather(
        *(flights.share("k", failing) for _ in range(3)), return_exceptions=True
    )
    assert calls == 1 and all(isinstance(r, ConnectionError) for r in results)


async def test_an_asker_cancelled_while_waiting_cancels_no_one_else() -> None:
    flights: Flights[str, str] = Flights()
    gate = asyncio.Event()

    async def slow() -> str:
        await gate.wait()
        return "answer"

    first = asyncio.create_task(flights.share("k", slow))
    second = asyncio.create_task(flights.share("k", slow))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    gate.set()
    assert await second == "answer"
