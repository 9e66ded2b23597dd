"""Entering a room, from the handshake to `welcome` (PROTOCOL §3), as a state machine. Pure.

A socket that passed its handshake goes, in order, through:

1. the arrival gates: parts plugged in from outside (e.g. a group that has not met yet);
2. the room's agreement, when the user has not accepted its current version;
3. the admission gates: the waiting room of `approval` rooms;
4. a re-check of what the handshake checked, when any step made the socket wait (time
   passed: the session, bans and access may have changed);
5. the entry checks (e.g. a full room);

then `welcome`. A gate answers go on (None), wait for an event (it is asked again once the
event is set) or close. Frames the client sends meanwhile are answered here: `ping` with
`pong`, `accept_agreement` ends the agreement step, every other frame is `forbidden`.

`Entering` never awaits and touches no socket, store or broker: the connection loop
(`http/ws_entering.py`) performs the action it returns and feeds the outcome back, the
sans-I/O shape of websockets' `protocol.py`. What to send the client comes out of
`replies()`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal, TypeVar

from ..wire.errors import Close, Refuse
from ..wire.frames import AcceptAgreement, FrameError, Ping, decode_client_frame
from ..wire.out import encode
from .settings import RoomView

__all__ = [
    "Action",
    "AskCheck",
    "AskGate",
    "Entering",
    "Gate",
    "Listen",
    "Recheck",
    "Reply",
    "StoreAcceptance",
    "Enter",
    "agreement_due",
]

Stage = Literal["arrival", "admission"]

# What a gate answers: go on (None), wait for the event and ask again, or close.
Gate = asyncio.Event | Close | None

NOT_ENTERED = "you have not entered the room yet"


@dataclass(frozen=True, slots=True)
class AskGate:
    """Ask gate `index` of `stage` whether the socket may go on; feed `answered`."""

    stage: Stage
    index: int


@dataclass(frozen=True, slots=True)
class Listen:
    """Read the client's frames, feeding each to `received`; with an `event`, also wait
    for it and feed `event_set` once it is set."""

    event: asyncio.Event | None = None


@dataclass(frozen=True, slots=True)
class StoreAcceptance:
    """Record that the user accepted the room's current agreement; feed `stored`."""


@dataclass(frozen=True, slots=True)
class Recheck:
    """Check again what the handshake checked; feed `rechecked`."""


@dataclass(frozen=True, slots=True)
class AskCheck:
    """Run entry check `index`; feed `checked`."""

    index: int


@dataclass(frozen=True, slots=True)
class Enter:
    """Enter the room: queue `welcome` and serve the room's frames."""


# `Close` ends the socket with its code and reason.
Action = AskGate | Listen | StoreAcceptance | Recheck | AskCheck | Enter | Close
_A = TypeVar("_A", AskGate, Listen, StoreAcceptance, Recheck, AskCheck)


@dataclass(frozen=True, slots=True)
class Reply:
    """A frame for the client before `welcome` (`agreement_required`, `pong`)."""

    frame: str


def agreement_due(view: RoomView, accepted: int | None) -> str | None:
    """The room's agreement if the user must accept it before entering (they have not
    accepted its current version), else None."""
    if view.agreement is not None and accepted != view.agreement_version:
        return view.agreement
    return None


