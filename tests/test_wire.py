"""Pure tests of the wire layer and sealing: no event loop, no I/O (PROTOCOL §2, §3)."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.exceptions import InvalidTag

from server.sealing import Sealer, derive_key
from server.wire.frames import (
    AcceptAgreement,
    Consent,
    FrameError,
    Hand,
    Mod,
    Ping,
    React,
    Report,
    Send,
    Typing,
    decode_client_frame,
)
from server.wire.out import (
    MessageFields,
    error_frame,
    message_fields,
    numbered_message,
    welcome,
    with_ref,
)
from server.wire.text import WHITE_SPACE, body_problem, display_name_problem

# Unicode 15 PropList.txt, White_Space=yes: the 25 code points, written out independently of
# the implementation's table.
UNICODE_WHITE_SPACE = (
    [chr(c) for c in range(0x09, 0x0E)]
    + [" ", "\x85", "\xa0", "\u1680"]
    + [chr(c) for c in range(0x2000, 0x200B)]
    + ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
)

# Characters people mistake for white space but Unicode does not list as White_Space.
NOT_WHITE_SPACE = ["\u200b", "\u180e", "\ufeff", "\u2060", "\u200c", "\u200d"]


def invalid(text: str | bytes) -> FrameError:
    """Decode `text`, insisting it is refused as `invalid`."""
    result = decode_client_frame(text)
    assert isinstance(result, FrameError), result
    assert result.code == "invalid"
    assert result.message
    return result


# --- decode_client_frame: the good frames -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"type":"send","body":"hi"}', Send(body="hi")),
        ('{"type":"send","body":" a\\tb\\n","ref":"r1"}', Send(body=" a\tb\n", ref="r1")),
        ('{"type":"typing"}', Typing()),
        (
            '{"type":"react","message_id":"m1","reaction":"hug"}',
            React(message_id="m1", reaction="hug"),
        ),
        ('{"type":"hand","raised":true}', Hand(raised=True)),
        ('{"type":"consent","recorded":false}', Consent(recorded=False)),
        ('{"type":"report","message_id":"m1"}', Report(message_id="m1", reason="")),
        ('{"type":"ping","ref":null}', Ping()),
        ('{"type":"accept_agreement"}', AcceptAgreement()),
        (
            '{"type":"mod","action":"mute","user_id":"u1","seconds":60}',
            Mod(action="mute", user_id="u1", seconds=60),
        ),
        ('{"type":"send","body":"\\ud83d\\ude00"}', Send(body="\U0001f600")),
        (b'{"type":"ping","ref":"bytes"}', Ping(ref="bytes")),
    ],
)
def test_decode_accepts_well_formed_frames(text: str | bytes, expected: object) -> None:
    assert decode_client_frame(text) == expected


def test_decode_accepts_ref_of_exactly_128_characters() -> None:
    ref = "é" * 128
    assert decode_client_frame(json.dumps({"type": "ping", "ref": ref})) == Ping(ref=ref)


# --- decode_client_frame: every way a frame can be wrong ----------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "not json", "{", '{"type":"send",}', "{'type':'ping'}", b"\xff\xfe", "\x00"],
    ids=["empty", "words", "unclosed", "trailing-comma", "single-quotes", "bad-utf8", "nul"],
)
def test_decode_refuses_text_that_is_not_json(text: str | bytes) -> None:
    assert invalid(text).ref is None


@pytest.mark.parametrize("text", ["[]", '[{"type":"ping"}]', "1", '"ping"', "null", "true"])
def test_decode_refuses_json_that_is_not_an_object(text: str) -> None:
    assert invalid(text).ref is None


@pytest.mark.parametrize(
    "frame",
    [
        {},
        {"ref": "r"},
        {"type": "nope"},
        {"type": "SEND", "body": "hi"},
        {"type": ""},
        {"type": 5},
        {"type": None},
        {"type": ["send"]},
    ],
)
def test_decode_refuses_missing_or_unknown_type(frame: dict[str, object]) -> None:
    invalid(json.dumps(frame))


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "send"},
        {"type": "react", "message_id": "m1"},
        {"type": "react", "reaction": "nod"},
        {"type": "hand"},
        {"type": "consent"},
        {"type": "report"},
        {"type": "mod"},
    ],
)
def test_decode_refuses_missing_fields(frame: dict[str, object]) -> None:
    invalid(json.dumps(frame))


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "send", "body": 1},
        {"type": "send", "body": None},
        {"type": "send", "body": ["hi"]},
        {"type": "send", "body": {"text": "hi"}},
        {"type": "hand", "raised": 1},
        {"type": "hand", "raised": "true"},
        {"type": "consent", "recorded": None},
        {"type": "react", "message_id": 7, "reaction": "nod"},
        {"type": "react", "message_id": "", "reaction": "nod"},
        {"type": "react", "message_id": "m", "reaction": 1},
        {"type": "report", "message_id": "m", "reason": 5},
        {"type": "mod", "action": 5},
        {"type": "mod", "action": "mute", "seconds": "60"},
        {"type": "mod", "action": "mute", "seconds": True},
        {"type": "mod", "action": "mute", "seconds": 1.5},
        {"type": "mod", "action": "mute", "user_id": 3},
    ],
)
def test_decode_refuses_wrong_typed_fields(frame: dict[str, object]) -> None:
    invalid(json.dumps(frame))


@pytest.mark.parametrize("ref", ["a" * 129, "é" * 129, 5, 1.5, True, ["r"], {"r": 1}], ids=repr)
def test_decode_refuses_bad_ref_and_echoes_none(ref: object) -> None:
    result = invalid(json.dumps({"type": "ping", "ref": ref}))
    assert result.ref is None


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "nope", "ref": "r-42"},
        {"ref": "r-42"},
        {"type": "send", "ref": "r-42"},
        {"type": "send", "body": 3, "ref": "r-42"},
        {"type": "hand", "raised": "no", "ref": "r-42"},
        {"type": "react", "message_id": "m", "reaction": None, "ref": "r-42"},
    ],
)
def test_decode_error_echoes_a_valid_ref(frame: dict[str, object]) -> None:
    assert invalid(json.dumps(frame)).ref == "r-42"


def test_decode_error_echoes_ref_of_exactly_128_characters() -> None:
    ref = "x" * 128
    assert invalid(json.dumps({"type": "send", "ref": ref})).ref == ref


@pytest.mark.parametrize(
    "text",
    [
        '{"type":"send","body":"\\ud800"}',
        '{"type":"send","body":"a\\udc00b"}',
        '{"type":"send","body":"\\ude00\\ud83d"}',
        '{"type":"send","body":"\ud800"}',
        '{"type":"send","body":"a\udfffb","ref":"r"}',
    ],
    ids=["escaped-high", "escaped-low", "escaped-reversed-pair", "raw-high", "raw-low"],
)
def test_decode_refuses_lone_surrogates(text: str) -> None:
    invalid(text)


@pytest.mark.parametrize(
    "text",
    ['{"type":"ping","ref":"\\ud800"}', '{"type":"nope","ref":"a\udc00"}'],
    ids=["escaped", "raw"],
)
def test_ref_with_lone_surrogate_is_not_echoed_and_error_frame_encodes(text: str) -> None:
    # A ref that cannot be written as UTF-8 is no valid ref: echoing it would break the
    # encoder of the error frame.
    result = invalid(text)
    assert result.ref is None
    frame = json.loads(error_frame(result.code, result.message, result.ref))
    assert frame["type"] == "error"
    assert "ref" not in frame


def test_decode_never_raises_for_arbitrary_input() -> None:
    samples: list[str | bytes] = [
        "}" * 10,
        "[" * 100_000,
        '{"type":"send","body":"' + "x" * 100_000 + '"}',
        '{"type":"send","body":"\\u0000"}',
        b"\x00\x01\x02",
        '{"type":"send","body":"hi"} trailing',
        '{"type":"send","body":"hi"}{"type":"ping"}',
    ]
    for sample in samples:
        result = decode_client_frame(sample)
        assert isinstance(result, FrameError | Send), sample[:40]


# --- body_problem -------------------------------------------------------------------------


def test_white_space_table_is_exactly_unicode_white_space() -> None:
    assert set(WHITE_SPACE) == set(UNICODE_WHITE_SPACE)
    assert len(UNICODE_WHITE_SPACE) == 25


def test_body_empty_is_invalid() -> None:
    problem = body_problem("", 2000)
    assert problem is not None and problem[0] == "invalid" and problem[1]


@pytest.mark.parametrize("ch", UNICODE_WHITE_SPACE, ids=lambda c: f"U+{ord(c):04X}")
def test_body_of_only_white_space_is_invalid(ch: str) -> None:
    for body in (ch, ch * 3, " " + ch + "\n"):
        problem = body_problem(body, 2000)
        assert problem is not None and problem[0] == "invalid", repr(body)


def test_body_of_mixed_white_space_is_invalid() -> None:
    problem = body_problem("\u3000\xa0 \t\r\n\u2003", 2000)
    assert problem is not None and problem[0] == "invalid"


@pytest.mark.parametrize("ch", NOT_WHITE_SPACE, ids=lambda c: f"U+{ord(c):04X}")
def test_body_of_invisible_non_white_space_is_valid(ch: str) -> None:
    assert body_problem(ch, 2000) is None
    assert body_problem(" " + ch + " ", 2000) is None


@pytest.mark.parametrize(
    "code", [c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)], ids=lambda c: f"U+{c:04X}"
)
def test_body_with_control_character_is_invalid(code: int) -> None:
    for body in (chr(code), "hello" + chr(code), chr(code) + "hello", "a" + chr(code) + "b"):
        problem = body_problem(body, 2000)
        assert problem is not None and problem[0] == "invalid", repr(body)


@pytest.mark.parametrize(
    "body",
    [
        "a\tb",
        "line one\nline two",
        "windows\r\nline",
        "\ttabbed",
        "trailing\n",
        "\x7f",
        "a\x85b",
        "  padded  ",
        '<b>not escaped</b> & "quoted"',
        "\U0001f600",
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    ],
)
def test_body_accepts_ordinary_text(body: str) -> None:
    assert body_problem(body, 2000) is None


@pytest.mark.parametrize("body", ["\ud800", "a\udc00", "\udfffb", "ok \ud83d"])
def test_body_with_lone_surrogate_is_invalid(body: str) -> None:
    problem = body_problem(body, 2000)
    assert problem is not None and problem[0] == "invalid"


def test_body_length_counts_code_points() -> None:
    assert body_problem("a" * 10, 10) is None
    too_long = body_problem("a" * 11, 10)
    assert too_long is not None and too_long[0] == "too_long"
    # One astral code point is one character, though two UTF-16 units and four UTF-8 bytes.
    assert body_problem("\U0001f600" * 10, 10) is None
    too_long = body_problem("\U0001f600" * 11, 10)
    assert too_long is not None and too_long[0] == "too_long"
    assert body_problem("é" * 2000, 2000) is None
    assert body_problem("x", 1) is None
    problem = body_problem("xy", 1)
    assert problem is not None and problem[0] == "too_long"


def test_body_at_the_largest_limit() -> None:
    assert body_problem("z" * 10000, 10000) is None
    problem = body_problem("z" * 10001, 10000)
    assert problem is not None and problem[0] == "too_long" and problem[1]


# --- display_name_problem -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["a", "Ada Lovelace", "x" * 64, "\U0001f600" * 64, "Zoë", " padded ", "a\u200bb"]
)
def test_display_name_accepts(name: str) -> None:
    assert display_name_problem(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "",
        "x" * 65,
        "\U0001f600" * 65,
        " ",
        "   ",
        "\u3000",
        "\xa0\xa0",
        "\t",
        "a\tb",
        "a\nb",
        "a\rb",
        "a\x00b",
        "a\x1bb",
        "a\x7fb",
        "a\x85b",
        "a\x9fb",
        "a\ud800b",
    ],
    ids=repr,
)
def test_display_name_refuses(name: str) -> None:
    problem = display_name_problem(name)
    assert isinstance(problem, str) and problem


# --- out.py -------------------------------------------------------------------------------


def test_error_frame_without_options() -> None:
    assert json.loads(error_frame("invalid", "frame must be a JSON object")) == {
        "type": "error",
        "code": "invalid",
        "message": "frame must be a JSON object",
    }


def test_error_frame_with_ref_and_retry_after() -> None:
    frame = json.loads(error_frame("rate_limited", "slow down", ref='r"1\n', retry_after=2.5))
    assert frame == {
        "type": "error",
        "code": "rate_limited",
        "message": "slow down",
        "ref": 'r"1\n',
        "retry_after": 2.5,
    }


@pytest.mark.parametrize("retry_after", [0.0, 0.0001, 1e-9, -1.0])
def test_error_frame_retry_after_is_always_positive(retry_after: float) -> None:
    value = json.loads(error_frame("slow_mode", "wait", retry_after=retry_after))["retry_after"]
    assert isinstance(value, int | float) and value > 0


def test_error_frame_retry_after_is_rounded() -> None:
    value = json.loads(error_frame("slow_mode", "wait", retry_after=1.23456))["retry_after"]
    assert value == pytest.approx(1.235)


def test_error_frame_empty_ref_is_kept() -> None:
    assert json.loads(error_frame("invalid", "x", ref=""))["ref"] == ""


AUTHOR = {"id": "u1", "display_name": 'Zoë "Z" \u3000', "role": "member"}


@pytest.mark.parametrize(
    "body",
    [
        "hello",
        'quotes " and \\ backslashes',
        "line\nbreak\ttab\r",
        "</script><script>alert(1)</script>",
        "\U0001f600 emoji \u200b zero width",
        "  untrimmed  ",
        "\u2028\u2029",
    ],
)
def test_numbered_message_is_the_message_frame_with_its_seq(body: str) -> None:
    fields = message_fields(MessageFields("m-1", "circle", AUTHOR, body, 1_700_000_000_123, True))
    text = numbered_message(42, fields)
    assert text.startswith('{"type":"message","seq":42,"id":')  # the contract's key order
    frame = json.loads(text)
    assert frame == {
        "type": "message",
        "seq": 42,
        "id": "m-1",
        "room": "circle",
        "author": AUTHOR,
        "body": body,
        "ts": 1_700_000_000_123,
        "recorded": True,
    }
    assert frame["body"] == body  # exactly as sent


def test_message_fields_do_not_depend_on_seq() -> None:
    fields = message_fields(MessageFields("m-2", "r", AUTHOR, "x", 1, False))
    for seq in (1, 999, 10**12):
        frame = json.loads(numbered_message(seq, fields))
        assert frame["seq"] == seq
        assert frame["recorded"] is False


def test_numbered_message_reads_a_window_entry_kept_before_fields_were_objects() -> None:
    fields = message_fields(MessageFields("m-9", "r", AUTHOR, "old", 3, False))
    kept_as_suffix = "," + fields[1:]  # how entries were sealed before
    assert numbered_message(8, kept_as_suffix) == numbered_message(8, fields)


def test_welcome_carries_history_frames_as_they_are() -> None:
    fields = message_fields(MessageFields("m-4", "r", AUTHOR, "hi \u2028", 5, False))
    history = [numbered_message(1, fields), numbered_message(2, fields)]
    text = welcome({"type": "welcome", "seq": 2, "history": [], "gap": False}, history)
    assert text == ('{"type":"welcome","seq":2,"history":[' + ",".join(history) + '],"gap":false}')
    assert json.loads(welcome({"type": "welcome", "history": []}, []))["history"] == []


def test_with_ref_adds_ref_to_any_frame() -> None:
    fields = message_fields(MessageFields("m-3", "r", AUTHOR, "hi", 5, False))
    message = numbered_message(7, fields)
    referenced = json.loads(with_ref(message, 'my "ref" \u00e9'))
    assert referenced == {**json.loads(message), "ref": 'my "ref" \u00e9'}

    error = error_frame("muted", "you are muted")
    assert json.loads(with_ref(error, "r9")) == {
        "type": "error",
        "code": "muted",
        "message": "you are muted",
        "ref": "r9",
    }
    assert json.loads(with_ref('{"type":"pong"}', "")) == {"type": "pong", "ref": ""}


# --- sealing ------------------------------------------------------------------------------

KEY_A = derive_key("a-secret-of-at-least-16-chars", "resume-window")
KEY_B = derive_key("another-secret-for-rotation!!", "resume-window")


def test_derive_key_is_deterministic_per_secret_and_purpose() -> None:
    assert len(KEY_A) == 32
    assert derive_key("a-secret-of-at-least-16-chars", "resume-window") == KEY_A
    assert derive_key("a-secret-of-at-least-16-chars", "transcripts") != KEY_A
    assert KEY_B != KEY_A


@pytest.mark.parametrize("plain", ["", "hello", "\U0001f600 é \u3000 \n", "x" * 100_000])
def test_seal_round_trip(plain: str) -> None:
    sealer = Sealer({"k1": KEY_A}, "k1")
    token = sealer.seal(plain, b"room-1")
    assert token.startswith("k1.")
    assert sealer.open(token, b"room-1") == plain
    key_id, sealed = sealer.seal_bytes(plain, b"ctx")
    assert key_id == "k1"
    assert sealer.open_bytes(key_id, sealed, b"ctx") == plain


def test_seal_hides_the_text_and_uses_fresh_nonces() -> None:
    sealer = Sealer({"k1": KEY_A}, "k1")
    phrase = "the secret phrase nobody may read"
    first, second = sealer.seal(phrase), sealer.seal(phrase)
    assert first != second
    for token in (first, second):
        raw = base64.b64decode(token.partition(".")[2])
        assert phrase.encode() not in raw
        assert phrase not in token


def test_open_with_wrong_context_fails() -> None:
    sealer = Sealer({"k1": KEY_A}, "k1")
    token = sealer.seal("hello", b"room-1")
    with pytest.raises(InvalidTag):
        sealer.open(token, b"room-2")
    with pytest.raises(InvalidTag):
        sealer.open(token)


def test_open_with_wrong_key_or_tampered_data_fails() -> None:
    token = Sealer({"k1": KEY_A}, "k1").seal("hello")
    with pytest.raises(InvalidTag):
        Sealer({"k1": KEY_B}, "k1").open(token)
    key_id, _, data = token.partition(".")
    raw = bytearray(base64.b64decode(data))
    raw[-1] ^= 1
    with pytest.raises(InvalidTag):
        Sealer({"k1": KEY_A}, "k1").open(key_id + "." + base64.b64encode(bytes(raw)).decode())


def test_key_rotation_opens_values_sealed_under_the_old_key() -> None:
    old = Sealer({"k1": KEY_A}, "k1")
    token = old.seal("said before rotation", b"ctx")
    rotated = Sealer({"k1": KEY_A, "k2": KEY_B}, "k2")
    assert rotated.open(token, b"ctx") == "said before rotation"
    fresh = rotated.seal("said after rotation", b"ctx")
    assert fresh.startswith("k2.")
    assert rotated.open(fresh, b"ctx") == "said after rotation"
    # The old key alone cannot open what the new one sealed.
    with pytest.raises(KeyError):
        old.open(fresh, b"ctx")


def test_sealer_refuses_bad_configuration() -> None:
    with pytest.raises(ValueError):
        Sealer({"k1": KEY_A}, "k2")
    with pytest.raises(ValueError):
        Sealer({"k1": b"short"}, "k1")
    with pytest.raises(ValueError):
        Sealer({"k1": KEY_A, "k0": b"\x00" * 31}, "k1")
