"""Builds a process's transcript part and plugs it into the rooms (from the app's lifespan)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker

from ..config import Settings
from ..rooms.live import Rooms
from ..store.engine import DbSession
from .batches import batches_for
from .consent import CONSENT_EVENT, ConsentBook
from .keys import transcript_sealer
from .recorder import Recorder
from .transcript import Transcript
from .upkeep import Upkeep
from .writer import WAIT_SECONDS, GroupWriter

__all__ = ["Transcripts"]


class Transcripts:
    """Consent, recording (group commit), the stored transcript and its upkeep."""

    def __init__(self, settings: Settings, db: async_sessionmaker[DbSession], rooms: Rooms) -> None:
        self.sealer = transcript_sealer(settings)
        self.consents = ConsentBook(db, rooms.publish)
        # The writer's own connection: a busy HTTP pool never delays a recorded message.
        self.writer = GroupWriter(batches_for(settings.database_url, WAIT_SECONDS))
        self.recorder = Recorder(self.consents, self.writer, self.sealer)
        self.transcript = Transcript(db, self.sealer, rooms.backplane.log)
        self.upkeep = Upkeep(db, rooms.backplane.log, settings.purge_interval_seconds)

    def attach(self, rooms: Rooms) -> None:
        """Register with the rooms: recording takes the pipeline's last slot (`record`), so
        that nothing refused later is ever stored."""
        rooms.pipeline.place("record", self.recorder)
        hooks = rooms.hooks
        hooks.erasers.append(self.transcript.erase)
        hooks.author_erasers.append(self.transcript.erase_author)
        hooks.message_readers.append(self.transcript.message)
        hooks.consent_reader = self.consents.on_entry
        hooks.consent_writer = self.consents.change
        hooks.control_listeners[CONSENT_EVENT] = self.consents.on_event

    async def start(self) -> None:
        """Start the group writer and the upkeep task."""
        await self.writer.start()
        await self.upkeep.start()

    async def close(self) -> None:
        """Write what is waiting and stop."""
        await self.upkeep.close()
        await self.writer.close()
