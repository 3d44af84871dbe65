"""Face data sealed at rest: descriptors and face images encrypted with AES-256-GCM
(`cryptography`'s AESGCM), plain functions with no Django, so that settings, the storage and
the database field (recognition/sealed.py) and the benchmarks share one format.

A sealed value is MAGIC, the id of the key that sealed it, a random 96-bit nonce and the
ciphertext with its 16-byte tag; the header (magic and key id) is authenticated too. The key id
names the key without revealing it, so that a rotation knows what is still under an old key
and a read goes straight to the right one. Anything not starting with MAGIC is plain data
stored before sealing was turned on, and reads as it is.

AESGCM rather than MultiFernet: raw bytes (Fernet is base64, a third more for every photo, and
AES-128-CBC with HMAC, two passes), hardware-accelerated AES-256, 32 bytes of overhead, and an
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
TAG_BYTES = 16
HEADER_BYTES = len(MAGIC) + KEY_ID_BYTES
KEY_BYTES = 32


class SealingError(Exception):
    """A sealed value that cannot be opened: no key given, none of the keys sealed it, or it was
    altered."""


@dataclass(frozen=True)
class Key:
    id: bytes
    cipher: AESGCM


def key_id(secret: bytes) -> bytes:
    return hashlib.sha256(b"roll call face data key id\0" + secret).digest()[:KEY_ID_BYTES]


def new_key() -> str:
    """A fresh key, as FACE_DATA_KEY takes it."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode()


@lru_cache(maxsize=8)
def parse_keys(text: str) -> tuple[Key, ...]:
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
    if len({key.id for key in keys}) != len(keys):
        raise ValueError("the same key is given twice")
    return tuple(keys)


def is_sealed(data) -> bool:
    return bytes(data[: len(MAGIC)]) == MAGIC


def sealed_with(data) -> bytes | None:
    """The id of the key that sealed data, None for plain data."""
    return bytes(data[len(MAGIC) : HEADER_BYTES]) if is_sealed(data) else None


def seal(data, keys) -> bytes:
    """data sealed under the first of keys."""
    key = keys[0]
    header = MAGIC + key.id
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + key.cipher.encrypt(nonce, bytes(data), header)


def unseal(data, keys) -> bytes:
    """The plain bytes of data: opened with the key that sealed it, or data itself if plain."""
    data = bytes(data)
    if not is_sealed(data):
        return data
    if len(data) < HEADER_BYTES + NONCE_BYTES + TAG_BYTES:
        raise SealingError("The sealed value is cut short.")
    header, nonce = data[:HEADER_BYTES], data[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES]
    wanted = header[len(MAGIC) :]
    key = next((key for key in keys if key.id == wanted), None)
    if key is None:
        raise SealingError(
            f"Sealed with key id {wanted.hex()}, which is not among FACE_DATA_KEY's "
            f"({', '.join(k.id.hex() for k in keys) or 'none set'})."
        )
    try:
        return key.cipher.decrypt(nonce, data[HEADER_BYTES + NONCE_BYTES :], header)
    except InvalidTag:
        raise SealingError("The sealed value was altered or damaged: its tag does not match.") from None
