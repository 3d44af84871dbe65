"""Face data sealed at rest, the Django side of recognition/sealing.py: the keys come from
FACE_DATA_KEY; descriptors go through SealedBinaryField and face images through SealedStorage,
so that every write seals and every read opens, whichever route the data takes. With no key
set (development), both store plain data; plain data stored before the key was set always reads.

What reads the clear data: the worker (photos, gallery, descriptors), the permission-checked
views that serve images and the family's export, and the review's bookkeeping of a session's
people when a face goes. Nothing else opens a face image or loads a descriptor.
"""

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db import models

from .sealing import is_sealed, parse_keys, seal, sealed_with, unseal


def face_data_keys():
    """FACE_DATA_KEY's keys (false when it is unset)."""
    return parse_keys(settings.FACE_DATA_KEY)


def sealed_for_storage(data):
    """data as it is to be stored: sealed under the first key, or plain when no key is set.
    Already sealed data is stored as it is (a rotation writes what it sealed)."""
    keys = face_data_keys()
    if not keys or not data or is_sealed(data):
        return data
    return seal(data, keys)


def opened(data):
    """The plain bytes of stored data, sealed or not (SealingError, naming the key ids, when no
    key of FACE_DATA_KEY sealed it). Called for every row of a gallery as it loads."""
    return unseal(data, face_data_keys())


def needs_sealing(data):
    """Whether stored data is not (yet) under the sealing key: plain, or under an old key."""
    keys = face_data_keys()
    return bool(keys) and bool(data) and sealed_with(data) != keys.sealing.id


class SealedBinaryField(models.BinaryField):
    """A BinaryField stored sealed: its Python value is the plain bytes."""

    def get_db_prep_save(self, value, connection):
        if value is not None and not hasattr(value, "resolve_expression"):
            value = sealed_for_storage(bytes(value))
        return super().get_db_prep_save(value, connection)

    def get_db_converters(self, connection):
        # The keys looked up once a query, not once a row: a gallery load opens thousands.
        keys = face_data_keys()

        def open_value(value, expression, connection):
            return value if value is None else unseal(value, keys)

        return [*super().get_db_converters(connection), open_value]


class SealedStorage(Storage):
    """The face images' storage: the site's default storage (a folder, or an S3 bucket), with
    every file sealed as it is saved and opened as it is read. Names, listing and deletion are
    the default storage's."""

    @property
    def inner(self):
        # Looked up at every call: tests and a deployment switch the default storage in settings.
        return default_storage

    def _open(self, name, mode="rb"):
        with self.inner.open(name, "rb") as handle:
            return ContentFile(opened(handle.read()), name=name)

    def _save(self, name, content):
        data = b"".join(content.chunks())
        return self.inner.save(name, ContentFile(sealed_for_storage(data)))

    def stored_bytes(self, name):
        """A file's bytes as they lie in storage, sealed or not."""
        with self.inner.open(name, "rb") as handle:
            return handle.read()

    def delete(self, name):
        return self.inner.delete(name)

    def exists(self, name):
        return self.inner.exists(name)

    def listdir(self, path):
        return self.inner.listdir(path)

    def size(self, name):
        return self.inner.size(name)

    def url(self, name):
        return self.inner.url(name)

    def path(self, name):
        return self.inner.path(name)

    def get_available_name(self, name, max_length=None):
        return self.inner.get_available_name(name, max_length)

    def get_valid_name(self, name):
        return self.inner.get_valid_name(name)

    def generate_filename(self, filename):
        return self.inner.generate_filename(filename)

    def get_modified_time(self, name):
        return self.inner.get_modified_time(name)

    def get_created_time(self, name):
        return self.inner.get_created_time(name)

    def get_accessed_time(self, name):
        return self.inner.get_accessed_time(name)


sealed_storage = SealedStorage()


def face_storage():
    """The storage of every face image field (a callable, so migrations name it, not a class)."""
    return sealed_storage


def resealed(data):
    """Stored data sealed again under the sealing key, whichever key (or none) sealed it."""
    return seal(opened(data), face_data_keys())
