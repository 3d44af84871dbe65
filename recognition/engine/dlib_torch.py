"""dlib's face recognition ResNet run in PyTorch, weights read from dlib's own .dat file.

Why: the dlib wheel here has no BLAS, so its ResNet costs ~100 ms per face on
one core; torch's oneDNN convolutions run the same network, same weights,
several times faster. The network is dlib's examples/dnn_face_recognition_ex.cpp:

    loss_metric<fc_no_bias<128,avg_pool_everything<
        alevel0<alevel1<alevel2<alevel3<alevel4<
        max_pool<3,3,2,2,relu<affine<con<32,7,7,2,2,input_rgb_image_sized<150>>>>>>>>>>>>>

    alevel4 = 3 x ares<32>;  alevel3 = ares_down<64> + 3 x ares<64>;
    alevel2 = ares_down<128> + 2 x ares<128>;  alevel1 = ares_down<256> + 2 x ares<256>;
    alevel0 = ares_down<256>
    ares      = relu(block(x, stride 1) + x)
    ares_down = relu(block(x, stride 2) + avg_pool<2,2,2,2>(x))   (add_prev zero-pads)
    block     = affine(con3x3(relu(affine(con3x3/stride(x)))))

Paddings, strides and pool sizes are read from the file rather than assumed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------------------
# dlib's serialization (dlib/serialize.h, dlib/float_details.h, dlib/dnn/*.h)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def int(self) -> int:
        # Integers: a control byte (low 4 bits = number of bytes, 0x80 = negative),
        # then the magnitude little-endian.
        control = self.byte()
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise ValueError(f"bad dlib integer control byte 0x{control:02x} at {self.pos - 1}")
        value = int.from_bytes(self.data[self.pos : self.pos + size], "little")
        self.pos += size
        return -value if control & 0x80 else value

    def string(self) -> str:
        n = self.int()
        text = self.data[self.pos : self.pos + n].decode("ascii")
        self.pos += n
        return text

    def bool(self) -> bool:
        ch = self.byte()
        if ch not in (ord("0"), ord("1")):
            raise ValueError(f"bad dlib bool at {self.pos - 1}")
        return ch == ord("1")

    def float(self) -> float:
        # Scalars (float/double): float_details = int64 mantissa, int16 exponent,
        # value = mantissa * 2**exponent; exponents 32000-32002 mean inf/-inf/nan.
        mantissa, exponent = self.int(), self.int()
        special = {32000: float("inf"), 32001: float("-inf"), 32002: float("nan")}
        return special[exponent] if exponent in special else float(np.ldexp(float(mantissa), exponent))

    def tensor(self) -> np.ndarray:
        # resizable_tensor version 2: n, k, nr, nc, then raw little-endian float32.
        version = self.int()
        if version != 2:
            raise ValueError(f"unsupported dlib tensor version {version}")
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape))
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos).reshape(shape)
        self.pos += 4 * count
        return values.astype(np.float32)

    def alias_tensor(self) -> tuple:
        if self.int() != 1:
            raise ValueError("unsupported dlib alias_tensor version")
        return tuple(self.int() for _ in range(4))


def _read_details(r: _Reader) -> dict:
    """One layer's own fields, by its version tag (dlib/dnn/layers.h)."""
    tag = r.string()
    if tag == "con_4":
        params = r.tensor().ravel()
        filters, nr, nc = r.int(), r.int(), r.int()
        stride = (r.int(), r.int())
        padding = (r.int(), r.int())
        w_shape, b_shape = r.alias_tensor(), r.alias_tensor()
        for _ in range(4):  # learning-rate / weight-decay multipliers
            r.float()
        n_w = int(np.prod(w_shape))
        weight = params[:n_w].reshape(w_shape)  # (filters, k, nr, nc), cross-correlation like torch
        bias = params[n_w : n_w + int(np.prod(b_shape))]
        assert weight.shape[0] == filters and weight.shape[2:] == (nr, nc)
        return dict(kind="con", weight=weight, bias=bias, stride=stride, padding=padding)
    if tag in ("affine_", "affine_2"):
        params = r.tensor().ravel()
        g_shape, b_shape = r.alias_tensor(), r.alias_tensor()
        mode = r.int()
        if tag == "affine_2" and r.bool():
            raise ValueError("disabled affine layer not supported")
        n = int(np.prod(g_shape))
        assert mode == 0, "expected CONV_MODE (per-channel) affine"
        return dict(kind="affine", gamma=params[:n], beta=params[n : n + int(np.prod(b_shape))])
    if tag == "relu_":
        return dict(kind="relu")
    if tag == "add_prev_":
        return dict(kind="add_prev")
    if tag in ("max_pool_2", "avg_pool_2"):
        size = (r.int(), r.int())
        stride = (r.int(), r.int())
        padding = (r.int(), r.int())
        return dict(kind=tag[:-2], size=size, stride=stride, padding=padding)
    if tag == "fc_2":
        num_outputs, num_inputs = r.int(), r.int()
        params = r.tensor().ravel()
        r.alias_tensor(), r.alias_tensor()
        bias_mode = r.int()
        for _ in range(4):
            r.float()
        assert bias_mode == 1, "expected fc_no_bias"
        # dlib computes output = input (N x num_inputs) * params (num_inputs x num_outputs)
        return dict(kind="fc", weight=params[: num_inputs * num_outputs].reshape(num_inputs, num_outputs).T)
    raise ValueError(f"unexpected dlib layer {tag!r} at byte {r.pos}")


