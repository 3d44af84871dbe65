"""Face data sealed at rest, the Django side of recognition/sealing.py: the keys come from
FACE_DATA_KEY; descriptors go through SealedBinaryField and face images through SealedStorage,
so that every write seals and every read opens, whichever route the data takes. With no key
set (development), both store plain data; plain data stored before the key was set always reads.

What opens them: the worker (photos, gallery, descriptors), the permission-checked views that
serve images and the family's export, and the bookkeeping of a session's people when a face
goes. A descriptor is opened only where it is read, not where its row is loaded.
"""

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from .sealing import is_sealed, parse_keys, seal, sealed_with, unseal


def face_data_keys():
    """FACE_DATA_KEY's keys (false when it is unset)."""
    return parse_keys(settings.FACE_DATA_KEY)


def sealed_for_storage(data):
    """data as it is to be stored: sealed under the first key, or plain when no key is set.
    Data sealed under the first key already is stored as it is (a rotation writes what it
    sealed; a row saved without its descriptor being read keeps it as it was loaded)."""
    keys = face_data_keys()
    if not keys or not data or sealed_with(data) == keys.sealing.id:
        return data
    return seal(opened(data), keys)


def opened(data):
    """The plain bytes of stored data, sealed or not (SealingError, naming the key ids, when no
    key of FACE_DATA_KEY sealed it). Called for every row of a gallery as it loads."""
    return unseal(data, face_data_keys())


def opener():
    """opened() with FACE_DATA_KEY's keys looked up once, for the many rows of a gallery."""
    keys = face_data_keys()
    return lambda data: unseal(data, keys)


def needs_sealing(data):
    """Whether stored data is not (yet) under the sealing key: plain, or under an old key."""
    keys = face_data_keys()
    return bool(keys) and bool(data) and sealed_with(data) != keys.sealing.id


class OpenedWhenRead(DeferredAttribute):
    """A sealed field's attribute: the bytes are kept as the database holds them and opened the
    first time the value is read, so that a page listing faces never opens their descriptors."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if value and is_sealed(value):
            value = instance.__dict__[self.field.attname] = opened(value)
        return value

    def __set__(self, instance, value):
        instance.__dict__[self.field.attname] = value


class SealedBinaryField(models.BinaryField):
    """A BinaryField stored sealed: a model's attribute reads the plain bytes (OpenedWhenRead);
    values() and values_list() give the stored bytes, for opened()."""

    descriptor_class = OpenedWhenRead

    def pre_save(self, model_instance, add):
        # As loaded when it was never read: saving a row does not open its descriptor.
        return model_instance.__dict__.get(self.attname)

    def get_db_prep_save(self, value, connection):
        if value is not None and not hasattr(value, "resolve_expression"):
            value = sealed_for_storage(bytes(value))
        return super().get_db_prep_save(value, connection)


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
