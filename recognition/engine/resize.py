"""OpenCV's INTER_AREA resize of 8-bit photos, reproduced with torch on any device, for many boxes
at once: the device path of the detector (detect.py) builds its pyramid and its R-Net and O-Net
crops with it.

Why not roi_align or a plain torch resize: MTCNN's boxes follow single grey levels of its crops.
Measured against the OpenCV path on 47 dev photos (166 faces): roi_align's crops (bilinear
samples, averaged) lost a face and moved boxes to IoU 0.86; area means in float, rounded, left
3-6% of crop pixels one level off and 5 faces moved by about a pixel (IoU 0.90-0.95); OpenCV's
rules in exact arithmetic left ~5e-5 of crop pixels off (where OpenCV's float sums round an exact
half), boxes within 0.002 px but embeddings 2e-4 apart. With those float sums too: the same
faces, boxes, landmarks and embeddings. Per box:

- shrinking (the box at least the output's size both ways): the mean of the area each output
  pixel covers, from a summed-area table in exact integer arithmetic. At whole multiples of the
  output size it is rounded as OpenCV's integer path does (halves up at 2 x 2, its SIMD path);
  otherwise half to even, except within 1/256 of a half, where OpenCV's own float32 sums are
  replayed to round it their way;
- enlarging: OpenCV's linear interpolation with area-style weights, in its 11-bit fixed point
  with its SIMD path's truncations.

Pixels outside the photo are black, as in MTCNN's crops. Checked pixel for pixel against
cv2.resize in tests/engine/test_resize.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

_COEF_BITS = 11  # OpenCV's INTER_RESIZE_COEF_BITS
_COEF_SCALE = 1 << _COEF_BITS


@dataclass(frozen=True)
class DevicePhoto:
    """An 8-bit RGB photo on a device: its pixels and its summed-area table."""

    pixels: torch.Tensor  # (H, W, 3) int32
    table: torch.Tensor  # (H + 1, W + 1, 3) int64: [y, x] sums the pixels above and left of corner (y, x)

    @property
    def size(self) -> tuple:
        return tuple(self.pixels.shape[:2])


def device_photo(pixels: torch.Tensor) -> DevicePhoto:
    """(H, W, 3) whole pixel values (any dtype) on a device -> DevicePhoto."""
    table = F.pad(pixels.long().cumsum(0).cumsum(1), (0, 0, 1, 0, 1, 0))
    return DevicePhoto(pixels.int().contiguous(), table.contiguous())


def resize_photo(photo: DevicePhoto, height: int, width: int) -> torch.Tensor:
    """The whole photo shrunk to (height, width): (height, width, 3) int32, as cv2.resize INTER_AREA."""
    h, w = photo.size
    if height > h or width > w:
        raise ValueError("resize_photo only shrinks")
    box = torch.tensor([[0, 0, w, h]], device=photo.pixels.device)
    # Without OpenCV's float sums (see _area_means): on a whole photo their loop runs
    # photo / output + 2 steps, ~1,000 small GPU kernels for a pyramid, where they decide ~1 in
    # 10^6 of its pixels (1-8 a photo in the dev set, none that moved a box).
    return _area_means(photo, box, height, width, float_sums=False)[0]


def resize_boxes(photo: DevicePhoto, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """(N, size, size, 3) int32: each box (x, y, width, height; whole pixels, may reach outside
    the photo) cut out and resized to size x size, as cv2.resize INTER_AREA of the black-padded cut."""
    boxes = boxes.long()
    shrinking = (boxes[:, 2] >= size) & (boxes[:, 3] >= size)
    out = torch.empty((len(boxes), size, size, 3), dtype=torch.int32, device=boxes.device)
    out[shrinking] = _area_means(photo, boxes[shrinking], size, size, float_sums=True)
    out[~shrinking] = _linear_area(photo.pixels, boxes[~shrinking], size)
    return out


def _area_means(photo: DevicePhoto, boxes: torch.Tensor, height: int, width: int, float_sums: bool) -> torch.Tensor:
    """(N, height, width, 3) area means of the boxes, rounded as OpenCV rounds them.

    Measured in 1/height of a pixel down and 1/width across, every cell edge is a whole number,
    so the integral of the (piecewise constant) image up to any cell corner, times
    height * width, is a whole number: the table interpolated with whole weights. A cell's sum
    is 4 corners' difference and its mean that sum over box width * box height."""
    table = photo.table
    table_h, table_w = table.shape[0] - 1, table.shape[1] - 1
    y_index, y_rest = _edges(boxes[:, 1], boxes[:, 3], height, table_h)
    x_index, x_rest = _edges(boxes[:, 0], boxes[:, 2], width, table_w)
    y0, x0 = y_index[:, :, None], x_index[:, None, :]
    y1, x1 = (y0 + 1).clamp_(max=table_h), (x0 + 1).clamp_(max=table_w)
    ry, rx = y_rest[:, :, None, None], x_rest[:, None, :, None]
    corners = (height - ry) * ((width - rx) * _at(table, y0, x0) + rx * _at(table, y0, x1)) + ry * (
        (width - rx) * _at(table, y1, x0) + rx * _at(table, y1, x1)
    )
    sums = corners[:, 1:, 1:] - corners[:, :-1, 1:] - corners[:, 1:, :-1] + corners[:, :-1, :-1]
    area = (boxes[:, 2] * boxes[:, 3]).view(-1, 1, 1, 1)
    whole = torch.div(sums, area, rounding_mode="floor")
    twice_rest = 2 * (sums - whole * area)
    means = whole + ((twice_rest > area) | ((twice_rest == area) & (whole % 2 == 1))).long()

    # Whole multiples of the output size: OpenCV's resizeAreaFast sums the block of pixels and
    # multiplies by the float 1 / block, or for 2 x 2 blocks (its SIMD path) rounds halves up.
    block_w, block_h = boxes[:, 2] // width, boxes[:, 3] // height
    block = (block_w * block_h).view(-1, 1, 1, 1)
    block_sums = torch.div(sums, height * width, rounding_mode="floor")
    fast = (block_sums.float() * (torch.ones_like(block, dtype=torch.float32) / block.float())).round().long()
    fast = torch.where(block == 4, torch.div(block_sums + 2, 4, rounding_mode="floor"), fast)
    exact_multiple = ((boxes[:, 2] % width == 0) & (boxes[:, 3] % height == 0)).view(-1, 1, 1, 1)
    means = torch.where(exact_multiple, fast, means)

    # Otherwise OpenCV sums in float32, each of its K taps a side adding up to 2^-17 of error:
    # where the exact mean is within 1/256 of a half (~1,000 taps' worth), its own float sums
    # decide the rounding.
    if float_sums:
        near_half = ~exact_multiple & ((twice_rest - area).abs() * 128 <= area)
        at = near_half.nonzero()
        if len(at):
            means[near_half] = _opencv_float_means(photo.pixels, boxes, at, height, width)
    return means.int()


