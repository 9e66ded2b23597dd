"""One load-generator process: holds WebSocket clients, sends on a schedule, times deliveries.

Driven by the benchmark runner through stdin/stdout, one JSON object per line:

  {"cmd":"connect","conns":[{"url","room","token"?}],"consent":bool,"concurrency":n}
  {"cmd":"phase","phase":id,"rate":per_room_per_s,"duration":s,"start_at":unix_s,"drain":s}
  {"cmd":"storm","phase":id,"rate":per_room_per_s,"duration":s,"start_at":unix_s,"drain":s}
  {"cmd":"close"}    {"cmd":"quit"}

Every room this process holds is held whole (all its members are here), so the process knows
how many copies of each message to expect and can stop draining as soon as all have arrived.
A message body is `bench <phase> <sender time_ns> <n> <padding>`; the receiver's latency is
its own `time.time_ns()` minus the sender's, both on the same machine's clock.
The process exits when stdin closes, closing its sockets first.

Sockets are `wsclient.LeanSocket`s by default (`--client lean`): the `websockets` asyncio
client (`--client websockets`) costs about twice the CPU per received frame, CPU the servers
under test then lack on a small machine. Both give the same counts; compare them with
`bench/run.py --client websockets`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import resource
import sys
import time
from array import array
from collections import Counter
from typing import Any

import orjson
from stormgen import Storm
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from wsclient import LeanSocket, lean_connect

__all__ = ["main"]

PADDING = "x" * 60  # brings a body to ~100 characters, a typical chat line


class Member:
    """One socket in one room, over either client."""

    __slots__ = (
        "sock", "room", "reader", "welcome", "consent", "last_seq", "closing", "spec", "key",
        "epoch",
    )

    def __init__(self, spec: dict[str, Any], key: int) -> None:
        self.sock: LeanSocket | ClientConnection | None = None
        self.spec = spec
        self.key = key  # the same person across a reopened socket (`storm`)
        self.epoch: str | None = None  # the room's numbering, from the welcome (Hearth)
        self.room: str = spec["room"]
        self.reader: asyncio.Task[None] | None = None
        self.welcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.consent: asyncio.Future[str] | None = None
        self.last_seq = -1
        self.closing = False

    async def send(self, text: str) -> None:
        """Send one text frame; raises ConnectionError once the socket is closed."""
        sock = self.sock
        if isinstance(sock, LeanSocket):
            sock.send_text(text)
        else:
            assert sock is not None
            try:
                await sock.send(text)
            except ConnectionClosed as exc:
                raise ConnectionError(str(exc)) from exc

    async def close(self) -> None:
        self.closing = True
        if self.sock is not None:
            await asyncio.wait_for(self.sock.close(), 5)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(BaseException):
                await self.reader

    @property
    def is_open(self) -> bool:
        sock = self.sock
        if isinstance(sock, LeanSocket):
            return sock.open
        return sock is not None and sock.close_code is None

    @property
    def close_code(self) -> int | None:
        return None if self.sock is None else self.sock.close_code


class Phase:
    """What the receivers saw of one measured phase."""

    def __init__(self, phase_id: str) -> None:
        self.id = phase_id
        self.received = 0
        self.latencies_us = array("q")
        self.order_anomalies = 0
        self.recorded = 0  # copies whose `recorded` is true
        self.max_us = -1
        self.max_sent_ns = 0  # when the slowest copy was sent


class LoadGen:
    """The sockets of this process and the counters the runner asks for."""

    def __init__(self, client: str) -> None:
        self.client = client
        self.rooms: dict[str, list[Member]] = {}
        self.phase: Phase | None = None
        self.stale = 0  # copies of an earlier phase's messages that arrived late
        self.errors: Counter[str] = Counter()  # error frames by code
        self.unexpected_closes: Counter[str] = Counter()
        self.storm: Storm | None = None
        self.keys = 0

    # -- receiving -------------------------------------------------------------------------

    def on_frame(self, member: Member, raw: str | bytes) -> None:
        now = time.time_ns()
        frame = orjson.loads(raw)
        kind = frame.get("type")
        if self.storm is not None and kind in ("message", "welcome"):
            if kind == "message":
                self.storm.on_message(member, frame)
                return
            self.storm.on_welcome(member, frame)
        if kind == "message":
            self._on_message(member, frame, now)
        else:
            self._on_other(member, kind, frame)

    def _on_message(self, member: Member, frame: dict[str, Any], now: int) -> None:
        body = frame.get("body", "")
        if not body.startswith("bench "):
            return
        _, phase_id, sent_ns, _rest = body.split(" ", 3)
        phase = self.phase
        if phase is None or phase.id != phase_id:
            self.stale += 1
            return
        phase.received += 1
        sent = int(sent_ns)
        latency = (now - sent) // 1000
        phase.latencies_us.append(latency)
        if latency > phase.max_us:
            phase.max_us, phase.max_sent_ns = latency, sent
        if frame.get("recorded") is True:
            phase.recorded += 1
        seq = frame.get("seq")
        if isinstance(seq, int):
            if seq <= member.last_seq:
                phase.order_anomalies += 1
            member.last_seq = seq

    def _on_other(self, member: Member, kind: Any, frame: dict[str, Any]) -> None:
        if kind == "welcome":
            if isinstance(frame.get("epoch"), str):
                member.epoch = frame["epoch"]
            if not member.welcome.done():
                member.welcome.set_result(None)
        elif kind == "consent":
            if member.consent is not None and not member.consent.done():
                member.consent.set_result("ok" if frame.get("recorded") else "refused")
        elif kind == "error":
            code = str(frame.get("code"))
            self.errors[code] += 1
            if member.consent is not None and not member.consent.done():
                member.consent.set_result(code)

    def on_closed(self, member: Member) -> None:
        if self.storm is not None:
            self.storm.on_closed(member)
        if not member.closing:
            self.unexpected_closes[str(member.close_code)] += 1
        if not member.welcome.done():
            member.welcome.set_exception(
                ConnectionError(f"closed {member.close_code} before welcome")
            )

    async def read(self, member: Member, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                self.on_frame(member, raw)
        except ConnectionClosed:
            pass
        finally:
            self.on_closed(member)

    async def open(self, spec: dict[str, Any]) -> Member:
        """Connect one socket of `spec` and start delivering its frames to `on_frame`."""
        headers = {"Authorization": f"Bearer {spec['token']}"} if spec.get("token") else None
        self.keys += 1
        member = Member(spec, spec.get("key") or self.keys)
        if self.client == "lean":

            def on_text(_sock: LeanSocket, payload: bytes) -> None:
                try:
                    self.on_frame(member, payload)
                except Exception as exc:  # a bad frame is counted, never kills the socket
                    self.errors[f"client: {type(exc).__name__}"] += 1

            sock = await lean_connect(spec["url"], on_text, headers, timeout=30)
            member.sock = sock
            sock.closed.add_done_callback(lambda _f: self.on_closed(member))
        else:
            ws = await connect(
                spec["url"],
                additional_headers=headers,
                compression=None,
                ping_interval=None,
                max_size=2**20,
                open_timeout=30,
                close_timeout=2,
            )
            member.sock = ws
            member.reader = asyncio.create_task(self.read(member, ws))
        return member

    # -- commands ------------------------------------------------------------------------

    async def connect_all(self, msg: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        conns: list[dict[str, Any]] = msg["conns"]
        consent = bool(msg.get("consent"))
        gate = asyncio.Semaphore(int(msg.get("concurrency", 32)))
        failures: Counter[str] = Counter()
        consents: Counter[str] = Counter()

        async def one(spec: dict[str, Any]) -> None:
            async with gate:
                try:
                    member = await self.open(spec)
                except Exception as exc:  # any refusal is a result to report, not a crash
                    failures[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1
                    return
                try:
                    await asyncio.wait_for(asyncio.shield(member.welcome), 30)
                except Exception as exc:
                    failures[f"no welcome: {str(exc)[:120]}"] += 1
                    with contextlib.suppress(Exception):
                        await member.close()
                    return
                if consent:
                    member.consent = asyncio.get_running_loop().create_future()
                    try:
                        await member.send(
                            orjson.dumps({"type": "consent", "recorded": True}).decode()
                        )
                        consents[await asyncio.wait_for(asyncio.shield(member.consent), 30)] += 1
                    except TimeoutError:
                        consents["no answer"] += 1
                    except ConnectionError:
                        consents["closed"] += 1
                self.rooms.setdefault(spec["room"], []).append(member)

        await asyncio.gather(*(one(spec) for spec in conns))
        return {
            "connected": sum(len(m) for m in self.rooms.values()),
            "failed": sum(failures.values()),
            "failures": dict(failures.most_common(5)),
            "consents": dict(consents),
            "seconds": round(time.monotonic() - started, 2),
        }

    async def run_phase(self, msg: dict[str, Any]) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        phase = Phase(str(msg["phase"]))
        rate = float(msg["rate"])
        duration = float(msg["duration"])
        drain = float(msg.get("drain", 3.0))
        start = loop.time() + max(0.0, float(msg["start_at"]) - time.time())
        end = start + duration
        errors_before = Counter(self.errors)
        # Sockets the server closed earlier are no members any more: neither send nor expect.
        live = {room: [m for m in ms if m.is_open] for room, ms in self.rooms.items()}
        members_at_start = {room: len(ms) for room, ms in live.items() if ms}
        sent: Counter[str] = Counter()
        planned: Counter[str] = Counter()
        send_failures: Counter[str] = Counter()
        lag = [0.0]
        self.phase = phase

        async def send_room(room: str, offset: float) -> None:
            members = live[room]
            interval = 1.0 / rate
            planned[room] = max(0, math.ceil((duration - offset) * rate))
            n = 0
            while True:
                due = start + offset + n * interval
                if due >= end:
                    return
                now = loop.time()
                if now > end + 2.0:  # hopelessly behind: stop rather than run over
                    return
                if due > now:
                    await asyncio.sleep(due - now)
                else:
                    lag[0] = max(lag[0], now - due)
                member = members[n % len(members)]
                body = f"bench {phase.id} {time.time_ns()} {n} {PADDING}"
                frame = {"type": "send", "body": body, "ref": f"{phase.id}.{room}.{n}"}
                n += 1
                try:
                    await member.send(orjson.dumps(frame).decode())
                    sent[room] += 1
                except ConnectionError:
                    send_failures["closed"] += 1

        rooms = sorted(members_at_start)
        await asyncio.gather(
            *(send_room(room, (i / max(1, len(rooms))) / rate) for i, room in enumerate(rooms))
        )
        expected = sum(sent[room] * members_at_start[room] for room in rooms)
        deadline = loop.time() + drain
        while phase.received < expected and loop.time() < deadline:
            await asyncio.sleep(0.02)
        self.phase = None
        new_errors = Counter(self.errors)
        new_errors.subtract(errors_before)
        return {
            "sent": sum(sent.values()),
            "planned": sum(planned.values()),
            "expected": expected,
            "received": phase.received,
            "latencies_us": phase.latencies_us.tolist(),
            "order_anomalies": phase.order_anomalies,
            "max_latency_us": phase.max_us,
            "max_sent_ns": phase.max_sent_ns,
            "recorded": phase.recorded,
            "errors": {k: v for k, v in new_errors.items() if v},
            "send_failures": dict(send_failures),
            "max_send_lag_ms": round(lag[0] * 1000, 1),
            "drained_s": round(loop.time() - end, 2),
        }

    async def run_storm(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Talk in every room while the runner stops a server; movers come back (stormgen)."""
        storm = self.storm = Storm(self, str(msg["phase"]))
        movers = sum(1 for ms in self.rooms.values() for m in ms if m.spec.get("alt"))
        try:
            await storm.run(float(msg["rate"]), float(msg["duration"]), float(msg["start_at"]),
                            float(msg.get("drain", 10.0)))
        finally:
            self.storm = None
        return storm.report(movers)

    async def close_all(self) -> dict[str, Any]:
        members = [m for ms in self.rooms.values() for m in ms]
        self.rooms = {}
        gate = asyncio.Semaphore(64)

        async def one(member: Member) -> None:
            async with gate:
                with contextlib.suppress(Exception):
                    await member.close()

        await asyncio.gather(*(one(m) for m in members))
        report = {
            "closed": len(members),
            "unexpected_closes": dict(self.unexpected_closes),
            "stale": self.stale,
            "errors": dict(self.errors),
        }
        self.unexpected_closes.clear()
        self.errors.clear()
        self.stale = 0
        return report


async def serve_stdin(gen: LoadGen) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout.buffer
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            msg = orjson.loads(line)
            cmd = msg.get("cmd")
            if cmd == "connect":
                reply = await gen.connect_all(msg)
            elif cmd == "phase":
                reply = await gen.run_phase(msg)
            elif cmd == "storm":
                reply = await gen.run_storm(msg)
            elif cmd == "close":
                reply = await gen.close_all()
            elif cmd == "quit":
                return
            else:
                reply = {"error": f"unknown command {cmd!r}"}
            out.write(orjson.dumps(reply) + b"\n")
            out.flush()
    finally:
        await gen.close_all()


def main() -> None:
    parser = argparse.ArgumentParser(description="one load-generator process (see bench/run.py)")
    parser.add_argument("--client", choices=("lean", "websockets"), default="lean")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is installed with uvicorn[standard]
        runner = asyncio.run
    runner(serve_stdin(LoadGen(args.client)))


if __name__ == "__main__":
    main()