def read_dlib_net(path) -> dict:
    """Parse a serialized dlib network file into {"input": ..., "layers": [...]}.

    The nesting add_loss_layer<add_layer<...<add_layer<con, input>>>> is written
    outermost first, but every add_layer writes its subnetwork before its own
    fields, so the file is: all the wrapper version numbers (outer -> inner),
    then the input layer, then each layer's fields from the input upwards.
    add_tag_layer / add_skip_layer (version 1) hold nothing but the subnetwork;
    dlib does not write which tag they are, so they appear as "tag_or_skip".
    """
    r = _Reader(Path(path).read_bytes())
    if r.int() != 1:
        raise ValueError("not a dlib add_loss_layer")
    loss = r.string()
    if loss != "loss_metric_2":
        raise ValueError(f"expected loss_metric_2, found {loss!r}")
    r.float(), r.float()  # margin, distance threshold: training only

    wrappers = []  # version of each wrapper, outermost first; 2 = add_layer, 1 = tag/skip
    while (version := r.int()) != 3:  # 3 = the add_layer that sits on the input layer
        if version not in (1, 2):
            raise ValueError(f"unexpected layer version {version} at byte {r.pos}")
        wrappers.append(version)

    if r.string() != "input_rgb_image_sized":
        raise ValueError("expected input_rgb_image_sized")
    mean_rgb = (r.float(), r.float(), r.float())
    size = (r.int(), r.int())

    def add_layer_tail(input_layer: bool) -> None:
        # this_layer_setup_called, gradient_input_is_stale, get_output_and_gradient_input_disabled,
        # then x_grad, cached_output and params_grad / grad_final (empty in a saved model)
        r.bool(), r.bool(), r.bool()
        r.tensor(), r.tensor(), r.tensor()
        if input_layer:
            r.int()  # _sample_expansion_factor

    layers = [_read_details(r)]
    add_layer_tail(input_layer=True)
    for version in reversed(wrappers):
        if version == 1:
            layers.append(dict(kind="tag_or_skip"))
        else:
            layers.append(_read_details(r))
            add_layer_tail(input_layer=False)
    if r.pos != len(r.data):
        raise ValueError(f"{len(r.data) - r.pos} bytes left after parsing {path}")
    return {"input": dict(mean_rgb=mean_rgb, size=size), "layers": layers}


# ---------------------------------------------------------------------------
# The network


def _expected_kinds() -> list:
    """The layer kinds, input upwards, that the dnn_face_recognition_ex.cpp network serializes to."""
    block = ["con", "affine", "relu", "con", "affine"]
    # ares: tag1, block, add_prev1, relu
    ares = ["tag_or_skip", *block, "add_prev", "relu"]
    # ares_down: tag1, block, tag2, skip1 (back to tag1), avg_pool, add_prev2, relu
    ares_down = ["tag_or_skip", *block, "tag_or_skip", "tag_or_skip", "avg_pool", "add_prev", "relu"]
    kinds = ["con", "affine", "relu", "max_pool"] + 3 * ares
    for repeats in (3, 2, 2, 0):  # alevel3, alevel2, alevel1, alevel0
        kinds += ares_down + repeats * ares
    return kinds + ["avg_pool", "fc"]