def _opencv_float_means(pixels, boxes, at, height, width) -> torch.Tensor:
    """OpenCV's float32 area means (imgproc/resize.cpp, ResizeArea_Invoker) at the output pixels
    `at` (box, row, column, channel): each source row's taps summed left to right, then the
    rows summed top to bottom, every product and sum rounded to float32 as there."""
    box, row, column, channel = at.unbind(1)
    ys, betas = _area_taps(boxes[box, 1], boxes[box, 3], row, height)
    xs, alphas = _area_taps(boxes[box, 0], boxes[box, 2], column, width)
    h, w = pixels.shape[:2]
    ys, xs = ys[:, :, None], xs[:, None, :]
    inside = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    values = (pixels[ys.clamp(0, h - 1), xs.clamp(0, w - 1), channel[:, None, None]] * inside).float()
    rows = torch.zeros_like(values[:, :, 0])
    for k in range(values.shape[2]):
        rows = rows + values[:, :, k] * alphas[:, None, k]
    total = torch.zeros_like(rows[:, 0])
    for j in range(rows.shape[1]):
        total = total + betas[:, j] * rows[:, j]
    return total.round().clamp(0, 255).long()


def _area_taps(start: torch.Tensor, length: torch.Tensor, cell: torch.Tensor, cells: int):
    """OpenCV's computeResizeAreaTab for one output cell per entry: the source pixels it reads
    (photo coordinates) and their float32 weights, (T, K) each, padded with weight 0."""
    length = length.double()
    scale = torch.ones_like(length) / (torch.full_like(length, cells) / length)
    first_edge = cell.double() * scale
    last_edge = first_edge + scale
    width = torch.minimum(scale, length - first_edge)
    last = torch.minimum(last_edge.floor(), length - 1)
    first = torch.minimum(first_edge.ceil(), last)
    left = (first - first_edge) > 1e-3
    right = (last_edge - last) > 1e-3
    count = left.long() + (last - first).long() + right.long()
    taps = int(count.max())
    position = (first - left.double())[:, None] + torch.arange(taps, device=start.device)
    ones = torch.ones_like(width)
    left_weight = ((first - first_edge) / width).float()[:, None]
    full_weight = (ones / width).float()[:, None]
    right_weight = (torch.minimum(torch.minimum(last_edge - last, ones), width) / width).float()[:, None]
    weight = torch.where(
        left[:, None] & (position == (first - 1)[:, None]),
        left_weight,
        torch.where(
            (position >= first[:, None]) & (position < last[:, None]),
            full_weight,
            torch.where(right[:, None] & (position == last[:, None]), right_weight, 0.0),
        ),
    )
    return start[:, None] + position.long(), weight


