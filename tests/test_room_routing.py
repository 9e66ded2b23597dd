"""Who receives what: the hub routes typed publications to local sockets. Pure: no event
loop, no backend; publications are made by the same functions the room log and the rooms
use, and fed to `Hub.deliver`, the pub/sub reader's entry point."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest

from server.broker.envelope import (
    Header,
    decode_publication,
    encode_header,
    encode_publication,
    numbered_publication,
    room_channel,
)
from server.moderation.effects import ModPayload, encode_mod_payload
from server.rooms.hub import Conn, Hub, Logout
from server.wire.out import MessageFields, message_fields, numbered_message

ROOM = "circle"
EPOCH = "e1"


@dataclass
class _Room:
    """A hub with this process's sockets in one room, and what reached each socket."""

    hub: Hub
    received: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    controls: list[tuple[str, Header, str]] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)

    def socket(self, conn_id: str, user_id: str, role: str = "member", live: bool = True) -> Conn:
        conn = Conn(conn_id, ROOM, user_id, user_id, user_id, False, role, "s", queue_size=8)
        got = self.received.setdefault(conn_id, [])

        async def send(text: str) -> None:  # finishes at once: the outbox runs it in place
            got.append(json.loads(text))

        conn.queue.attach(send, lambda: None)
        conn.live = live
        self.hub.rooms.setdefault(ROOM, set()).add(conn)
        return conn

    def deliver(self, data: str | bytes) -> None:
        self.hub.deliver(room_channel(ROOM), data)

    def types(self, conn_id: str) -> list[str]:
        return [frame["type"] for frame in self.received[conn_id]]


@pytest.fixture
def room() -> _Room:
    made: _Room

    def on_control(room: str, header: Header, frame: str, sockets: list[Conn]) -> None:
        made.controls.append((room, header, frame))

    def on_epoch(room: str, sockets: list[Conn]) -> None:
        made.restarted.append(room)

    no_pubsub: Any = None  # routing never subscribes: sockets are placed in the hub directly
    made = _Room(Hub(no_pubsub, on_control, on_epoch))
    return made


def frame(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields})


def message(seq: int, body: str = "hi", recorded: bool = False, **header: Any) -> str:
    """A numbered message's publication, as the room log writes it."""
    fields = message_fields(MessageFields(f"m{seq}", ROOM, {"id": "u-a"}, body, 1, recorded))
    head = Header(kind="message", **header)
    return numbered_publication(EPOCH, seq, encode_header(head), numbered_message(seq, fields))


def seqs(room: _Room, conn_id: str) -> list[int]:
    return [f["seq"] for f in room.received[conn_id] if f["type"] == "message"]


# --- the publication itself ---------------------------------------------------------------


def test_a_numbered_publication_decodes_to_its_epoch_seq_header_and_frame() -> None:
    publication = decode_publication(message(7, "words", recorded=True, conn="c1", ref="r"))
    assert (publication.epoch, publication.seq) == (EPOCH, 7)
    assert publication.header == Header(kind="message", conn="c1", ref="r")
    assert json.loads(publication.frame_text())["recorded"] is True
    assert json.loads(publication.frame_text())["seq"] == 7
    assert json.loads(publication.frame_text())["body"] == "words"


def test_a_frame_publication_carries_the_frame_text_unchanged() -> None:
    text = '{"type":"typing","user_id":"u-\\u00e9 \\"x\\""}'
    publication = decode_publication(encode_publication(Header(audience="mods"), text))
    assert publication.frame_text() == text
    assert (publication.epoch, publication.seq) == ("", 0)


def test_a_logout_event_keeps_its_layout_between_processes() -> None:
    encoded = msgspec.json.encode(Logout("s1"))
    assert encoded == b'{"k":"logout","s":"s1"}'
    assert msgspec.json.decode(encoded, type=Logout) == Logout(session="s1")
    with pytest.raises(msgspec.ValidationError):  # another kind of event is not a logout
        msgspec.json.decode(b'{"k":"other","s":"s1"}', type=Logout)


def test_a_mod_events_frames_keep_their_typed_headers_between_processes() -> None:
    payload = ModPayload(frames=[(Header(audience="all"), '{"type":"x"}')], moderation="{}")
    encoded = encode_mod_payload(payload)
    assert msgspec.json.decode(encoded, type=ModPayload) == payload
    # The header written out in full (as before it was typed) reads the same.
    spelled_out = '{"frames":[[{"a":"all"},"{\\"type\\":\\"x\\"}"]],"moderation":"{}"}'
    assert msgspec.json.decode(spelled_out, type=ModPayload) == payload


