"""Reading uploaded photos into upright RGB images, with reasons a teacher understands."""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass

from PIL import ExifTags, Image, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 40_000_000  # 40 MP: above any phone camera, below a decompression bomb

# ISO-BMFF brands used by HEIC/HEIF photos (iPhone default); Pillow cannot read them.
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif"}

# What a photo's first bytes must be, per format we take. Phones, cameras and browsers save
# photos as JPEG, PNG or WebP; the format is decided from these bytes before any decoder runs,
# and only that format's decoder is then given the file. Every other format Pillow knows
# stays out of reach of an upload: EPS would run Ghostscript, and TIFF, BMP, GIF and the rest
# are decoders no camera needs (a scan or a screenshot converts in any viewer).
_SIGNATURES = {
    "JPEG": lambda head: head.startswith(b"\xff\xd8\xff"),
    "PNG": lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"),
    "WEBP": lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
}
# Formats people do send, named in the refusal so that they know what to convert.
_NAMED_FORMATS = [
    ("GIF", lambda head: head.startswith((b"GIF87a", b"GIF89a"))),
    ("TIFF", lambda head: head.startswith((b"II*\0", b"MM\0*"))),
    ("BMP", lambda head: head.startswith(b"BM")),
    ("PDF", lambda head: head.startswith(b"%PDF")),
    ("PostScript (EPS)", lambda head: head.startswith((b"%!PS", b"\xc5\xd0\xd3\xc6"))),
]


# What each EXIF orientation asks a viewer to do to the stored pixels to show them upright.
_UPRIGHT_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# The ones that turn the pixels a quarter turn: width and height swap for viewing.
_SIDEWAYS_ORIENTATIONS = {5, 6, 7, 8}

# The formats every browser shows, as Pillow names them, with the extension and Content-Type
# they are stored and served under. MPO is a phone's JPEG with a second picture appended.
BROWSER_FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "MPO": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
}
# Pillow's openers for the formats we take (MPO comes from the JPEG opener): every file is
# opened with these alone, never with every format Pillow knows.
ACCEPTED_OPENERS = list(_SIGNATURES)


def gettext_noop(text: str) -> str:
    """Marks a refusal for the site's translation catalogue (makemessages looks for this name)
    and returns it as it is: the engine runs without Django, and recognition/uploads.py says
    the refusal in the sender's language."""
    return text


class ImageRejected(ValueError):
    """The upload cannot be used as a photo; str(exc) is meant for the teacher, in English. The
    message's template and its values stay on the exception so that the site can translate it."""

    def __init__(self, template: str, **params: str) -> None:
        super().__init__(template % params if params else template)
        self.template, self.params = template, params


def _megabytes(nbytes: int) -> str:
    return f"{nbytes / 1e6:.1f}".removesuffix(".0")


def check_upload_size(nbytes: int, limit: int) -> None:
    if nbytes <= 0:
        raise ImageRejected(gettext_noop("The file is empty. Choose the photo again and re-upload it."))
    if nbytes > limit:
        raise ImageRejected(
            gettext_noop(
                "The file is %(size)s MB; the limit is %(limit)s MB. Send a smaller photo (e.g. the phone's "
                "'medium' or 'large' size)."
            ),
            size=_megabytes(nbytes),
            limit=_megabytes(limit),
        )


def _read_bytes(path_or_fileobj) -> bytes:
    if isinstance(path_or_fileobj, (str, os.PathLike)):
        with open(path_or_fileobj, "rb") as fh:
            return fh.read()
    if hasattr(path_or_fileobj, "seek"):
        try:
            path_or_fileobj.seek(0)
        except (OSError, ValueError):
            pass  # a non-seekable stream is read from where it is
    return path_or_fileobj.read()


def _is_heif(head: bytes) -> bool:
    return len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


def sniffed_format(data: bytes) -> str:
    """The format of the photo, decided from its first bytes alone (no decoder runs): JPEG, PNG
    or WebP. Raises ImageRejected, naming the format when it is one people send by mistake."""
    head = data[:16]
    for name, matches in _SIGNATURES.items():
        if matches(head):
            return name
    if _is_heif(head):
        raise ImageRejected(
            gettext_noop(
                "HEIC/HEIF photos (the iPhone default) are not supported. Convert the photo to JPEG "
                "(on iPhone: Settings > Camera > Formats > Most Compatible) and upload it again."
            )
        )
    for name, matches in _NAMED_FORMATS:
        if matches(head):
            raise ImageRejected(
                gettext_noop(
                    "This file is a %(format)s image. Photos are taken as JPEG, PNG or WebP, as phones, cameras and "
                    "browsers save them: save or export it as JPEG and upload it again."
                ),
                format=name,
            )
    raise ImageRejected(gettext_noop("This file is not a photo we can read. Upload a JPEG, PNG or WebP image."))


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # Transparent pixels would otherwise turn black and hide a dark-haired
        # face outline; white is what people see in a viewer.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit / float greyscale: Pillow's direct RGB conversion clips, so
        # scale to 8 bit first.
        image = image.point(lambda v: v / 256) if image.mode.startswith("I;16") else image
        image = image.convert("L")
    return image.convert("RGB")


