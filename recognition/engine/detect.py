"""Face detection: MTCNN (P-Net over an image pyramid, R-Net, O-Net, NMS).

The three networks and their weights come from facenet-pytorch; the glue around
them (pyramid, crops, NMS) is re-implemented here because facenet-pytorch's glue
resizes every candidate crop with a separate torch call and clips crops at the
frame, which is slow on a 2-core CPU and squeezes faces cut by the image border.
The algorithm and constants follow facenet-pytorch's `detect_face` (itself the
TensorFlow port of Zhang et al. 2016).

One algorithm, two ways to resize and crop ("glue"):
- opencv (the CPU's default): the photo stays a NumPy array, OpenCV resizes
  and crops it; the fastest on a CPU.
- torch (a GPU's): the photo goes to the device once, torch resizes and crops
  it there (resize.py: OpenCV's INTER_AREA numbers, every box at once), NMS is
  torchvision's, and only the final boxes come back.
  FaceDetector(device="cpu", glue="torch") runs the same code on the CPU: that
  is how the tests check it without a GPU (it gives the OpenCV path's faces).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from facenet_pytorch.models.mtcnn import ONet, PNet, RNet
from torch import nn
from torchvision.ops import batched_nms, nms

from .resize import DevicePhoto, device_photo, resize_boxes, resize_photo

# Chosen on the 14 group photos of the dev set (bench/evaluate.py; numbers in
# bench/README.md). The smallest counted face there is 27 px, so 20 px leaves
# headroom without paying for the 12-16 px pyramid levels, which add time
# and false boxes (min 12 / factor 0.8 gave 5 false boxes vs 0-4 at min 20).
DEFAULT_MIN_FACE_SIZE = 20
# In a large photo the smallest face looked for grows with the photo: this
# fraction of its short side, never below DEFAULT_MIN_FACE_SIZE. A face's size
# in pixels grows with the camera's resolution: the back row of a classroom is
# ~25-30 px in a 1080p room camera's frame (short side 1080: the floor of 20 px
# applies) and ~50-60 px in a 4032 x 3024 phone photo (short side 3024: 40 px,
# the same 1.25x margin under the back row as 20 px gives at 1080p). Looking
# for 20 px faces in a 12 MP photo cost 3.1 s on one thread, for faces no class
# photo has at that size.
DEFAULT_MIN_FACE_FRACTION = 1 / 75
DEFAULT_PYRAMID_FACTOR = 0.709
DEFAULT_THRESHOLDS = (0.6, 0.7, 0.7)
# O-Net score below which a box is dropped. Every counted face in the dev
# group photos scored >= 0.97 while the false boxes (hands, shoes, a glass)
# scored 0.70-0.92.
DEFAULT_MIN_SCORE = 0.95
# Border (fraction of the short side, edge pixels repeated) added before
# detection so that a face filling or cut by the frame still fits P-Net's
# window: tight portrait crops and the selfie's edge faces need it.
# Measured: with a 0.2 border the 3 tight 150x150 portraits of the dev set
# that had no face are found, but on group photos the border changes the
# pyramid and the selfie lost an edge face, so the border is only a retry
# when the plain pass finds nothing.
DEFAULT_RETRY_BORDER = 0.2
PNET_WINDOW = 12  # P-Net sees 12 x 12 windows, so a face of min size is shrunk to 12 px
GLUES = ("opencv", "torch")


@dataclass
class Face:
    box: tuple  # (x1, y1, x2, y2) floats in image pixels
    score: float
    landmarks: np.ndarray = field(repr=False)  # (5, 2): left eye, right eye, nose, mouth left, mouth right

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)


def _scale_pixels(x: torch.Tensor) -> torch.Tensor:
    """NCHW pixel values 0-255 -> the range MTCNN was trained on."""
    return x.sub_(127.5).mul_(0.0078125)


def _net_input(pixels: torch.Tensor) -> torch.Tensor:
    """NHWC pixel values -> NCHW float scaled like the MTCNN training data. The NHWC memory is
    viewed as NCHW: the result is channels_last, as the nets are."""
    return _scale_pixels(pixels.permute(0, 3, 1, 2).float())


def _normalise(pixels: np.ndarray) -> torch.Tensor:
    """HWC uint8 (or NHWC) NumPy pixels -> _net_input."""
    if pixels.ndim == 3:
        pixels = pixels[None]
    return _net_input(torch.from_numpy(np.ascontiguousarray(pixels)))


def _square(boxes: torch.Tensor) -> torch.Tensor:
    # The next stage sees a square crop; squaring around the centre keeps the
    # face where the network expects it.
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = torch.maximum(w, h)
    out = boxes.clone()
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def _apply_regression(boxes: torch.Tensor, reg: torch.Tensor) -> torch.Tensor:
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    return boxes + reg * torch.stack([w, h, w, h], 1)


def _nms_min(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """NMS with intersection over the *smaller* box: removes a small box nested
    inside a bigger one (O-Net sometimes boxes half a face). Runs on the CPU
    after the one transfer out: a few dozen boxes, a sequential loop."""
    x1, y1, x2, y2 = (boxes[:, i] for i in range(4))
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(scores)[::-1]
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        overlap = w * h / np.minimum(area[i], area[rest])
        order = rest[overlap <= threshold]
    return np.array(keep, dtype=np.int64)


def _crops(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Square crops resized to size x size; parts outside the frame are black,
    as in the original MTCNN, so a face cut by the border keeps its shape.

    A box inside the frame is resized straight from a view of the photo into its row of the
    result (the same numbers as from a copy): ~2,400 boxes a photo, a copy and an allocation
    each saved (crops 122 -> 109 ms for the 1600 and 4032 px class photos together)."""
    h, w = image.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), dtype=np.uint8)
    for k, (x1, y1, x2, y2) in enumerate(boxes[:, :4].astype(np.int64).tolist()):
        bw, bh = x2 - x1 + 1, y2 - y1 + 1
        if bw < 2 or bh < 2:
            continue
        if x1 >= 0 and y1 >= 0 and x2 < w and y2 < h:
            cv2.resize(image[y1 : y2 + 1, x1 : x2 + 1], (size, size), out[k], interpolation=cv2.INTER_AREA)
            continue
        sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2 + 1, w), min(y2 + 1, h)
        if sx2 <= sx1 or sy2 <= sy1:
            continue
        patch = np.zeros((bh, bw, 3), dtype=np.uint8)
        patch[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = image[sy1:sy2, sx1:sx2]
        cv2.resize(patch, (size, size), out[k], interpolation=cv2.INTER_AREA)
    return out


def _prelu_in_place(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """torch.prelu(x, weight) written over x (weight (1, C, 1, 1)): max(x, 0) + weight * min(x, 0)
    is the same number for every x (one of the two terms is 0). For P-Net's first layer (10
    channels, the pyramid's largest maps) torch.prelu takes a slow path: 8.6 -> 5.3 ms on the
    1600 px photo's first level, bit-equal."""
    negative = x.clamp(max=0).mul_(weight)
    return x.clamp_(min=0).add_(negative)


class _CeilMaxPool(nn.Module):
    """nn.MaxPool2d(size, 2, ceil_mode=True) as strided maxima, written into a channels_last
    result: the same numbers, on one CPU thread 3.5x faster for P-Net's first pool (24 -> 7 ms
    over the 1600 px photo's pyramid) and 1.4x for R-Net's (29 -> 21 ms); O-Net's and R-Net's
    second pools are no faster, so they stay torch's."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._along(self._along(x, 2), 3)

    def _along(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        n = x.shape[dim]
        whole = (n - self.size) // 2 + 1  # windows inside x; ceil mode adds one cut short
        shape = list(x.shape)
        shape[dim] = -(-(n - self.size) // 2) + 1
        out = torch.empty(shape, dtype=x.dtype, device=x.device, memory_format=torch.channels_last)
        inside = out.narrow(dim, 0, whole)
        torch.maximum(
            x.narrow(dim, 0, 2 * whole - 1)[_every_other(dim)],
            x.narrow(dim, 1, 2 * whole - 1)[_every_other(dim)],
            out=inside,
        )
        for offset in range(2, self.size):
            torch.maximum(inside, x.narrow(dim, offset, 2 * whole - 1)[_every_other(dim)], out=inside)
        if shape[dim] > whole:
            torch.amax(x.narrow(dim, 2 * whole, n - 2 * whole), dim, keepdim=True, out=out.narrow(dim, whole, 1))
        return out


def _every_other(dim: int) -> tuple:
    return (slice(None),) * dim + (slice(None, None, 2),)


class _OpenCvGlue:
    """The photo as an (H, W, 3) uint8 NumPy array, resized and cropped by OpenCV."""

    def load(self, image: np.ndarray, pad: int) -> np.ndarray:
        return cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE) if pad else image

    def size(self, image: np.ndarray) -> tuple:
        return image.shape[:2]

    def resize(self, image: np.ndarray, height: int, width: int) -> np.ndarray:
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)

    def level(self, image: np.ndarray, height: int, width: int) -> torch.Tensor:
        return _normalise(self.resize(image, height, width))

    def crops(self, image: np.ndarray, boxes: torch.Tensor, size: int) -> torch.Tensor:
        return _normalise(_crops(image, boxes.numpy(), size))


class _TorchGlue:
    """The photo as a DevicePhoto (pixels and summed-area table) on the device; the pyramid's
    levels and the crops are OpenCV's INTER_AREA reproduced there (resize.py), all boxes at once."""

    def __init__(self, device: torch.device):
        self.device = device

    def load(self, image: np.ndarray, pad: int) -> DevicePhoto:
        with warnings.catch_warnings():  # a PIL image's array is read-only; nothing writes to it
            warnings.filterwarnings("ignore", "The given NumPy array is not writable")
            pixels = torch.from_numpy(image).to(self.device)  # the one transfer in, as uint8
        if pad:
            nchw = pixels.permute(2, 0, 1)[None].float()
            pixels = F.pad(nchw, (pad, pad, pad, pad), mode="replicate")[0].permute(1, 2, 0)
        return device_photo(pixels)

    def size(self, photo: DevicePhoto) -> tuple:
        return photo.size

    def resize(self, photo: DevicePhoto, height: int, width: int) -> DevicePhoto:
        return device_photo(resize_photo(photo, height, width))

    def level(self, photo: DevicePhoto, height: int, width: int) -> torch.Tensor:
        return _net_input(resize_photo(photo, height, width)[None])

    def crops(self, photo: DevicePhoto, boxes: torch.Tensor, size: int) -> torch.Tensor:
        # MTCNN's boxes are inclusive pixel indices: [x1, x2] is x2 - x1 + 1 pixels wide. A box
        # under 2 pixels gives a black crop, as in _crops.
        corner = boxes[:, :2].long()
        extent = boxes[:, 2:4].long() - corner + 1
        usable = (extent >= 2).all(1)
        crops = resize_boxes(photo, torch.cat([corner, extent.clamp(min=2)], 1), size)
        return _net_input(crops * usable[:, None, None, None])


class FaceDetector:
    """MTCNN with the pyramid and thresholds as parameters.

    detect(image_rgb) -> list[Face], best score first.

    device: where the networks run ("cpu", "cuda" or a torch.device). glue: "opencv"
    (CPU only, its default) or "torch" (the default elsewhere; see the module's docstring).
    """

    def __init__(
        self,
        min_face_size: int = DEFAULT_MIN_FACE_SIZE,
        factor: float = DEFAULT_PYRAMID_FACTOR,
        thresholds=DEFAULT_THRESHOLDS,
        min_score: float = DEFAULT_MIN_SCORE,
        retry_border: float = DEFAULT_RETRY_BORDER,
        batch_size: int | None = None,
        min_face_fraction: float = DEFAULT_MIN_FACE_FRACTION,
        device="cpu",
        glue: str | None = None,
    ):
        if min_face_size < PNET_WINDOW:
            raise ValueError(f"min_face_size must be at least P-Net's window, {PNET_WINDOW} px")
        self.device = torch.device(device)
        glue = glue or ("opencv" if self.device.type == "cpu" else "torch")
        if glue not in GLUES or (glue == "opencv" and self.device.type != "cpu"):
            raise ValueError(f"glue must be 'torch', or 'opencv' on the CPU; got {glue!r} on {self.device}")
        self.glue = glue
        self._glue = _OpenCvGlue() if glue == "opencv" else _TorchGlue(self.device)
        self.min_face_size = min_face_size
        self.min_face_fraction = min_face_fraction
        self.factor = factor
        self.thresholds = tuple(thresholds)
        self.min_score = min_score
        self.retry_border = retry_border
        # CPU: batches of 64, not 256, keep the activations in cache: on the 1600 px class
        # photo O-Net (275 crops) 191 -> 128 ms, R-Net (2077) 228 -> 202 ms, same outputs to
        # ~1e-7. A GPU takes every candidate at once.
        self.batch_size = batch_size or (64 if self.device.type == "cpu" else 1 << 16)
        # channels_last roughly halves the convolution and max-pool time on
        # CPU (measured 66 -> 34 ms for P-Net on a 614x475 level). The R-Net
        # and O-Net crops are NHWC already (see _normalise), so their weights
        # match.
        nets = [PNet(), RNet(), ONet()]
        nets[0].pool1, nets[1].pool1 = _CeilMaxPool(2), _CeilMaxPool(3)
        self.pnet, self.rnet, self.onet = (
            net.eval().to(self.device, memory_format=torch.channels_last) for net in nets
        )
        # P-Net's two 1x1 heads (face score, box regression) as one matrix
        # product over the NHWC feature map: torch runs a 1x1 conv with 2 or
        # 4 outputs through its slow im2col path, which was a quarter of
        # P-Net's time. Same numbers (checked bit-equal).
        p = self.pnet
        self._pnet_head_w = torch.cat([p.conv4_1.weight, p.conv4_2.weight]).reshape(6, -1).t().contiguous()
        self._pnet_head_b = torch.cat([p.conv4_1.bias, p.conv4_2.bias])
        self._pnet_prelu1_w = p.prelu1.weight.detach().view(1, -1, 1, 1)

    def min_face_for(self, height: int, width: int) -> float:
        """The smallest face, in pixels, looked for in a photo of this size."""
        return max(float(self.min_face_size), min(height, width) * self.min_face_fraction)

    def _scales(self, h: int, w: int) -> list[float]:
        m = PNET_WINDOW / self.min_face_size
        min_side = min(h, w) * m
        scales = []
        scale = m
        while min_side >= PNET_WINDOW:
            scales.append(scale)
            scale *= self.factor
            min_side *= self.factor
        return scales

    def _run_pnet(self, x: torch.Tensor):
        """PNet.forward with the fused head: (reg, prob) as (1, 4, H, W), (1, 2, H, W)."""
        p = self.pnet
        y = _prelu_in_place(p.conv1(x), self._pnet_prelu1_w)
        y = p.pool1(y)
        y = p.prelu2(p.conv2(y))
        y = p.prelu3(p.conv3(y))
        n, c, fh, fw = y.shape
        z = torch.addmm(self._pnet_head_b, y.permute(0, 2, 3, 1).reshape(-1, c), self._pnet_head_w)
        z = z.reshape(n, fh, fw, 6).permute(0, 3, 1, 2)
        return z[:, 2:], torch.softmax(z[:, :2], dim=1)

    def _stage1(self, image) -> torch.Tensor:
        """P-Net over the pyramid: (N, 5) squared candidate boxes and scores.

        Every level's maps are gathered before anything is selected, so a GPU runs the
        whole pyramid without waiting for the host; the selection, per-level NMS and
        ordering are those of running the levels one after another."""
        h, w = self._glue.size(image)
        scales = self._scales(h, w)
        probs, regs, widths, sizes = [], [], [], []
        for scale in scales:
            level = self._glue.level(image, int(h * scale + 1), int(w * scale + 1))
            reg, prob = self._run_pnet(level)
            probs.append(prob[0, 1].reshape(-1))
            regs.append(reg[0].reshape(4, -1))
            widths.append(prob.shape[3])
            sizes.append(prob.shape[2] * prob.shape[3])
        if not scales:
            return torch.zeros((0, 5), device=self.device)
        prob = torch.cat(probs)
        found = torch.nonzero(prob >= self.thresholds[0]).squeeze(1)
        if not len(found):
            return torch.zeros((0, 5), device=self.device)
        ends = torch.tensor(sizes, device=self.device).cumsum(0)
        level = torch.searchsorted(ends, found, right=True)
        local = found - (ends - torch.tensor(sizes, device=self.device))[level]
        width = torch.tensor(widths, device=self.device)[level]
        ys, xs = local // width, local % width
        scale = torch.tensor(scales, device=self.device, dtype=torch.float64)[level]
        # P-Net is a 12x12 window sliding with stride 2 over each level.
        boxes = torch.stack(
            [(2 * xs + 1) / scale, (2 * ys + 1) / scale, (2 * xs + 12) / scale, (2 * ys + 12) / scale], 1
        )
        boxes = boxes.floor_().float()
        score, reg = prob[found], torch.cat(regs, 1)[:, found].t()
        # NMS within each level (the box corners are whole numbers, so batched_nms's offsets
        # change no overlap), kept in level order and by score within a level (ties by
        # position), the order in which the levels would have been run one by one.
        keep = batched_nms(boxes, score, level, 0.5).sort().values
        keep = keep[score[keep].sort(descending=True, stable=True).indices]
        keep = keep[level[keep].sort(stable=True).indices]
        keep = keep[nms(boxes[keep], score[keep], 0.7)]
        boxes, score, reg = boxes[keep], score[keep], reg[keep]
        # Stage-1 regression uses the box size without the +1 (as facenet-pytorch).
        w = boxes[:, 2] - boxes[:, 0]
        h = boxes[:, 3] - boxes[:, 1]
        refined = boxes + reg * torch.stack([w, h, w, h], 1)
        return _square(torch.cat([refined, score[:, None]], 1))

    def _run(self, net, crops: torch.Tensor):
        outs = [net(crops[start : start + self.batch_size]) for start in range(0, len(crops), self.batch_size)]
        return [torch.cat(parts) for parts in zip(*outs)]

    def _stage2(self, image, boxes: torch.Tensor) -> torch.Tensor:
        if len(boxes) == 0:
            return boxes
        boxes = boxes.trunc()
        reg, prob = self._run(self.rnet, self._glue.crops(image, boxes, 24))
        score = prob[:, 1]
        ok = score > self.thresholds[1]
        boxes, reg, score = boxes[ok], reg[ok], score[ok]
        keep = nms(boxes[:, :4], score, 0.7)
        boxes, reg, score = boxes[keep], reg[keep], score[keep]
        refined = _apply_regression(boxes[:, :4], reg)
        return _square(torch.cat([refined, score[:, None]], 1))

    def _stage3(self, image, boxes: torch.Tensor):
        """O-Net: (N, 5) refined boxes and scores, (N, 5, 2) landmarks, before the last NMS."""
        if len(boxes) == 0:
            return boxes, torch.zeros((0, 5, 2), device=self.device)
        boxes = boxes.trunc()
        reg, points, prob = self._run(self.onet, self._glue.crops(image, boxes, 48))
        score = prob[:, 1]
        ok = score > self.thresholds[2]
        boxes, reg, points, score = boxes[ok], reg[ok], points[ok], score[ok]
        w = boxes[:, 2] - boxes[:, 0] + 1
        h = boxes[:, 3] - boxes[:, 1] + 1
        lx = w[:, None] * points[:, :5] + boxes[:, 0:1] - 1
        ly = h[:, None] * points[:, 5:10] + boxes[:, 1:2] - 1
        landmarks = torch.stack([lx, ly], 2)
        refined = _apply_regression(boxes[:, :4], reg)
        return torch.cat([refined, score[:, None]], 1), landmarks

    def detect(self, image_rgb) -> list[Face]:
        image = np.asarray(image_rgb)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError("detect() expects an RGB image (H, W, 3)")
        image = np.ascontiguousarray(image, dtype=np.uint8)
        faces = self._detect(image, 0.0)
        if not faces and self.retry_border:
            faces = self._detect(image, self.retry_border)
        return faces

    @torch.inference_mode()
    def _detect(self, image: np.ndarray, border: float) -> list[Face]:
        height, width = image.shape[:2]
        pad = int(round(border * min(height, width)))
        photo = self._glue.load(image, pad)
        # P-Net and R-Net look for faces of min_face_for() px in a copy shrunk so that they
        # measure min_face_size there, which is cheaper to resize and crop than the photo;
        # O-Net then refines the boxes and finds the landmarks in the photo itself.
        shrink = self.min_face_size / self.min_face_for(height, width)
        work = photo
        if shrink < 1:
            h, w = self._glue.size(photo)
            work = self._glue.resize(photo, max(1, round(h * shrink)), max(1, round(w * shrink)))
        boxes = self._stage2(work, self._stage1(work))
        if work is not photo:
            (h, w), (hs, ws) = self._glue.size(photo), self._glue.size(work)
            boxes = boxes * torch.tensor([w / ws, h / hs, w / ws, h / hs, 1.0], device=self.device)
        boxes, landmarks = self._stage3(photo, boxes)
        boxes, landmarks = boxes.cpu().numpy(), landmarks.cpu().numpy()  # the one transfer out
        keep = _nms_min(boxes, boxes[:, 4], 0.7)
        faces = []
        boxes[:, :4] -= pad
        for box, points in zip(boxes[keep], landmarks[keep]):
            if box[4] < self.min_score:
                continue
            points = (points - pad).astype(np.float32)
            faces.append(Face(box=tuple(float(v) for v in box[:4]), score=float(box[4]), landmarks=points))
        faces.sort(key=lambda f: -f.score)
        return faces
