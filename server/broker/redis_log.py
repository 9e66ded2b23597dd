"""The room log in Redis: seq by INCR, the resume window as a sorted set, refs and ids.

Numbering, keeping and publishing run in one Lua script, so Redis orders every room's
messages once for all processes. Every key of a room carries its slug as a hash tag
(`hearth:room:{slug}:seq`), so on a Redis Cluster they share one slot and the script stays
atomic there too; `sharded` publishes with SPUBLISH, and keeps the process-wide message-id
index (which lives in another slot) by a second command after the script. The script
writes the message frame (`wire/out.py: numbered_message`) and its publication
(`envelope.py: numbered_publication`) as those functions do. Window entries are sealed
(AES-GCM) so a Redis snapshot reveals no words; the live publication is not persisted by
Redis and stays plain.
"""

from __future__ import annotations

import secrets
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from ..sealing import Sealer
from ..store.ids import now_ms
from ..wire.out import MESSAGE_HEAD, numbered_message
from .base import Append, Appended, WindowRead
from .envelope import encode_header, room_channel
from .redis_pipe import CommandPipe, run_script

__all__ = ["Client", "RedisRoomLog", "room_key"]

Client = aioredis.Redis | RedisCluster  # one Redis, or a Redis Cluster

WINDOW_MAX = 1000
MESSAGE_ID_TTL = 86400
ENDED_TTL = 7 * 86400  # longer than any resume window: a resume across an `end` is a gap
RESTORE_MARGIN = 1000  # more than any process can number between two of another's deliveries

# KEYS: seq, epoch.  ARGV: new epoch, known epoch ('' if none), known seq.
_ENSURE_EPOCH = """
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  if ARGV[2] ~= '' then
    -- Resume the numbering a process remembers, past anything another process may have
    -- numbered just before the loss (seqs may skip numbers, never repeat).
    epoch = ARGV[2]
    local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
    local resumed = tonumber(ARGV[3]) + RESTORE_MARGIN
    if cur < resumed then redis.call('SET', KEYS[1], resumed) end
  else
    epoch = ARGV[1]
    redis.call('DEL', KEYS[1])
  end
  redis.call('SET', KEYS[2], epoch)
elseif ARGV[2] == epoch then
  -- Redis came back from an older snapshot: never number below what was already seen.
  local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
  if cur < tonumber(ARGV[3]) then
    redis.call('SET', KEYS[1], tonumber(ARGV[3]) + RESTORE_MARGIN)
  end
end
"""

_ENSURE_EPOCH = _ENSURE_EPOCH.replace("RESTORE_MARGIN", str(RESTORE_MARGIN))

_POSITION = (
    _ENSURE_EPOCH
    + """
return {epoch, tonumber(redis.call('GET', KEYS[1]) or '0')}
"""
)

# KEYS: seq, epoch, window, floor, ref, last sent[, message id].
# ARGV 4..: channel, header, frame head, fields, sealed fields, id value, window s, now ms,
# max, author id, has ref ('1'/'0').
_APPEND = (
    _ENSURE_EPOCH
    + """
if ARGV[14] == '1' then
  local prev = redis.call('GET', KEYS[5])
  if prev then return {0, epoch, prev} end
end
local seq = redis.call('INCR', KEYS[1])
local frame = ARGV[6] .. seq .. ',' .. string.sub(ARGV[7], 2)
local win = tonumber(ARGV[10])
if win > 0 then
  if redis.call('EXISTS', KEYS[3]) == 0 then
    -- The window expired (its floor with it) or was never kept: all before seq has left it.
    redis.call('SET', KEYS[4], seq - 1)
  end
  redis.call('ZADD', KEYS[3], seq, seq .. '|' .. ARGV[11] .. '|' .. ARGV[8])
  local n = redis.call('ZCARD', KEYS[3])
  local max = tonumber(ARGV[12])
  if n > max then
    local old = redis.call('ZRANGE', KEYS[3], 0, n - max - 1, 'WITHSCORES')
    redis.call('ZREMRANGEBYRANK', KEYS[3], 0, n - max - 1)
    redis.call('SET', KEYS[4], old[#old])
  end
  redis.call('PEXPIRE', KEYS[3], win * 1000)
  redis.call('PEXPIRE', KEYS[4], win * 1000)
  if ARGV[14] == '1' then
    redis.call('SET', KEYS[5], seq .. '|' .. ARGV[8], 'PX', win * 1000)
  end
else
  redis.call('SET', KEYS[4], seq)
end
if KEYS[7] then
  redis.call('SET', KEYS[7], ARGV[9] .. '|' .. seq .. '|' .. ARGV[13], 'EX', MESSAGE_ID_TTL)
end
redis.call('HSET', KEYS[6], ARGV[13], ARGV[11])
redis.call('EXPIRE', KEYS[6], 86400)
redis.call('PUBLISH_COMMAND', ARGV[4],
           '{"e":"' .. epoch .. '","s":' .. seq .. ',"h":' .. ARGV[5] .. ',"f":' .. frame .. '}')
return {1, epoch, seq}
""".replace("MESSAGE_ID_TTL", str(MESSAGE_ID_TTL))
)

