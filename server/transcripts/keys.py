"""The transcript's sealing keys, from configuration (PROTOCOL §1 additions, README).

A key file holds `key_id:base64-32-bytes` lines, the current key first; older keys stay to
open rows sealed before a rotation. Without one, a key is derived from HEARTH_SECRET_KEY,
with a warning: changing that secret then makes the stored transcript unreadable.
"""

from __future__ import annotations

import base64
import logging

from ..config import Settings
from ..sealing import Sealer, derive_key

__all__ = ["DERIVED_KEY_ID", "transcript_sealer"]

log = logging.getLogger("hearth.transcripts")

# The key id of the key derived from the server secret.
DERIVED_KEY_ID = "secret"


def transcript_sealer(settings: Settings) -> Sealer:
    """A Sealer for transcript bodies: the configured keys (the first seals), or one derived
    from the server secret. A derived key also opens rows when a key file is configured, so
    rows sealed before the file existed stay readable while the secret is unchanged."""
    derived = derive_key(settings.secret_key, "transcripts")
    if not settings.transcript_keys:
        log.warning(
            "no transcript key configured (HEARTH_TRANSCRIPT_KEY_FILE or [transcripts] "
            "key_file): sealing transcripts with a key derived from HEARTH_SECRET_KEY"
        )
        if settings.secret_key_generated:
            log.warning(
                "HEARTH_SECRET_KEY is generated for this process only: transcripts recorded "
                "now cannot be read after a restart"
            )
        return Sealer({DERIVED_KEY_ID: derived}, DERIVED_KEY_ID)
    path = settings.transcript_key_file
    if path is not None and path.exists() and path.stat().st_mode & 0o077:
        log.warning("the transcript key file %s is readable by others: chmod 600 it", path)
    keys = {key_id: base64.b64decode(data) for key_id, data in settings.transcript_keys}
    if not settings.secret_key_generated:
        keys.setdefault(DERIVED_KEY_ID, derived)
    return Sealer(keys, settings.transcript_keys[0][0])
