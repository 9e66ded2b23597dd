"""The socket outbox: direct writes while the socket keeps up, an ordered bounded queue while
it is paused, and a clear end when the client is gone. The `send` here behaves like
uvicorn's: it returns at once unless the transport is paused, then waits on an Event."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from server.rooms.outbox import BATCH_FRAMES, Outbox, WriteBatch


class Socket:
    def __init__(self) -> None:
        self.written: list[str] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.gone = False
        self.broken = 0
        self.direct = 0
        self.writes: list[int] = []  # frames per write_many call
        self.close_after: int | None = None

    async def send(self, text: str) -> None:
        await self.writable.wait()
        if self.gone:
            raise OSError("client disconnected")
        self.written.append(text)

    def on_broken(self) -> None:
        self.broken += 1

    def write(self, text: str) -> bool:
        """Like Hearth's uvicorn protocol: written at once unless the transport is paused."""
        if not self.writable.is_set() or self.gone:
            return False
        self.written.append(text)
        self.direct += 1
        return True

    def write_many(self, texts: Sequence[str]) -> int:
        """Like Hearth's uvicorn protocol: one write of several frames, or none if paused;
        only the first `close_after` if the client's close comes in meanwhile."""
        if not self.writable.is_set() or self.gone:
            return 0
        taken = texts[: self.close_after] if self.close_after is not None else texts
        self.gone = self.close_after is not None
        self.written.extend(taken)
        self.writes.append(len(taken))
        return len(taken)


async def test_a_socket_that_keeps_up_is_written_at_once() -> None:
    sock, box = Socket(), Outbox(4)
    tasks = len(asyncio.all_tasks())
    box.attach(sock.send, sock.on_broken)
    for i in range(10):  # more than the limit: nothing is queued
        assert box.put(f"f{i}")
        assert sock.written[-1] == f"f{i}"  # written before put returned
    assert box.drained
    assert len(asyncio.all_tasks()) == tasks  # no task per socket


async def test_a_paused_socket_queues_in_order_and_catches_up() -> None:
    sock, box = Socket(), Outbox(3)
    box.attach(sock.send, sock.on_broken)
    box.put("a")
    sock.writable.clear()
    assert box.put("b")  # its send waits for the transport
    assert box.put("c") and box.put("d") and box.put("e")  # queued behind it: 3 allowed
    assert not box.put("f")  # the queue is full: the caller cuts the client off
    assert not box.drained
    assert sock.written == ["a"]
    sock.writable.set()
    for _ in range(20):
        await asyncio.sleep(0)
    assert sock.written == ["a", "b", "c", "d", "e"]
    assert box.drained
    assert box.put("g") and sock.written[-1] == "g"  # direct again


async def test_frames_put_before_the_socket_is_attached_go_first() -> None:
    sock, box = Socket(), Outbox(5)
    box.put("early")
    box.attach(sock.send, sock.on_broken)
    box.put("late")  # queued behind `early`, which is not written yet
    for _ in range(10):
        await asyncio.sleep(0)
    assert sock.written == ["early", "late"]


@pytest.mark.parametrize("paused", [False, True])
async def test_a_failed_write_reports_the_client_gone_once(paused: bool) -> None:
    sock, box = Socket(), Outbox(5)
    box.attach(sock.send, sock.on_broken)
    sock.gone = True
    if paused:
        sock.writable.clear()
    box.put("x")
    box.put("y")
    sock.writable.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert sock.broken == 1 and sock.written == []
    assert box.put("z") and sock.written == []  # dropped: nothing is written after that
    assert box.drained


async def test_closing_cancels_a_waiting_send() -> None:
    sock, box = Socket(), Outbox(5)
    tasks = len(asyncio.all_tasks())
    box.attach(sock.send, sock.on_broken)
    sock.writable.clear()
    box.put("stuck")
    box.put("behind")
    await asyncio.sleep(0)
    box.close()
    await asyncio.sleep(0)
    sock.writable.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert sock.written == [] and box.drained and sock.broken == 0
    assert len(asyncio.all_tasks()) == tasks  # the drain task is gone