# KEYS: seq, epoch, window, floor, ended.  ARGV: after seq, upto ('+inf' for all).
_READ = """
local members = redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], ARGV[2])
return {redis.call('GET', KEYS[2]) or '', redis.call('GET', KEYS[1]) or '0',
        redis.call('GET', KEYS[4]) or '0', redis.call('ZCARD', KEYS[3]), members,
        redis.call('GET', KEYS[5]) or '0'}
"""

# KEYS: window.  ARGV: seqs.
_REMOVE = """
for _, seq in ipairs(ARGV) do redis.call('ZREMRANGEBYSCORE', KEYS[1], seq, seq) end
"""

# KEYS: seq, window, floor, first entries, ended.  ARGV: ended TTL s.
_RESET = """
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
redis.call('DEL', KEYS[2], KEYS[4])
redis.call('SET', KEYS[3], seq)
redis.call('SET', KEYS[5], seq, 'EX', ARGV[1])
"""

_FIRST = """
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], 86400)
return redis.call('HGET', KEYS[1], ARGV[1])
"""


def room_key(room: str, name: str) -> str:
    """A key of the room, hash-tagged so that all of a room's keys share one cluster slot."""
    return f"hearth:room:{{{room}}}:{name}"


def _keys(room: str) -> tuple[str, str, str, str]:
    return (
        room_key(room, "seq"),
        room_key(room, "epoch"),
        room_key(room, "window"),
        room_key(room, "floor"),
    )