def _at(image: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor) -> torch.Tensor:
    """image[ys, xs] for an (H, W, 3) image and broadcastable index tensors: (..., 3). One
    index_select of whole rows of 3 (several times faster on a CPU than indexing by 2 tensors)."""
    flat = (ys * image.shape[1] + xs).expand(torch.broadcast_shapes(ys.shape, xs.shape))
    return image.view(-1, 3).index_select(0, flat.reshape(-1)).view(*flat.shape, 3)


def _edges(start: torch.Tensor, length: torch.Tensor, cells: int, limit: int):
    """The cells + 1 edges of each box's cells along one axis, in 1/cells of a pixel and clamped
    to the table: (table index, remainder), each (N, cells + 1)."""
    steps = torch.arange(cells + 1, device=start.device)
    edges = (start[:, None] * cells + steps * length[:, None]).clamp_(0, limit * cells)
    return torch.div(edges, cells, rounding_mode="floor"), edges % cells


def _linear_taps(length: torch.Tensor, size: int):
    """OpenCV's INTER_AREA taps when enlarging (imgproc/resize.cpp, area_mode): for each output
    pixel, the first of the 2 source pixels and the 11-bit weights of both, per box: (N, size) each."""
    # Tensor by tensor divisions: torch computes `number / tensor` as number * (1 / tensor), two
    # roundings, which moved a tap (18 * 20 / 24 came out under 15).
    steps = torch.arange(size, device=length.device, dtype=torch.float64)
    inv_scale = torch.full_like(steps, size) / length.double()[:, None]  # (N, size), as OpenCV's doubles
    first = torch.floor(steps * (torch.ones_like(inv_scale) / inv_scale))
    frac = ((steps + 1) - (first + 1) * inv_scale).float()
    frac = torch.where(frac <= 0, 0.0, frac - frac.floor())
    past_end = first >= length[:, None] - 1
    frac = torch.where(past_end, 0.0, frac)
    first = torch.where(past_end, (length[:, None] - 1).double(), first).long()
    return first, ((1 - frac) * _COEF_SCALE).round().int(), (frac * _COEF_SCALE).round().int()


def _linear_area(pixels: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """(N, size, size, 3): OpenCV's fixed-point INTER_AREA enlargement of each box."""
    height, width = pixels.shape[:2]
    x_first, x_w0, x_w1 = _linear_taps(boxes[:, 2], size)
    y_first, y_w0, y_w1 = _linear_taps(boxes[:, 3], size)
    x_next = torch.minimum(x_first + 1, boxes[:, 2:3] - 1)
    y_next = torch.minimum(y_first + 1, boxes[:, 3:4] - 1)

    def pixel(ys, xs):  # ys (N, size), xs (N, size) within the box -> (N, size, size, 3), black outside
        ys, xs = (ys + boxes[:, 1:2])[:, :, None], (xs + boxes[:, 0:1])[:, None, :]
        inside = ((ys >= 0) & (ys < height) & (xs >= 0) & (xs < width))[..., None]
        return _at(pixels, ys.clamp(0, height - 1), xs.clamp(0, width - 1)) * inside

    def row(ys):  # horizontal pass: pixel x 2048 units
        return pixel(ys, x_first) * x_w0[:, None, :, None] + pixel(ys, x_next) * x_w1[:, None, :, None]

    # Vertical pass as OpenCV's VResizeLinearVec_32s8u (and its scalar twin): drop 4 bits, keep
    # the high 16 of the product, add, and round off the last 2.
    top = torch.div((row(y_first) >> 4) * y_w0[:, :, None, None], 1 << 16, rounding_mode="floor")
    bottom = torch.div((row(y_next) >> 4) * y_w1[:, :, None, None], 1 << 16, rounding_mode="floor")
    return ((top + bottom + 2) >> 2).clamp_(0, 255).int()