class Entering:
    """One socket's way from its handshake to `welcome`.

    Built with how many arrival gates, admission gates and entry checks there are and the
    agreement to accept (see `agreement_due`); `start()` returns the first action. Each
    feeding method returns the next action; calling one that does not answer the current
    action raises `RuntimeError` (a bug in the connection loop).
    """

    __slots__ = ("_action", "_agreement", "_asked", "_checks", "_gates", "_replies", "_waited")

    def __init__(
        self, arrival_gates: int, admission_gates: int, entry_checks: int, agreement: str | None
    ) -> None:
        self._gates: dict[Stage, int] = {"arrival": arrival_gates, "admission": admission_gates}
        self._checks = entry_checks
        self._agreement = agreement
        self._waited = False
        self._replies: list[Reply | Refuse] = []
        self._action: Action | None = None  # None: not started yet
        self._asked = AskGate("arrival", 0)  # the gate that made the socket wait

    @property
    def action(self) -> Action | None:
        """The action asked last (None before `start`)."""
        return self._action

    @property
    def waited(self) -> bool:
        """Whether a step made the socket wait (so that a re-check comes before `welcome`)."""
        return self._waited

    def replies(self) -> list[Reply | Refuse]:
        """The frames to send the client, in order, since last asked (each once)."""
        out, self._replies = self._replies, []
        return out

    # -- feeding -------------------------------------------------------------------------

    def start(self) -> Action:
        """The first action."""
        if self._action is not None:
            raise RuntimeError("entering has already started")
        return self._gate("arrival", 0)

    def answered(self, answer: Gate) -> Action:
        """The gate asked by `AskGate` answered."""
        asked = self._expect(AskGate)
        if answer is None:
            return self._gate(asked.stage, asked.index + 1)
        if isinstance(answer, tuple):
            return self._go(Close(*answer))
        self._waited = True
        self._asked = asked
        return self._go(Listen(answer))

    def event_set(self) -> Action:
        """The event a gate made the socket wait for is set: the gate is asked again."""
        listening = self._expect(Listen)
        if listening.event is None:
            raise RuntimeError("no event is awaited at the agreement")
        return self._go(self._asked)

    def received(self, text: str | None) -> Action:
        """A frame the client sent before `welcome` (None: a binary frame). Its answer, if
        any, comes out of `replies()`; `accept_agreement` ends the agreement step (while a
        gate holds the socket it is ignored: there is nothing to accept yet)."""
        listening = self._expect(Listen)
        frame = decode_client_frame(text) if text is not None else None
        if isinstance(frame, Ping):
            pong = {"type": "pong", **({"ref": frame.ref} if frame.ref else {})}
            self._replies.append(Reply(encode(pong)))
        elif isinstance(frame, AcceptAgreement):
            if listening.event is None:
                return self._go(StoreAcceptance())
        elif isinstance(frame, FrameError):
            self._replies.append(Refuse(frame.code, frame.message, frame.ref))
        else:
            ref = frame.ref if frame is not None else None
            self._replies.append(Refuse("forbidden", NOT_ENTERED, ref))
        return listening

    def stored(self) -> Action:
        """The acceptance of the agreement is recorded."""
        self._expect(StoreAcceptance)
        return self._gate("admission", 0)

    def rechecked(self, refused: Close | None, same_session: bool = True) -> Action:
        """The re-check's outcome: `refused` as the handshake would close, and whether the
        caller is still signed in with the session the socket opened with."""
        self._expect(Recheck)
        if refused is not None:
            signed_out = refused.code == 4401
            return self._go(Close(refused.code, "signed out" if signed_out else refused.reason))
        if not same_session:
            return self._go(Close(4401, "signed out"))
        return self._check(0)

    def checked(self, refused: Close | None) -> Action:
        """The entry check asked by `AskCheck` answered: None to go on, else close."""
        asked = self._expect(AskCheck)
        if refused is not None:
            return self._go(refused)
        return self._check(asked.index + 1)

    # -- the steps -----------------------------------------------------------------------

    def _go(self, action: Action) -> Action:
        self._action = action
        return action

    def _expect(self, kind: type[_A]) -> _A:
        action = self._action
        if not isinstance(action, kind):
            raise RuntimeError(f"entering is at {action!r}, not at a {kind.__name__}")
        return action

    def _gate(self, stage: Stage, index: int) -> Action:
        if index < self._gates[stage]:
            return self._go(AskGate(stage, index))
        if stage == "arrival":
            return self._agreement_step()
        return self._go(Recheck()) if self._waited else self._check(0)

    def _agreement_step(self) -> Action:
        if self._agreement is None:
            return self._gate("admission", 0)
        self._waited = True
        required = {"type": "agreement_required", "agreement": self._agreement}
        self._replies.append(Reply(encode(required)))
        return self._go(Listen())

    def _check(self, index: int) -> Action:
        if index < self._checks:
            return self._go(AskCheck(index))
        return self._go(Enter())
