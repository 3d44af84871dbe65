"""Reading uploaded photos into upright RGB images, with reasons a teacher understands."""

from __future__ import annotations

import io
import os
import warnings

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 40_000_000  # 40 MP: above any phone camera, below a decompression bomb

# ISO-BMFF brands used by HEIC/HEIF photos (iPhone default); Pillow cannot read them.
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif"}


# EXIF orientations that turn the stored pixels a quarter turn: width and height swap for viewing.
_SIDEWAYS_ORIENTATIONS = {5, 6, 7, 8}


class ImageRejected(ValueError):
    """The upload cannot be used as a photo; str(exc) is meant for the teacher."""


def _megabytes(nbytes: int) -> str:
    return f"{nbytes / 1e6:.1f}".removesuffix(".0")


def check_upload_size(nbytes: int, limit: int) -> None:
    if nbytes <= 0:
        raise ImageRejected("The file is empty. Choose the photo again and re-upload it.")
    if nbytes > limit:
        raise ImageRejected(
            f"The file is {_megabytes(nbytes)} MB; the limit is {_megabytes(limit)} MB. "
            "Send a smaller photo (e.g. the phone's 'medium' or 'large' size)."
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


def _open_checked(data: bytes, max_pixels: int, draft: bool) -> Image.Image:
    """Open and fully read the photo, refusing what cannot be used as one. With draft, a JPEG is
    decoded at 1/8 scale: libjpeg still reads every entropy-coded byte (a cut-off or damaged file
    fails alike), it only skips most of the inverse DCT and the full-size pixel buffer."""
    if not data:
        raise ImageRejected("The file is empty. Choose the photo again and re-upload it.")
    if _is_heif(data[:12]):
        raise ImageRejected(
            "HEIC/HEIF photos (the iPhone default) are not supported. Convert the photo to JPEG "
            "(on iPhone: Settings > Camera > Formats > Most Compatible) and upload it again."
        )
    try:
        with warnings.catch_warnings():
            # Our own pixel cap below replaces Pillow's global warning/limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise ImageRejected(
                    f"The photo is {width}x{height} pixels ({width * height / 1e6:.0f} MP); the limit is "
                    f"{max_pixels / 1e6:.0f} MP. Resize it (e.g. to 4000 px on the long side) and upload it again."
                )
            if draft and image.format == "JPEG":
                image.draft(None, (1, 1))  # the smallest scale libjpeg offers (1/8)
            image.load()
    except ImageRejected:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageRejected(
            f"The photo has too many pixels to process safely (limit {max_pixels / 1e6:.0f} MP). "
            "Resize it and upload it again."
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageRejected(
            "This file is not a photo we can read. Upload a JPEG or PNG image."
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(
            "The photo is damaged or was not uploaded completely. Take or export it again and re-upload it."
        ) from exc
    if width == 0 or height == 0:
        raise ImageRejected("The photo has no pixels. Upload a JPEG or PNG image.")
    return image


def _upright_rgb(image: Image.Image) -> Image.Image:
    try:
        image = ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not lose the photo
        pass
    return _to_rgb(image)


def load_image(path_or_fileobj, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Return the photo as an upright RGB PIL image (EXIF orientation applied,
    alpha flattened on white, greyscale expanded). Raises ImageRejected."""
    return _upright_rgb(_open_checked(_read_bytes(path_or_fileobj), max_pixels, draft=False))


def check_image(path_or_fileobj, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
    """Refuse, with the same messages, every file load_image refuses, for about half its cost on
    a JPEG: the same checks and steps, but the JPEG decoded in draft mode (1/8 scale). What an
    upload needs before it is stored; the worker decodes the photo in full."""
    _upright_rgb(_open_checked(_read_bytes(path_or_fileobj), max_pixels, draft=True))


def upright_size(fileobj) -> tuple[int, int]:
    """Width and height of the photo as load_image returns it (and browsers show it), read from
    the header alone: a phone photo held sideways stores its pixels turned."""
    with Image.open(fileobj) as image:
        width, height = image.size
        sideways = image.getexif().get(ExifTags.Base.Orientation) in _SIDEWAYS_ORIENTATIONS
    return (height, width) if sideways else (width, height)
