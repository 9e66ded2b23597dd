"""The socket outbox: direct writes while the socket keeps up, an ordered bounded queue while
it is paused, and a clear end when the client is gone. The `send` here behaves like
uvicorn's: it returns at once unless the transport is paused, then waits on an Event."""

from __future__ import annotations

import asyncio

import pytest

from server.rooms.outbox import Outbox


class Socket:
    def __init__(self) -> None:
        self.written: list[str] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.gone = False
        self.broken = 0
        self.direct = 0

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