# --- audiences ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (Header(), {"alice-1", "alice-2", "bob", "fay"}),
        (Header(audience="others", user="alice"), {"bob", "fay"}),
        (Header(audience="mods"), {"fay"}),
        (Header(audience="mods_user", user="bob"), {"bob", "fay"}),
        (Header(audience="user", user="alice"), {"alice-1", "alice-2"}),
        (Header(audience="conn", conn="alice-2"), {"alice-2"}),
    ],
    ids=["all", "others", "mods", "mods_user", "user", "conn"],
)
def test_each_audience_reaches_exactly_the_sockets_it_names(
    room: _Room, header: Header, expected: set[str]
) -> None:
    room.socket("alice-1", "alice")
    room.socket("alice-2", "alice")
    room.socket("bob", "bob")
    room.socket("fay", "fay", role="facilitator")
    room.deliver(encode_publication(header, frame("typing")))
    assert {conn_id for conn_id, got in room.received.items() if got} == expected


def test_the_senders_socket_alone_gets_its_ref(room: _Room) -> None:
    room.socket("alice-1", "alice")
    room.socket("alice-2", "alice")
    room.socket("bob", "bob")
    room.deliver(message(1, conn="alice-1", ref="my ref"))
    assert room.received["alice-1"][0]["ref"] == "my ref"
    assert "ref" not in room.received["alice-2"][0]
    assert "ref" not in room.received["bob"][0]
    assert room.received["alice-1"][0] == {**room.received["bob"][0], "ref": "my ref"}


def test_control_events_go_to_the_process_not_to_sockets(room: _Room) -> None:
    room.socket("bob", "bob")
    header = Header(kind="control", event="recheck", user="bob", data={"why": 1})
    room.deliver(encode_publication(header, "{}"))
    assert room.received["bob"] == []
    assert room.controls == [(ROOM, header, "{}")]


# --- welcome and order --------------------------------------------------------------------


def test_frames_before_welcome_wait_and_only_those_after_its_seq_follow_it(room: _Room) -> None:
    entering = room.socket("new", "nina", live=False)
    room.deliver(message(4))
    room.deliver(encode_publication(Header(), frame("typing")))
    room.deliver(message(5))
    room.deliver(message(6))
    assert room.received["new"] == []  # nothing before welcome
    pending = room.hub.go_live(entering, 5)  # welcome says seq 5: 4 and 5 are in its history
    assert [json.loads(text).get("seq") for text in pending] == [None, 6]


def test_a_live_socket_skips_messages_at_or_below_its_welcome_seq(room: _Room) -> None:
    conn = room.socket("bob", "bob", live=False)
    room.hub.go_live(conn, 10)
    for seq in (9, 10, 11):
        room.deliver(message(seq))
    assert seqs(room, "bob") == [11]


def test_a_waiting_socket_gets_no_room_frames_at_all(room: _Room) -> None:
    conn = room.socket("wait", "walt", live=False)
    conn.waiting = True
    room.deliver(message(1))
    room.deliver(encode_publication(Header(), frame("typing")))
    assert room.received["wait"] == []
    assert room.hub.go_live(conn, 0) == []


def test_a_new_epoch_restarts_the_room_instead_of_delivering(room: _Room) -> None:
    room.socket("bob", "bob")
    room.deliver(message(1))
    restarted = message(1).replace(f'"e":"{EPOCH}"', '"e":"e2"')
    room.deliver(restarted)
    assert seqs(room, "bob") == [1]
    assert room.restarted == [ROOM]
    assert room.hub.known[ROOM] == ("e2", 1)


# --- recorded messages --------------------------------------------------------------------


def test_a_recorded_message_is_delivered_at_once_in_order(room: _Room) -> None:
    # Its row was committed before it was published; its number follows in the transcript
    # without holding anyone's deliveries (transcripts/transcript.py places it meanwhile).
    room.socket("bob", "bob")
    room.deliver(message(1, recorded=True))
    room.deliver(encode_publication(Header(), frame("typing")))
    room.deliver(message(2))
    assert room.types("bob") == ["message", "typing", "message"]
    assert [f["recorded"] for f in room.received["bob"] if f["type"] == "message"] == [True, False]


def test_a_numbered_event_of_an_earlier_version_is_decoded_and_ignored(room: _Room) -> None:
    # Processes of versions that held deliveries for it still publish it during a rolling
    # deploy: with the old header fields (`rec`, `n`), which are ignored.
    room.socket("bob", "bob")
    room.deliver('{"h":{"k":"message","rec":true},"e":"e1","s":1,"f":' + json.dumps(
        json.loads(decode_publication(message(1, recorded=True)).frame_text())) + "}")
    room.deliver('{"h":{"k":"numbered","n":[1]},"f":{}}')
    room.deliver(message(2))
    assert seqs(room, "bob") == [1, 2]