class RedisRoomLog:
    """RoomLog over Redis; sealed window entries, plain live publication.

    With a `pipe` (one Redis, not a cluster), every message's append, and what each
    entering socket asks (the position, the window, its first entry), runs on that
    multiplexed connection instead of redis-py's pool, whose machinery cost several times
    what Redis spends on a command.
    """

    def __init__(
        self,
        client: Client,
        sealer: Sealer,
        sharded: bool = False,
        pipe: CommandPipe | None = None,
    ) -> None:
        self._client = client
        self._sealer = sealer
        self._sharded = sharded
        self._pipe = pipe
        command = "SPUBLISH" if sharded else "PUBLISH"
        self._append_text = _APPEND.replace("PUBLISH_COMMAND", command)
        self._append = client.register_script(self._append_text)
        self._position = client.register_script(_POSITION)
        self._read = client.register_script(_READ)
        self._remove = client.register_script(_REMOVE)
        self._reset = client.register_script(_RESET)
        self._first = client.register_script(_FIRST)

    def _ref_key(self, room: str, ref_key: str) -> str:
        # The user id and the client's `ref` (any text) never appear in a key name.
        return room_key(room, f"ref:{self._sealer.name(ref_key)}")

    def _open(self, seq: int, sealed_fields: str, room: str) -> str:
        return numbered_message(seq, self._sealer.open(sealed_fields, room.encode()))

    async def append(self, message: Append) -> Appended:
        room, ref_key, author_id = message.room, message.ref_key, message.author_id
        seq_key, epoch_key, window_key, floor_key = _keys(room)
        # Always a key of the room's slot (a cluster checks every key); "has ref" says if used.
        ref = self._ref_key(room, ref_key) if ref_key is not None else room_key(room, "ref:")
        sealed = self._sealer.seal(message.fields, room.encode())
        known_epoch, known_seq = message.known if message.known else ("", 0)
        keys = [seq_key, epoch_key, window_key, floor_key, ref, room_key(room, "last")]
        message_key = f"hearth:msg:{message.message_id}"
        if not self._sharded:
            keys.append(message_key)
        args: list[str | bytes | int] = [
            secrets.token_hex(8),
            known_epoch,
            known_seq,
            room_channel(room),
            encode_header(message.header),
            MESSAGE_HEAD,
            message.fields,
            sealed,
            room,
            message.window_seconds,
            now_ms(),
            WINDOW_MAX,
            author_id,
            "0" if ref_key is None else "1",
        ]
        result: list[Any] = await run_script(self._pipe, self._append, keys, args)
        fresh, epoch = int(result[0]), str(result[1])
        if fresh:
            seq = int(result[2])
            if self._sharded:
                value = f"{room}|{seq}|{author_id}"
                await self._client.set(message_key, value, ex=MESSAGE_ID_TTL)
            return Appended(seq, epoch, numbered_message(seq, message.fields), duplicate=False)
        seq_text, _, prev_sealed = str(result[2]).partition("|")
        seq = int(seq_text)
        return Appended(seq, epoch, self._open(seq, prev_sealed, room), duplicate=True)

    async def last_sent(self, room: str, user_id: str) -> float | None:
        found = await self._client.hget(room_key(room, "last"), user_id)
        return None if found is None else int(found) / 1000

    async def position(self, room: str, known: tuple[str, int] | None = None) -> tuple[str, int]:
        seq_key, epoch_key, _, _ = _keys(room)
        known_epoch, known_seq = known if known else ("", 0)
        result: list[Any] = await run_script(
            self._pipe,
            self._position,
            [seq_key, epoch_key],
            [secrets.token_hex(8), known_epoch, known_seq],
        )
        return str(result[0]), int(result[1])

    async def recall(self, room: str, ref_key: str) -> Appended | None:
        found = await self._client.get(self._ref_key(room, ref_key))
        if found is None:
            return None
        epoch = await self._client.get(_keys(room)[1])
        seq_text, _, sealed = str(found).partition("|")
        seq = int(seq_text)
        frame = self._open(seq, sealed, room)
        return Appended(seq, str(epoch or ""), frame, duplicate=True)

    async def read(
        self, room: str, after_seq: int, window_seconds: int, upto: int | None = None
    ) -> WindowRead:
        result: list[Any] = await run_script(
            self._pipe,
            self._read,
            [*_keys(room), room_key(room, "ended")],
            [after_seq, "+inf" if upto is None else upto],
        )
        epoch_raw, seq_raw, floor_raw, kept, members, ended = result
        if not epoch_raw:
            epoch_raw, _ = await self.position(room)
        epoch = str(epoch_raw)
        cutoff = now_ms() - window_seconds * 1000
        floor = int(floor_raw or 0)
        entries: list[tuple[int, str]] = []
        for member in members:
            seq_text, ts_text, sealed = str(member).split("|", 2)
            seq = int(seq_text)
            if int(ts_text) < cutoff:
                floor = max(floor, seq)
                continue
            entries.append((seq, self._open(seq, sealed, room)))
        if int(kept) == 0:
            floor = -1
        return WindowRead(epoch, int(seq_raw or 0), entries, floor, int(ended or 0))

    async def locate(self, message_id: str) -> tuple[str, int, str] | None:
        found = await self._client.get(f"hearth:msg:{message_id}")
        if found is None:
            return None
        room, seq, author = str(found).rsplit("|", 2)
        return room, int(seq), author

    async def remove(self, room: str, seqs: list[int]) -> None:
        if seqs:
            await self._remove(keys=[room_key(room, "window")], args=seqs)

    async def mark_first_entry(self, room: str, user_id: str, seq: int) -> int:
        kept = await run_script(self._pipe, self._first, [room_key(room, "first")], [user_id, seq])
        return int(kept)

    async def reset(self, room: str) -> None:
        seq_key, _, window_key, floor_key = _keys(room)
        await self._reset(
            keys=[seq_key, window_key, floor_key, room_key(room, "first"), room_key(room, "ended")],
            args=[ENDED_TTL],
        )
        async for key in self._client.scan_iter(match=room_key(room, "ref:*"), count=500):
            await self._client.delete(key)
