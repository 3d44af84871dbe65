"""A class photo drawn with a box and a name per face, for `manage.py recognize --annotate`.
(The session page does not use it: it draws its boxes as SVG over the stored photo.)"""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

KNOWN_COLOUR = (46, 160, 67)  # green: marked present
UNKNOWN_COLOUR = (230, 120, 0)  # orange: not matched to any student


def annotate(image, faces_with_labels) -> Image.Image:
    """Copy of image with a box per face and its label.

    faces_with_labels: iterable of (box, label) with box = (x1, y1, x2, y2)
    and label a name, or None / "" for an unknown face (drawn in a distinct
    colour and labelled "unknown")."""
    canvas = (image if isinstance(image, Image.Image) else Image.fromarray(image)).convert("RGB").copy()
    draw = ImageDraw.Draw(canvas)
    # Scale lines and text with the photo so names stay readable on 4000 px
    # phone photos and small thumbnails alike.
    short = min(canvas.size)
    line = max(2, short // 300)
    font = ImageFont.load_default(size=max(12, short // 40))
    for box, label in faces_with_labels:
        x1, y1, x2, y2 = (float(v) for v in box)
        colour = KNOWN_COLOUR if label else UNKNOWN_COLOUR
        text = str(label) if label else "unknown"
        draw.rectangle((x1, y1, x2, y2), outline=colour, width=line)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        tw, th = right - left, bottom - top
        ty = y1 - th - 2 * line if y1 - th - 2 * line >= 0 else y2 + line
        draw.rectangle((x1, ty, x1 + tw + 2 * line, ty + th + 2 * line), fill=colour)
        draw.text((x1 + line - left, ty + line - top), text, fill=(255, 255, 255), font=font)
    return canvas