def _open_checked(data: bytes, max_pixels: int, draft: bool) -> tuple[Image.Image, tuple[int, int]]:
    """Open and fully read the photo, refusing what cannot be used as one; returns it with its
    stored size. With draft, a JPEG is decoded at 1/8 scale (its image.size shrinks): libjpeg
    still reads every entropy-coded byte (a cut-off or damaged file fails alike), it only skips
    most of the inverse DCT and the full-size pixel buffer."""
    if not data:
        raise ImageRejected(gettext_noop("The file is empty. Choose the photo again and re-upload it."))
    format = sniffed_format(data)
    try:
        with warnings.catch_warnings():
            # Our own pixel cap below replaces Pillow's global warning/limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[format])
            # The size comes from the header: nothing is decoded before the pixel cap.
            width, height = image.size
            if width * height > max_pixels:
                raise ImageRejected(
                    gettext_noop(
                        "The photo is %(width)sx%(height)s pixels (%(megapixels)s MP); the limit is %(limit)s MP. "
                        "Resize it (e.g. to 4000 px on the long side) and upload it again."
                    ),
                    width=str(width),
                    height=str(height),
                    megapixels=megapixels(width * height),
                    limit=megapixels(max_pixels),
                )
            if draft and image.format == "JPEG":
                image.draft(None, (1, 1))  # the smallest scale libjpeg offers (1/8)
            image.load()
    except ImageRejected:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageRejected(
            gettext_noop(
                "The photo has too many pixels to process safely (limit %(limit)s MP). Resize it and upload it again."
            ),
            limit=megapixels(max_pixels),
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected(
            gettext_noop(
                "The photo is damaged or was not uploaded completely. Take or export it again and re-upload it."
            )
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(
            gettext_noop(
                "The photo is damaged or was not uploaded completely. Take or export it again and re-upload it."
            )
        ) from exc
    if width == 0 or height == 0:
        raise ImageRejected(gettext_noop("The photo has no pixels. Upload a JPEG, PNG or WebP image."))
    return image, (width, height)


def megapixels(pixels: int) -> str:
    """12.2 for 12,192,768 pixels; 16 for 16,000,000."""
    return f"{pixels / 1e6:.1f}".removesuffix(".0")


def exif_orientation(image: Image.Image) -> int:
    """The photo's EXIF orientation (1, upright, when it has none): the one place image metadata
    is read. A damaged EXIF block counts as none, as browsers treat it, so that one odd photo can
    neither be refused nor break a page that shows it."""
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # noqa: BLE001 - Pillow raises SyntaxError, ValueError, struct.error... on bad EXIF
        return 1
    return orientation if orientation in _UPRIGHT_TRANSPOSE else 1


def _upright_rgb(image: Image.Image) -> Image.Image:
    transpose = _UPRIGHT_TRANSPOSE.get(exif_orientation(image))
    return _to_rgb(image.transpose(transpose) if transpose is not None else image)


def load_image(path_or_fileobj, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Return the photo as an upright RGB PIL image (EXIF orientation applied,
    alpha flattened on white, greyscale expanded). Raises ImageRejected."""
    image, _ = _open_checked(_read_bytes(path_or_fileobj), max_pixels, draft=False)
    return _upright_rgb(image)


@dataclass(frozen=True)
class CheckedPhoto:
    """An upload that passed check_upload, ready to store."""

    content: bytes  # the upload itself, stored as it came
    extension: str  # of the decoded format ("jpg", "png", "webp"), never the uploader's
    width: int  # upright, as load_image returns it and browsers show it
    height: int


def check_upload(fileobj, nbytes: int, limit: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> CheckedPhoto:
    """The one check every uploaded photo passes (class photos, snapshots, enrolment photos):
    refuse, with the same messages, every file load_image refuses, and return what to store.
    Only JPEG, PNG and WebP pass (sniffed_format), each a format every browser shows, so every
    stored file can be served as the image it is; max_pixels bounds what the worker must detect in.

    A JPEG is decoded in draft mode (1/8 scale) for about half the cost of a full decode: the
    worker decodes it in full later."""
    check_upload_size(nbytes, limit)
    data = _read_bytes(fileobj)
    image, stored_size = _open_checked(data, max_pixels, draft=True)
    return CheckedPhoto(data, BROWSER_FORMATS[image.format][0], *_viewed_size(stored_size, image))


def upright_size(fileobj) -> tuple[int, int]:
    """Width and height of a stored photo as load_image returns it (and browsers show it), read
    from its header alone. Raises what Image.open raises when it is no JPEG, PNG or WebP."""
    with Image.open(fileobj, formats=ACCEPTED_OPENERS) as image:
        return _viewed_size(image.size, image)


def _viewed_size(stored_size: tuple[int, int], image: Image.Image) -> tuple[int, int]:
    # A phone photo held sideways stores its pixels turned a quarter.
    width, height = stored_size
    return (height, width) if exif_orientation(image) in _SIDEWAYS_ORIENTATIONS else (width, height)


def served_type(fileobj) -> tuple[str, str] | None:
    """(extension, Content-Type) of a stored face image, found from its bytes, never its name;
    None when it is not a JPEG, PNG or WebP, which must then not be served at all."""
    try:
        with Image.open(fileobj, formats=ACCEPTED_OPENERS) as image:
            return BROWSER_FORMATS.get(image.format)
    except Exception:  # noqa: BLE001 - whatever Pillow cannot open as one of them is refused
        return None
