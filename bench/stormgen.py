"""The load generator's side of `storm`: rooms keep talking while one server is stopped, and
the members it held come back through the other server, all at once, with `after_seq`.

A member whose spec names an `alt` URL is a mover: when its socket closes it reopens at once
on `alt`, asking (Hearth) for what it missed after its last seq. Senders are the members that
stay, so every message of the phase is numbered; afterwards each member's seqs of the phase
(live and from the welcome's history) are checked against every seq the room's members saw:
nothing missed, nothing twice. The floor has no seqs and no resume: for it only the reopen
times count.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from loadgen import LoadGen, Member

__all__ = ["Storm"]


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


class Storm:
    """One storm phase in one load-generator process."""

    def __init__(self, gen: LoadGen, phase_id: str) -> None:
        self.gen = gen
        self.phase_id = phase_id
        self.prefix = f"bench {phase_id} "
        self.seen: dict[int, list[int]] = {}  # member key -> seqs of this phase, as received
        self.last: dict[int, int] = {}  # member key -> last seq received (any message)
        self.epoch: dict[int, str] = {}
        self.closed_at: dict[int, float] = {}
        self.reopen_s: list[float] = []
        self.back_at: list[float] = []
        self.first_close = 0.0
        self.gaps = 0
        self.failures: Counter[str] = Counter()
        self.tasks: set[asyncio.Task[None]] = set()

    # -- hooks called by LoadGen -------------------------------------------------------------

    def on_message(self, member: Member, frame: dict[str, Any]) -> None:
        seq = frame.get("seq")
        if not isinstance(seq, int):
            return
        self.last[member.key] = max(seq, self.last.get(member.key, 0))
        if str(frame.get("body", "")).startswith(self.prefix):
            self.seen.setdefault(member.key, []).append(seq)

    def on_welcome(self, member: Member, frame: dict[str, Any]) -> None:
        if isinstance(frame.get("epoch"), str):
            self.epoch[member.key] = frame["epoch"]
        if member.key in self.closed_at:  # a mover is back
            now = time.time()
            self.reopen_s.append(now - self.closed_at.pop(member.key))
            self.back_at.append(now)
            if frame.get("gap") is True:
                self.gaps += 1
        for past in frame.get("history") or []:
            self.on_message(member, past)

    def on_closed(self, member: Member) -> None:
        alt = member.spec.get("alt")
        if member.closing or not alt or member.key in self.closed_at:
            return
        now = time.time()
        self.first_close = self.first_close or now
        self.closed_at[member.key] = now
        task = asyncio.get_running_loop().create_task(self._reopen(member, str(alt)))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _reopen(self, old: Member, alt: str) -> None:
        key = old.key
        query = ""
        epoch = self.epoch.get(key) or old.epoch  # from the welcome before the storm
        if epoch:
            query = f"?after_seq={self.last.get(key, 0)}&epoch={epoch}"
        spec = dict(old.spec, url=alt + query, alt=None, key=key)
        try:
            member = await self.gen.open(spec)
            await asyncio.wait_for(asyncio.shield(member.welcome), 60)
        except Exception as exc:  # a refused reopen is a finding
            self.failures[f"{type(exc).__name__}: {str(exc)[:100]}"] += 1
            return
        members = self.gen.rooms.get(old.room, [])
        self.gen.rooms[old.room] = [member if m is old else m for m in members]

    # -- the phase --------------------------------------------------------------------------

    async def run(self, rate: float, duration: float, start_at: float, drain: float) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time() + max(0.0, start_at - time.time())
        senders = {
            room: [m for m in ms if not m.spec.get("alt")] for room, ms in self.gen.rooms.items()
        }

        async def talk(room: str, offset: float) -> None:
            n = 0
            while True:
                due = start + offset + n / rate
                if due >= start + duration:
                    return
                await asyncio.sleep(max(0.0, due - loop.time()))
                members = [m for m in senders[room] if m.is_open]
                if not members:
                    self.failures["no sender left"] += 1
                    return
                body = f"{self.prefix}{time.time_ns()} {n} storm"
                frame = {"type": "send", "body": body, "ref": f"{self.phase_id}.{room}.{n}"}
                try:
                    await members[n % len(members)].send(orjson.dumps(frame).decode())
                except ConnectionError:
                    self.failures["send on a closed socket"] += 1
                n += 1

        rooms = sorted(senders)
        await asyncio.gather(
            *(talk(room, i / max(1, len(rooms)) / rate) for i, room in enumerate(rooms))
        )
        deadline = loop.time() + drain
        while (self.closed_at or self.tasks or self._short()) and loop.time() < deadline:
            await asyncio.sleep(0.05)

    def _short(self) -> bool:
        """Whether some member still lacks a copy another member of its room received."""
        for members in self.gen.rooms.values():
            room_seqs: set[int] = set()
            for m in members:
                room_seqs.update(self.seen.get(m.key, []))
            if any(len(room_seqs - set(self.seen.get(m.key, []))) for m in members):
                return True
        return False

    def report(self, movers: int) -> dict[str, Any]:
        """What the members saw: who is back, how fast, and whether anything went missing."""
        missing = repeated = whole = missing_movers = 0
        checked = False
        for members in self.gen.rooms.values():
            room_seqs: set[int] = set()
            for m in members:
                room_seqs.update(self.seen.get(m.key, []))
            if not room_seqs:
                continue
            checked = True
            for m in members:
                mine = self.seen.get(m.key, [])
                lost = len(room_seqs - set(mine))
                twice = len(mine) - len(set(mine))
                missing += lost
                missing_movers += lost if m.spec.get("alt") or m.spec.get("key") else 0
                repeated += twice
                whole += lost == 0 and twice == 0
        back_s = (max(self.back_at) - self.first_close) if self.back_at else None
        p50, p99 = _pct(self.reopen_s, 50), _pct(self.reopen_s, 99)
        return {
            "movers": movers,
            "back": len(self.back_at),
            "not_back": movers - len(self.back_at),
            "back_s": None if back_s is None else round(back_s, 3),
            "reopen_p50_ms": None if p50 is None else round(1000 * p50, 1),
            "reopen_p99_ms": None if p99 is None else round(1000 * p99, 1),
            "reopen_ms": [round(1000 * x, 1) for x in self.reopen_s],
            "gaps_announced": self.gaps,
            "seqs_checked": checked,
            "missing_copies": missing if checked else None,
            "missing_copies_of_movers": missing_movers if checked else None,
            "repeated_copies": repeated if checked else None,
            "members_whole": whole if checked else None,
            "failures": dict(self.failures.most_common(5)),
            "errors": dict(self.gen.errors),
        }
