"""Face data sealed at rest: descriptors and face images encrypted with AES-256-GCM
(`cryptography`'s AESGCM), plain functions with no Django, so that settings, the storage and
the database field (recognition/sealed.py) and the benchmarks share one format.

A sealed value is MAGIC, the id of the key that sealed it, a random 96-bit nonce and the
ciphertext with its 16-byte tag; the header (magic and key id) is authenticated too. The key id
names the key without revealing it, so that a rotation knows what is still under an old key
and a read goes straight to the right one. Anything not starting with MAGIC is plain data
stored before sealing was turned on, and reads as it is.

AESGCM rather than MultiFernet: raw bytes (Fernet is base64, a third more for every photo, and
AES-128-CBC with HMAC, two passes), hardware-accelerated AES-256, 36 bytes of overhead, and an
explicit key id where MultiFernet tries each key in turn.
"""

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"RCs\x01"  # Roll Call sealed, format 1: no JPEG, PNG, WebP or unit float32 starts so
KEY_ID_BYTES = 4
NONCE_BYTES = 12
MAGIC_BYTES = len(MAGIC)
HEADER_BYTES = MAGIC_BYTES + KEY_ID_BYTES
BODY_AT = HEADER_BYTES + NONCE_BYTES
KEY_BYTES = 32


class SealingError(Exception):
    """A sealed value that cannot be opened: no key given, none of the keys sealed it, or it was
    altered."""


@dataclass(frozen=True)
class Key:
    id: bytes
    cipher: AESGCM


@dataclass(frozen=True)
class Keys:
    """FACE_DATA_KEY's keys: the one that seals (the first), and every one by its id, to read."""

    sealing: Key | None
    by_id: dict

    def __bool__(self):
        return self.sealing is not None


def key_id(secret: bytes) -> bytes:
    return hashlib.sha256(b"roll call face data key id\0" + secret).digest()[:KEY_ID_BYTES]


def new_key() -> str:
    """A fresh key, as FACE_DATA_KEY takes it."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode()


@lru_cache(maxsize=8)
def parse_keys(text: str) -> Keys:
    """The keys of a FACE_DATA_KEY value: comma-separated URL-safe base64 of 32 bytes each, the
    first the one that seals, the others read only (during a rotation). Empty: no keys.
    ValueError says what is wrong with a value, never the value itself."""
    keys = []
    for position, item in enumerate((part.strip() for part in text.split(",") if part.strip()), start=1):
        try:
            secret = base64.urlsafe_b64decode(item.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise ValueError(f"key {position} is not URL-safe base64") from None
        if len(secret) != KEY_BYTES:
            raise ValueError(f"key {position} is {len(secret)} bytes, not {KEY_BYTES}")
        keys.append(Key(key_id(secret), AESGCM(secret)))
    by_id = {key.id: key.cipher for key in keys}
    if len(by_id) != len(keys):
        raise ValueError("the same key is given twice")
    return Keys(keys[0] if keys else None, by_id)


def is_sealed(data) -> bool:
    return data[:MAGIC_BYTES] == MAGIC


def sealed_with(data) -> bytes | None:
    """The id of the key that sealed data, None for plain data."""
    return bytes(data[MAGIC_BYTES:HEADER_BYTES]) if is_sealed(data) else None


def seal(data, keys: Keys) -> bytes:
    """data sealed under the sealing key of keys."""
    header = MAGIC + keys.sealing.id
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + keys.sealing.cipher.encrypt(nonce, bytes(data), header)


def unseal(data, keys: Keys) -> bytes:
    """The plain bytes of data: opened with the key that sealed it, or data itself if plain.
    Called for every row of a gallery as it loads: kept to a few slices and one lookup."""
    data = data if isinstance(data, bytes) else bytes(data)
    if data[:MAGIC_BYTES] != MAGIC:
        return data
    cipher = keys.by_id.get(data[MAGIC_BYTES:HEADER_BYTES])
    if cipher is None:
        raise SealingError(
            f"Sealed with key id {data[MAGIC_BYTES:HEADER_BYTES].hex()}, which is not among FACE_DATA_KEY's "
            f"({', '.join(key_id.hex() for key_id in keys.by_id) or 'none set'})."
        )
    try:
        return cipher.decrypt(data[HEADER_BYTES:BODY_AT], data[BODY_AT:], data[:HEADER_BYTES])
    except (InvalidTag, ValueError):  # ValueError: cut short, in its nonce
        raise SealingError("The sealed value was altered, damaged or cut short: its tag does not match.") from None