def _fold(con: dict, affine: dict) -> nn.Conv2d:
    """con followed by affine (dlib's batch norm, frozen) as one Conv2d."""
    weight = torch.from_numpy(con["weight"] * affine["gamma"][:, None, None, None])
    bias = torch.from_numpy(con["bias"] * affine["gamma"] + affine["beta"])
    out_ch, in_ch, kh, kw = weight.shape
    conv = nn.Conv2d(in_ch, out_ch, (kh, kw), stride=con["stride"], padding=con["padding"], bias=True)
    with torch.no_grad():
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)
    return conv


def _add_zero_padded(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """dlib's add_prev: the sum has the larger size in every dimension and each
    input is zero-extended at the end (more channels; bottom/right rows), e.g.
    alevel1's 3x3 strided block output + its 4x4 pooled skip -> 4x4."""
    if a.shape == b.shape:
        return a.add_(b)  # a is the block's fresh output
    c, h, w = (max(x, y) for x, y in zip(a.shape[1:], b.shape[1:]))

    def grow(t):
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return grow(a) + grow(b)


class _Block(nn.Module):
    """ares / ares_down: relu(conv(relu(conv(x))) + skip(x))."""

    def __init__(self, conv1: nn.Conv2d, conv2: nn.Conv2d, pool: dict | None):
        super().__init__()
        self.conv1, self.conv2 = conv1, conv2
        self.pool = pool  # avg_pool<2,2,2,2> on the skip path of ares_down

    def forward(self, x):
        # In place where the tensor is this block's own: the same numbers, less memory traffic.
        y = self.conv2(F.relu(self.conv1(x), inplace=True))
        if self.pool is not None:
            x = F.avg_pool2d(x, self.pool["size"], self.pool["stride"], self.pool["padding"])
        return F.relu(_add_zero_padded(y, x), inplace=True)


class DlibFaceResNet(nn.Module):
    """(N, 150, 150, 3) uint8 RGB chips -> (N, 128) float32 descriptors, as
    dlib.face_recognition_model_v1.compute_face_descriptor (not normalised)."""

    def __init__(self, net: dict):
        super().__init__()
        layers = net["layers"]
        kinds = [layer["kind"] for layer in layers]
        if kinds != _expected_kinds():
            raise ValueError("the dlib file is not the dnn_face_recognition_ex.cpp ResNet")
        self.size = net["input"]["size"]
        # input_rgb_image_sized: (pixel - channel mean) / 256, channels R, G, B
        self.register_buffer("mean", torch.tensor(net["input"]["mean_rgb"], dtype=torch.float32).view(1, 3, 1, 1))
        convs = [layer for layer in layers if layer["kind"] == "con"]
        affines = [layer for layer in layers if layer["kind"] == "affine"]
        pools = [layer for layer in layers if layer["kind"] in ("max_pool", "avg_pool")]
        folded = [_fold(c, a) for c, a in zip(convs, affines)]
        self.stem = folded[0]
        self.stem_pool = pools[0]
        blocks, down_pools = [], iter(pools[1:-1])
        ares_down_at = {3, 7, 10, 13}  # first block of alevel3, alevel2, alevel1, alevel0
        for i in range(14):
            pool = next(down_pools) if i in ares_down_at else None
            blocks.append(_Block(folded[1 + 2 * i], folded[2 + 2 * i], pool))
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(256, 128, bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.from_numpy(np.ascontiguousarray(layers[-1]["weight"])))

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        if chips.dim() != 4 or tuple(chips.shape[1:]) != (*self.size, 3):
            raise ValueError(f"expected (N, {self.size[0]}, {self.size[1]}, 3) RGB chips, got {tuple(chips.shape)}")
        x = chips.permute(0, 3, 1, 2).float()
        x = (x - self.mean) / 256.0
        x = F.relu(self.stem(x), inplace=True)
        p = self.stem_pool
        x = F.max_pool2d(x, p["size"], p["stride"], p["padding"])
        x = self.blocks(x)
        x = x.mean(dim=(2, 3))  # avg_pool_everything
        return self.fc(x)


def load_dlib_face_resnet(path) -> DlibFaceResNet:
    return DlibFaceResNet(read_dlib_net(path)).eval()