async def test_a_synchronous_write_is_used_while_the_socket_takes_it() -> None:
    sock, box = Socket(), Outbox(3)
    box.attach(sock.send, sock.on_broken, sock.write)
    assert box.put("a") and sock.direct == 1
    sock.writable.clear()
    assert box.put("b")  # not taken: the ASGI-like send waits, a drain task takes over
    sock.writable.set()  # the socket takes frames again, but `b` is still being sent:
    assert box.put("c")  # `c` queues behind it, never overtakes it
    assert sock.written == ["a"]
    for _ in range(20):
        await asyncio.sleep(0)
    assert sock.written == ["a", "b", "c"] and box.drained
    assert box.put("d") and sock.direct == 2 and sock.written[-1] == "d"


async def test_a_failed_send_after_a_refused_write_reports_the_client_gone() -> None:
    sock, box = Socket(), Outbox(3)
    box.attach(sock.send, sock.on_broken, sock.write)
    sock.gone = True
    assert box.put("x")  # refused by write, then the send raises
    assert sock.broken == 1 and sock.written == []
    assert box.put("y") and sock.written == [] and box.drained


def batched(limit: int = 100, batch: WriteBatch | None = None) -> tuple[Socket, Outbox, WriteBatch]:
    sock, box, batch = Socket(), Outbox(limit), batch or WriteBatch()
    box.attach(sock.send, sock.on_broken, sock.write, sock.write_many, batch)
    return sock, box, batch


async def test_frames_of_one_burst_leave_in_one_write_in_order() -> None:
    sock, box, batch = batched()
    other_sock, other, _ = batched(batch=batch)
    batch.open = True
    for i in range(5):
        assert box.put(f"f{i}")
        if i % 2 == 0:
            assert other.put(f"g{i}")
    assert sock.written == [] and not box.drained  # kept for the flush
    batch.flush()
    assert sock.written == [f"f{i}" for i in range(5)] and sock.writes == [5]
    assert other_sock.written == ["g0", "g2", "g4"] and other_sock.writes == [3]
    assert box.drained and not batch.open
    assert box.put("after") and sock.written[-1] == "after" and sock.writes == [5]  # direct


async def test_a_batch_nobody_flushes_flushes_itself_on_the_next_pass() -> None:
    sock, box, batch = batched()
    batch.open = True
    box.put("a")
    box.put("b")
    assert sock.written == []
    await asyncio.sleep(0)
    assert sock.written == ["a", "b"] and sock.writes == [2] and not batch.open


async def test_a_long_burst_is_written_every_batch_frames() -> None:
    sock, box, batch = batched()
    batch.open = True
    for i in range(BATCH_FRAMES * 2 + 3):
        assert box.put(str(i))
    assert sock.writes == [BATCH_FRAMES, BATCH_FRAMES]
    batch.flush()
    assert sock.writes == [BATCH_FRAMES, BATCH_FRAMES, 3]
    assert sock.written == [str(i) for i in range(BATCH_FRAMES * 2 + 3)]


async def test_a_batch_keeps_no_more_than_the_queue_holds() -> None:
    sock, box, batch = batched(limit=3)
    batch.open = True
    for i in range(7):
        assert box.put(str(i))  # never refused: a reading client is not cut off
    assert sock.writes == [3, 3]
    batch.flush()
    assert sock.written == [str(i) for i in range(7)]


async def test_a_batch_meeting_a_paused_socket_queues_in_order() -> None:
    sock, box, batch = batched(limit=5)
    batch.open = True
    for name in "abcd":
        box.put(name)
    sock.writable.clear()
    batch.flush()  # nothing could be written at once: the waiting way, in order
    assert sock.written == [] and not box.drained
    assert box.put("e")  # behind them
    sock.writable.set()
    for _ in range(20):
        await asyncio.sleep(0)
    assert sock.written == list("abcde") and box.drained and sock.broken == 0


async def test_a_close_coming_in_mid_batch_reports_the_client_gone() -> None:
    sock, box, batch = batched()
    batch.open = True
    for name in "abc":
        box.put(name)
    sock.close_after = 1  # the rest fail the way the ASGI send does: the client is gone
    batch.flush()
    for _ in range(5):
        await asyncio.sleep(0)
    assert sock.written == ["a"] and sock.broken == 1


async def test_closing_drops_what_a_batch_kept() -> None:
    sock, box, batch = batched()
    batch.open = True
    box.put("a")
    box.close()
    batch.flush()
    assert sock.written == [] and box.drained
