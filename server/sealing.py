"""AES-256-GCM sealing of text at rest (resume window in Redis, transcript rows).

Keys are named by a key id stored with each sealed value, so keys can rotate: new values are
sealed with the current key, old ones open with the key their id names.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["Sealer", "derive_key"]

_NONCE = 12


def derive_key(secret: str, purpose: str) -> bytes:
    """A 256-bit key for one purpose, derived from the server secret with HKDF-SHA256."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"hearth-v1", info=purpose.encode()
    ).derive(secret.encode())


class Sealer:
    """Seals and opens text with AES-256-GCM under named keys."""

    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError("the current key id names no key")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"key {key_id!r} is not 32 bytes")
        self._aead = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.current = current
        self._names_key = hashlib.blake2b(
            keys[current], digest_size=32, person=b"hearth-names"
        ).digest()

    def name(self, text: str) -> str:
        """An opaque, stable stand-in for `text` where it would be readable, such as a Redis
        key name: a BLAKE2b digest keyed by (a derivative of) the current key."""
        return hashlib.blake2b(text.encode(), key=self._names_key, digest_size=16).hexdigest()

    def seal_bytes(self, plain: str, context: bytes = b"") -> tuple[str, bytes]:
        """(key id, nonce + ciphertext) of `plain`; `context` is authenticated, not stored."""
        nonce = os.urandom(_NONCE)
        return self.current, nonce + self._aead[self.current].encrypt(
            nonce, plain.encode(), context
        )

    def open_bytes(self, key_id: str, sealed: bytes, context: bytes = b"") -> str:
        """The text sealed by `seal_bytes`; raises if the key or the data is wrong."""
        aead = self._aead[key_id]
        return aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], context).decode()

    def seal(self, plain: str, context: bytes = b"") -> str:
        """Sealed text as `keyid.base64`, for text-only stores such as Redis."""
        key_id, sealed = self.seal_bytes(plain, context)
        return key_id + "." + base64.b64encode(sealed).decode()

    def open(self, token: str, context: bytes = b"") -> str:
        """The text sealed by `seal`."""
        key_id, _, data = token.partition(".")
        return self.open_bytes(key_id, base64.b64decode(data), context)
