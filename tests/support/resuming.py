"""A client that keeps its place: it reconnects (to the next server) after any close,
resumes with `after_seq` and `epoch`, resends unanswered sends with the same `ref`, and
records what it received, so that a test can check nothing was lost or repeated."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import websockets

from .client import Member
from .servers import SCALE

__all__ = ["ResumingClient", "check_no_silent_hole"]


@dataclass
class ResumingClient:
    """One member's connection to a room through a list of servers."""

    member: Member
    slug: str
    bases: list[str]  # ws:// bases, tried in turn
    at: int = 0
    epoch: str | None = None
    last_seq: int | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)  # history and live, in order
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (after_seq, welcome seq)
    closes: list[int | None] = field(default_factory=list)
    welcomes: list[tuple[int | None, int, bool, int]] = field(default_factory=list)
    first_seq: int = 0
    acked: dict[str, dict[str, Any]] = field(default_factory=dict)  # ref → own copy
    _ws: Any = None
    _connected: asyncio.Event = field(default_factory=asyncio.Event)
    _answers: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _reader: asyncio.Task[None] | None = None
    _stopping: bool = False

    async def start(self) -> None:
        await self._connect()
        self._reader = asyncio.create_task(self._read())

    async def stop(self) -> None:
        self._stopping = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()

    async def _connect(self) -> None:
        """Enter through the next server that lets us in."""
        while not self._stopping:
            base = self.bases[self.at % len(self.bases)]
            query = ""
            if self.last_seq is not None:
                query = f"?after_seq={self.last_seq}&epoch={self.epoch}"
            try:
                ws = await websockets.connect(
                    f"{base}/ws/rooms/{self.slug}{query}",
                    additional_headers=self.member.headers,
                    open_timeout=5 * SCALE,
                    max_size=2**24,
                )
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 10 * SCALE))
                    if frame["type"] == "welcome":
                        break
            except (OSError, TimeoutError, websockets.WebSocketException):
                self.at += 1
                await asyncio.sleep(0.1)
                continue
            self._welcomed(frame)
            self._ws = ws
            self._connected.set()
            return

    def _welcomed(self, welcome: dict[str, Any]) -> None:
        history = [m["seq"] for m in welcome["history"]]
        self.welcomes.append((self.last_seq, welcome["seq"], welcome["gap"], len(history)))
        if self.last_seq is None:
            self.first_seq = welcome["seq"]
        elif welcome["gap"]:
            self.gaps.append((self.last_seq, welcome["seq"]))
        if self.epoch is not None and welcome["epoch"] != self.epoch:
            self.gaps.append((-1, welcome["seq"]))  # a new numbering: everything before
        self.epoch = welcome["epoch"]
        for message in welcome["history"]:
            self._message(message)
        self.last_seq = max(self.last_seq or 0, welcome["seq"])

    def _message(self, message: dict[str, Any]) -> None:
        ref = message.get("ref")
        if ref is not None and any(m["id"] == message["id"] for m in self.messages):
            pass  # the answer to a resent ref: the original, already received (history)
        else:
            self.messages.append(message)
            self.last_seq = max(self.last_seq or 0, message["seq"])
        if ref is not None:
            self.acked[ref] = message
            answer = self._answers.pop(ref, None)
            if answer is not None and not answer.done():
                answer.set_result(message)

    async def _read(self) -> None:
        while not self._stopping:
            try:
                frame = json.loads(await self._ws.recv())
            except websockets.ConnectionClosed as closed:
                self._connected.clear()
                self.closes.append(closed.rcvd.code if closed.rcvd else None)
                self.at += 1  # try the other server first
                await self._connect()
                continue
            if frame["type"] == "message":
                self._message(frame)
            elif frame["type"] == "error" and frame.get("ref") in self._answers:
                answer = self._answers.pop(frame["ref"])
                if not answer.done():
                    answer.set_result(frame)

    async def say(self, body: str, ref: str, deadline: float) -> dict[str, Any]:
        """Send until the server answers with our own copy (a repeated ref is not delivered
        twice); errors and closes are retried until `deadline` (loop time)."""
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            if ref in self.acked:
                return self.acked[ref]
            await asyncio.wait_for(self._connected.wait(), deadline - loop.time())
            answer = self._answers[ref] = loop.create_future()
            try:
                await self._ws.send(json.dumps({"type": "send", "body": body, "ref": ref}))
                got: dict[str, Any] = await asyncio.wait_for(asyncio.shield(answer), 3 * SCALE)
            except (TimeoutError, websockets.ConnectionClosed):
                continue
            if got["type"] == "message":
                return got
            await asyncio.sleep(0.2)  # an error (a dependency down): try again shortly
        raise TimeoutError(f"{ref} was never delivered")


def check_no_silent_hole(clients: list[ResumingClient]) -> None:
    """Each client received every seq that anyone received after it entered, except where
    a `gap` announced a hole, each once and in order."""
    everyone: set[int] = set()
    for client in clients:
        ids = [m["id"] for m in client.messages]
        assert len(ids) == len(set(ids)), f"{client.member.username}: a message arrived twice"
        seqs = [m["seq"] for m in client.messages]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "out of order or repeated"
        everyone.update(seqs)
    for client in clients:
        got = {m["seq"] for m in client.messages}
        announced = [range(a + 1, w + 1) for a, w in client.gaps]
        missing = [
            s
            for s in everyone
            if s > client.first_seq and s not in got and not any(s in r for r in announced)
        ]
        assert missing == [], (
            f"{client.member.username} silently missed seqs {missing[:10]}; its welcomes "
            f"{client.welcomes}, closes {client.closes}"
        )
