"""Generated frames over a real socket (Hypothesis): the frame decoder and every frame
handler answer each with a frame or a close the contract names, never an exception (the
server's log is checked for tracebacks). Bounded: a few hundred frames, well under a minute."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SHARED_REDIS
from tests.support.client import WS, Member, admin_token, new_user, unique
from tests.support.redis_server import emptied
from tests.support.servers import ROOT, SCALE, Cluster, sqlite_cluster, started

pytestmark = pytest.mark.timeout(300)

TYPES = [
    "send", "typing", "react", "hand", "consent", "report", "ping", "mod",
    "accept_agreement", "ask_facilitator", "welcome", "",
]  # fmt: skip
ACTIONS = [
    "mute", "unmute", "remove", "ban", "unban", "delete", "delete_all", "slow_mode", "lock",
    "unlock", "pin", "unpin", "admit", "deny", "lower_hand", "end", "resolve_flag", "approve",
    "discard", "check_in", "open", "dismiss_request", "MUTE",
]  # fmt: skip
# A socket the contract closes for a reason (ended, removed, banned, too many bad frames).
EXPECTED_CLOSES = {4403, 4408, 4410, 4429}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def fuzz_cluster() -> Iterator[Cluster]:
    """Two processes (SQLite, a Redis database of this module's own) with no frame limits,
    so generated frames reach their handlers instead of `rate_limited`."""
    url = emptied(f"{SHARED_REDIS}/14")
    workdir = Path(tempfile.mkdtemp(prefix="hearth-fuzz-"))
    config = str(ROOT / "tests/support/hearth-faults.toml")
    with started(sqlite_cluster(workdir, url, config=config)) as cluster:
        yield cluster


def _mostly(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The right shape three times in four; any JSON value otherwise."""
    return st.one_of(plausible, plausible, plausible, json_values)


def frames(ids: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Frames as text: mostly well-formed frames of every type (so that each handler runs),
    with plausible and hostile field values; also unknown types and text that is not JSON."""
    text, whole = st.text(max_size=300), st.integers(min_value=-(2**64), max_value=2**64)
    ref = st.text(max_size=140)
    by_type: dict[str, dict[str, st.SearchStrategy[Any]]] = {
        "send": {"body": _mostly(text)},
        "typing": {},
        "react": {
            "message_id": _mostly(ids),
            "reaction": _mostly(st.sampled_from(["nod", "heart", "hug", "clap", "boo"])),
        },
        "hand": {"raised": _mostly(st.booleans())},
        "consent": {"recorded": _mostly(st.booleans())},
        "report": {"message_id": _mostly(ids), "reason": _mostly(st.text(max_size=600))},
        "ping": {},
        "accept_agreement": {},
        "ask_facilitator": {"note": _mostly(st.text(max_size=600))},
    }
    mod_fields = {
        "user_id": _mostly(ids),
        "message_id": _mostly(ids),
        "pin_id": _mostly(ids),
        "flag_id": _mostly(ids),
        "held_id": _mostly(ids),
        "request_id": _mostly(ids),
        "seconds": _mostly(whole),
        "reason": _mostly(st.text(max_size=1200)),
        "body": _mostly(text),
    }
    typed = [
        st.fixed_dictionaries({"type": st.just(kind), **fields}, optional={"ref": _mostly(ref)})
        for kind, fields in by_type.items()
    ]
    mods = st.fixed_dictionaries(
        {"type": st.just("mod"), "action": _mostly(st.sampled_from(ACTIONS))},
        optional={"ref": _mostly(ref), **mod_fields},
    )
    anything = st.fixed_dictionaries(
        {"type": st.sampled_from(TYPES) | json_values},
        optional={"ref": json_values, "body": json_values, "action": json_values},
    )
    objects = st.one_of(*typed, mods, mods, mods, anything).map(json.dumps)
    return st.one_of(objects, objects, objects, json_values.map(json.dumps), st.text(max_size=200))


class Sockets:
    """The fuzzing sockets: an admin (every `mod` action) and a member, reopened when the
    contract closes them; the ids frames may aim at."""

    def __init__(self, cluster: Cluster, admin: Member, slug: str) -> None:
        self.cluster, self.admin, self.slug = cluster, admin, slug
        self.sockets: dict[str, WS] = {}
        self.ids: list[str] = [admin.id]
        self.closes: list[int | None] = []

    async def open(self, who: str) -> WS:
        server = self.cluster.servers[0 if who == "admin" else 1]
        member = self.admin if who == "admin" else await new_user(server.base)
        if who != "admin":
            self.ids.append(member.id)
        ws, _ = await WS.enter(server.ws_base, self.slug, member)
        self.sockets[who] = ws
        return ws

    async def exchange(self, who: str, text: str, n: int) -> None:
        """Send one frame, then a ping; wait for its pong (or a contract close)."""
        ws = self.sockets.get(who) or await self.open(who)
        try:
            await ws.conn.send(text)
            await ws.send({"type": "ping", "ref": f"p{n}"})
            while True:
                frame = await ws.recv(timeout=10)
                if frame.get("type") == "message" and frame.get("id"):
                    self.ids.append(frame["id"])
                assert frame.get("code") != "internal", f"a handler failed on {text[:200]!r}"
                if frame.get("type") == "pong" and frame.get("ref") == f"p{n}":
                    return
        except websockets.ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            assert code in EXPECTED_CLOSES, f"closed with {code} after {text[:200]!r}"
            self.closes.append(code)
            self.sockets.pop(who, None)


def test_generated_frames_never_make_a_handler_fail(fuzz_cluster: Cluster) -> None:
    loop = asyncio.new_event_loop()
    cluster = fuzz_cluster
    sizes = [len(server.log()) for server in cluster.servers]
    admin = loop.run_until_complete(admin_token(cluster.servers[0].base, cluster.admin))
    from tests.conftest import make_room

    room = loop.run_until_complete(
        make_room(cluster.servers[0].base, admin, transcripts="opt_in")
    )
    sockets = Sockets(cluster, admin, room["slug"])
    count = [0]
    ids = st.sampled_from([unique("x"), "", "0" * 40]) | st.deferred(
        lambda: st.sampled_from(sockets.ids)
    )

    @settings(
        max_examples=int(150 / max(SCALE, 1)) + 50,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(who=st.sampled_from(["admin", "admin", "member"]), text=frames(ids))
    def one_frame(who: str, text: str) -> None:
        count[0] += 1
        loop.run_until_complete(sockets.exchange(who, text, count[0]))

    try:
        one_frame()
    finally:
        for ws in sockets.sockets.values():
            loop.run_until_complete(ws.close())
        loop.close()
    assert count[0] >= 50  # every example went over the socket
    for server, size in zip(cluster.servers, sizes, strict=True):
        tail = server.log()[size:]
        assert "Traceback" not in tail, tail[-4000:]
        assert "frame failed" not in tail, tail[-4000:]


@settings(max_examples=400, deadline=None, database=None)
@given(text=frames(st.text(max_size=40)))
def test_the_frame_decoder_answers_every_text_with_a_frame_or_an_error(text: str) -> None:
    from server.wire.frames import FrameError, decode_client_frame

    decoded = decode_client_frame(text)
    if isinstance(decoded, FrameError):
        assert decoded.code == "invalid" and decoded.message
        assert decoded.ref is None or isinstance(decoded.ref, str)
