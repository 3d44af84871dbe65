import io

import pytest
from PIL import Image

from recognition.engine.images import ImageRejected, check_upload_size, load_image
from tests.helpers import photo_jpeg


def jpeg_bytes(size=(64, 48), colour=(200, 100, 50)):
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "JPEG")
    return buf.getvalue()


def test_reads_jpeg_from_file_object():
    image = load_image(io.BytesIO(jpeg_bytes()))
    assert image.mode == "RGB" and image.size == (64, 48)


def test_rejects_a_file_that_is_not_an_image():
    with pytest.raises(ImageRejected, match="not a photo"):
        load_image(io.BytesIO(b"name,class\nAda,7B\n" * 20))


def test_rejects_an_empty_file():
    with pytest.raises(ImageRejected, match="empty"):
        load_image(io.BytesIO(b""))


def test_rejects_a_truncated_jpeg():
    data = photo_jpeg()
    with pytest.raises(ImageRejected, match="damaged or was not uploaded completely"):
        load_image(io.BytesIO(data[: len(data) // 2]))


def test_rejects_a_decompression_bomb_by_pixel_count(tmp_path):
    # 7000x6000 = 42 MP of one grey level: a few kB as PNG, over the 40 MP default cap.
    path = tmp_path / "bomb.png"
    Image.new("L", (7000, 6000), 128).save(path)
    assert path.stat().st_size < 1_000_000
    with pytest.raises(ImageRejected, match="42 MP"):
        load_image(path)
    assert load_image(path, max_pixels=50_000_000).size == (7000, 6000)


def test_rejects_heic_with_advice_to_convert():
    heic_header = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    with pytest.raises(ImageRejected, match="convert the photo to JPEG|Convert the photo to JPEG"):
        load_image(io.BytesIO(heic_header))


def test_greyscale_becomes_rgb():
    buf = io.BytesIO()
    Image.new("L", (20, 10), 90).save(buf, "PNG")
    image = load_image(buf)
    assert image.mode == "RGB" and image.getpixel((0, 0)) == (90, 90, 90)


def test_transparent_png_is_flattened_on_white():
    buf = io.BytesIO()
    Image.new("RGBA", (20, 10), (0, 0, 0, 0)).save(buf, "PNG")
    image = load_image(buf)
    assert image.mode == "RGB" and image.getpixel((5, 5)) == (255, 255, 255)


def test_upload_size_limit():
    check_upload_size(1000, 10_000_000)
    with pytest.raises(ImageRejected, match="limit is 10 MB"):
        check_upload_size(12_000_000, 10_000_000)
    with pytest.raises(ImageRejected, match="empty"):
        check_upload_size(0, 10_000_000)
