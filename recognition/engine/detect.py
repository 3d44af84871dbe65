"""Face detection: MTCNN (P-Net over an image pyramid, R-Net, O-Net, NMS).

The three networks and their weights come from facenet-pytorch; the glue around
them (pyramid, crops, NMS) is re-implemented here with OpenCV/numpy because
facenet-pytorch's glue resizes every candidate crop with a separate torch call
and clips crops at the frame, which is slow on a 2-core CPU and squeezes faces
cut by the image border. The algorithm and constants follow facenet-pytorch's
`detect_face` (itself the TensorFlow port of Zhang et al. 2016).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
from facenet_pytorch.models.mtcnn import ONet, PNet, RNet
from torchvision.ops import nms

# Chosen on the 14 group photos of the dev set (bench/evaluate.py; numbers in
# bench/README.md). The smallest counted face there is 27 px, so 20 px leaves
# headroom without paying for the 12-16 px pyramid levels, which add time
# and false boxes (min 12 / factor 0.8 gave 5 false boxes vs 0-4 at min 20).
DEFAULT_MIN_FACE_SIZE = 20
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


def _normalise(pixels: np.ndarray) -> torch.Tensor:
    """HWC uint8 (or NHWC) -> NCHW float scaled like the MTCNN training data."""
    if pixels.ndim == 3:
        pixels = pixels[None]
    # NHWC memory viewed as NCHW: the result is channels_last, as the nets are.
    t = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float()
    return t.sub_(127.5).mul_(0.0078125)


def _square(boxes: np.ndarray) -> np.ndarray:
    # The next stage sees a square crop; squaring around the centre keeps the
    # face where the network expects it.
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out = boxes.copy()
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def _apply_regression(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    out = boxes.copy()
    out[:, 0] += reg[:, 0] * w
    out[:, 1] += reg[:, 1] * h
    out[:, 2] += reg[:, 2] * w
    out[:, 3] += reg[:, 3] * h
    return out


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    return nms(torch.from_numpy(boxes[:, :4]).float(), torch.from_numpy(scores).float(), iou).numpy()


def _nms_min(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """NMS with intersection over the *smaller* box: removes a small box nested
    inside a bigger one (O-Net sometimes boxes half a face)."""
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
    as in the original MTCNN, so a face cut by the border keeps its shape."""
    h, w = image.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), dtype=np.uint8)
    for k, (x1, y1, x2, y2) in enumerate(boxes[:, :4].astype(np.int64)):
        bw, bh = x2 - x1 + 1, y2 - y1 + 1
        if bw < 2 or bh < 2:
            continue
        patch = np.zeros((bh, bw, 3), dtype=np.uint8)
        sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x2 + 1, w), min(y2 + 1, h)
        if sx2 <= sx1 or sy2 <= sy1:
            continue
        patch[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = image[sy1:sy2, sx1:sx2]
        out[k] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    return out


class FaceDetector:
    """MTCNN with the pyramid and thresholds as parameters.

    detect(image_rgb) -> list[Face], best score first.
    """

    def __init__(
        self,
        min_face_size: int = DEFAULT_MIN_FACE_SIZE,
        factor: float = DEFAULT_PYRAMID_FACTOR,
        thresholds=DEFAULT_THRESHOLDS,
        min_score: float = DEFAULT_MIN_SCORE,
        retry_border: float = DEFAULT_RETRY_BORDER,
        batch_size: int = 64,
    ):
        self.min_face_size = min_face_size
        self.factor = factor
        self.thresholds = tuple(thresholds)
        self.min_score = min_score
        self.retry_border = retry_border
        self.batch_size = batch_size
        # channels_last roughly halves the convolution and max-pool time on
        # CPU (measured 66 -> 34 ms for P-Net on a 614x475 level). The R-Net
        # and O-Net crops are NHWC already (see _normalise), so their weights
        # match. Batches of 64, not 256, keep the activations in cache: on the
        # 1600 px class photo O-Net (275 crops) 191 -> 128 ms, R-Net (2077)
        # 228 -> 202 ms, same outputs to ~1e-7.
        self.pnet = PNet().eval().to(memory_format=torch.channels_last)
        self.rnet = RNet().eval().to(memory_format=torch.channels_last)
        self.onet = ONet().eval().to(memory_format=torch.channels_last)
        # P-Net's two 1x1 heads (face score, box regression) as one matrix
        # product over the NHWC feature map: torch runs a 1x1 conv with 2 or
        # 4 outputs through its slow im2col path, which was a quarter of
        # P-Net's time. Same numbers (checked bit-equal).
        p = self.pnet
        self._pnet_head_w = torch.cat([p.conv4_1.weight, p.conv4_2.weight]).reshape(6, -1).t().contiguous()
        self._pnet_head_b = torch.cat([p.conv4_1.bias, p.conv4_2.bias])

    def _scales(self, h: int, w: int) -> list[float]:
        m = 12.0 / self.min_face_size
        min_side = min(h, w) * m
        scales = []
        scale = m
        while min_side >= 12:
            scales.append(scale)
            scale *= self.factor
            min_side *= self.factor
        return scales

    def _run_pnet(self, x: torch.Tensor):
        """PNet.forward with the fused head: (reg, prob) as (1, 4, H, W), (1, 2, H, W)."""
        p = self.pnet
        y = p.prelu1(p.conv1(x))
        y = p.pool1(y)
        y = p.prelu2(p.conv2(y))
        y = p.prelu3(p.conv3(y))
        n, c, fh, fw = y.shape
        z = torch.addmm(self._pnet_head_b, y.permute(0, 2, 3, 1).reshape(-1, c), self._pnet_head_w)
        z = z.reshape(n, fh, fw, 6).permute(0, 3, 1, 2)
        return z[:, 2:], torch.softmax(z[:, :2], dim=1)

    def _stage1(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        candidates = []
        for scale in self._scales(h, w):
            hs, ws = int(h * scale + 1), int(w * scale + 1)
            level = cv2.resize(image, (ws, hs), interpolation=cv2.INTER_AREA)
            x = _normalise(level).contiguous(memory_format=torch.channels_last)
            reg, prob = self._run_pnet(x)
            prob = prob[0, 1].numpy()
            ys, xs = np.nonzero(prob >= self.thresholds[0])
            if len(ys) == 0:
                continue
            reg = reg[0].numpy()[:, ys, xs].T
            # P-Net is a 12x12 window sliding with stride 2 over this level.
            q1x = np.floor((2 * xs + 1) / scale)
            q1y = np.floor((2 * ys + 1) / scale)
            q2x = np.floor((2 * xs + 12) / scale)
            q2y = np.floor((2 * ys + 12) / scale)
            boxes = np.column_stack([q1x, q1y, q2x, q2y, prob[ys, xs], reg]).astype(np.float32)
            keep = _nms(boxes, boxes[:, 4], 0.5)
            candidates.append(boxes[keep])
        if not candidates:
            return np.zeros((0, 5), dtype=np.float32)
        boxes = np.concatenate(candidates)
        boxes = boxes[_nms(boxes, boxes[:, 4], 0.7)]
        # Stage-1 regression uses the box size without the +1 (as facenet-pytorch).
        w = boxes[:, 2] - boxes[:, 0]
        h = boxes[:, 3] - boxes[:, 1]
        refined = boxes[:, :4] + boxes[:, 5:9] * np.column_stack([w, h, w, h])
        return _square(np.column_stack([refined, boxes[:, 4]]))

    def _run(self, net, crops: np.ndarray):
        outs = []
        for start in range(0, len(crops), self.batch_size):
            outs.append([o.numpy() for o in net(_normalise(crops[start : start + self.batch_size]))])
        return [np.concatenate(parts) for parts in zip(*outs)]

    def _stage2(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        if len(boxes) == 0:
            return boxes
        boxes = np.trunc(boxes)
        reg, prob = self._run(self.rnet, _crops(image, boxes, 24))
        score = prob[:, 1]
        ok = score > self.thresholds[1]
        boxes, reg, score = boxes[ok], reg[ok], score[ok]
        keep = _nms(boxes, score, 0.7)
        boxes, reg, score = boxes[keep], reg[keep], score[keep]
        refined = _apply_regression(boxes[:, :4], reg)
        return _square(np.column_stack([refined, score]))

    def _stage3(self, image: np.ndarray, boxes: np.ndarray):
        if len(boxes) == 0:
            return boxes, np.zeros((0, 5, 2), dtype=np.float32)
        boxes = np.trunc(boxes)
        reg, points, prob = self._run(self.onet, _crops(image, boxes, 48))
        score = prob[:, 1]
        ok = score > self.thresholds[2]
        boxes, reg, points, score = boxes[ok], reg[ok], points[ok], score[ok]
        w = boxes[:, 2] - boxes[:, 0] + 1
        h = boxes[:, 3] - boxes[:, 1] + 1
        lx = w[:, None] * points[:, :5] + boxes[:, 0:1] - 1
        ly = h[:, None] * points[:, 5:10] + boxes[:, 1:2] - 1
        landmarks = np.stack([lx, ly], axis=2)
        refined = _apply_regression(boxes[:, :4], reg)
        keep = _nms_min(refined, score, 0.7)
        return np.column_stack([refined, score])[keep], landmarks[keep]

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
        pad = int(round(border * min(image.shape[:2])))
        if pad:
            image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        boxes = self._stage1(image)
        boxes = self._stage2(image, boxes)
        boxes, landmarks = self._stage3(image, boxes)
        faces = []
        for box, points in zip(boxes, landmarks):
            if box[4] < self.min_score:
                continue
            box = box.copy()
            box[:4] -= pad
            points = points - pad
            faces.append(
                Face(
                    box=tuple(float(v) for v in box[:4]),
                    score=float(box[4]),
                    landmarks=points.astype(np.float32),
                )
            )
        faces.sort(key=lambda f: -f.score)
        return faces
