#!/usr/bin/env python3
"""Independent PyTorch implementation of YOLOv8, YOLO11 and YOLOv5u detection models.

Written from shared/reference/yolo-spec.md (Ultralytics 8.3 module definitions), not from
Sinter's code. Used as the outside-world oracle for Sinter's output parity tests and as the
PyTorch side of the benchmarks.

  * Module classes mirror Ultralytics (Conv, Bottleneck, C2f, C3, C3k, C3k2, SPPF, Attention,
    PSABlock, C2PSA, DFL, Detect) and are attribute-named so that state_dict() keys equal
    Ultralytics' exactly ("model.0.conv.weight", "model.22.dfl.conv.weight", ...).
  * BatchNorm eps 1e-3 (momentum 0.03), SiLU activations.
  * Eval-mode output is Ultralytics' decoded Detect output (B, 4+nc, A): rows 0-3 are
    cx, cy, w, h in input pixels, then nc class sigmoids; anchors over strides 8, 16, 32,
    row-major (y, x) within a level.
  * random_init(): deterministic realistic random weights (see its docstring).
  * write_safetensors()/read_safetensors(): the safetensors format by hand (no package).

Zoo names: yolov8{n,s,m,l,x}, yolo11{n,s,m,l,x}, yolov5{n,s,m,l,x}u.

CLI:
  python3 torch_yolo.py selftest          parameter and state_dict key counts vs spec section 4,
                                          safetensors round trip, decode sanity checks
  python3 torch_yolo.py export MODEL --weights W.safetensors [--input X.npy --shape B,3,H,W]
                                          [--output Y.npy] [--seed S] [--nc NC]
"""

import argparse
import json
import math
import re
import struct
import sys

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError as _e:  # ctest: exit 77 = skipped when torch/numpy are not installed
    if __name__ == "__main__":
        print(f"SKIP: cannot import torch/numpy ({_e})")
        sys.exit(77)
    raise

# ----------------------------------------------------------------------------------------------
# Modules (spec section 2)
# ----------------------------------------------------------------------------------------------

BN_EPS = 1e-3
BN_MOMENTUM = 0.03


def autopad(k, p=None, d=1):
    if d > 1:
        k = d * (k - 1) + 1 if isinstance(k, int) else [d * (x - 1) + 1 for x in k]
    if p is None:
        p = k // 2 if isinstance(k, int) else [x // 2 for x in k]
    return p


def make_divisible(x, divisor=8):
    return int(math.ceil(x / divisor) * divisor)


class Conv(nn.Module):
    """Conv2d(bias=False) -> BatchNorm2d(eps 1e-3) -> SiLU (or Identity)."""

    default_act = nn.SiLU()  # one shared instance, as in Ultralytics

    def __init__(self, c1, c2, k=1, s=1, p=None, g=1, d=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k, p, d), groups=g, dilation=d, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.act = self.default_act if act is True else (act if isinstance(act, nn.Module) else nn.Identity())

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class DWConv(Conv):
    def __init__(self, c1, c2, k=1, s=1, d=1, act=True):
        super().__init__(c1, c2, k, s, g=math.gcd(c1, c2), d=d, act=act)


class Concat(nn.Module):
    def __init__(self, dimension=1):
        super().__init__()
        self.d = dimension

    def forward(self, x):
        return torch.cat(x, self.d)


class Bottleneck(nn.Module):
    def __init__(self, c1, c2, shortcut=True, g=1, k=(3, 3), e=0.5):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, k[0], 1)
        self.cv2 = Conv(c_, c2, k[1], 1, g=g)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C3(nn.Module):
    def __init__(self, c1, c2, n=1, shortcut=True, g=1, e=0.5):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c1, c_, 1, 1)
        self.cv3 = Conv(2 * c_, c2, 1)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, k=((1, 1), (3, 3)), e=1.0) for _ in range(n)))

    def forward(self, x):
        return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))


class C3k(C3):
    def __init__(self, c1, c2, n=1, shortcut=True, g=1, e=0.5, k=3):
        super().__init__(c1, c2, n, shortcut, g, e)
        c_ = int(c2 * e)
        self.m = nn.Sequential(*(Bottleneck(c_, c_, shortcut, g, k=(k, k), e=1.0) for _ in range(n)))


class C2f(nn.Module):
    def __init__(self, c1, c2, n=1, shortcut=False, g=1, e=0.5):
        super().__init__()
        self.c = int(c2 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, self.c, shortcut, g, k=((3, 3), (3, 3)), e=1.0) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class C3k2(C2f):
    def __init__(self, c1, c2, n=1, c3k=False, e=0.5, g=1, shortcut=True):
        super().__init__(c1, c2, n, shortcut, g, e)
        self.m = nn.ModuleList(
            C3k(self.c, self.c, 2, shortcut, g) if c3k else Bottleneck(self.c, self.c, shortcut, g) for _ in range(n)
        )


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1, 1)
        self.cv2 = Conv(c_ * 4, c2, 1, 1)
        self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)

    def forward(self, x):
        y = [self.cv1(x)]
        y.extend(self.m(y[-1]) for _ in range(3))
        return self.cv2(torch.cat(y, 1))


class Attention(nn.Module):
    def __init__(self, dim, num_heads=8, attn_ratio=0.5):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.key_dim = int(self.head_dim * attn_ratio)
        self.scale = self.key_dim ** -0.5
        nh_kd = self.key_dim * num_heads
        h = dim + nh_kd * 2
        self.qkv = Conv(dim, h, 1, act=False)
        self.proj = Conv(dim, dim, 1, act=False)
        self.pe = Conv(dim, dim, 3, 1, g=dim, act=False)

    def forward(self, x):
        B, C, H, W = x.shape
        N = H * W
        qkv = self.qkv(x)
        q, k, v = qkv.view(B, self.num_heads, self.key_dim * 2 + self.head_dim, N).split(
            [self.key_dim, self.key_dim, self.head_dim], dim=2)
        attn = (q.transpose(-2, -1) @ k) * self.scale
        attn = attn.softmax(dim=-1)
        x = (v @ attn.transpose(-2, -1)).view(B, C, H, W) + self.pe(v.reshape(B, C, H, W))
        return self.proj(x)


class PSABlock(nn.Module):
    def __init__(self, c, attn_ratio=0.5, num_heads=4, shortcut=True):
        super().__init__()
        self.attn = Attention(c, attn_ratio=attn_ratio, num_heads=num_heads)
        self.ffn = nn.Sequential(Conv(c, c * 2, 1), Conv(c * 2, c, 1, act=False))
        self.add = shortcut

    def forward(self, x):
        x = x + self.attn(x) if self.add else self.attn(x)
        x = x + self.ffn(x) if self.add else self.ffn(x)
        return x


class C2PSA(nn.Module):
    def __init__(self, c1, c2, n=1, e=0.5):
        super().__init__()
        assert c1 == c2
        self.c = int(c1 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1, 1)
        self.cv2 = Conv(2 * self.c, c1, 1)
        self.m = nn.Sequential(*(PSABlock(self.c, attn_ratio=0.5, num_heads=self.c // 64) for _ in range(n)))

    def forward(self, x):
        a, b = self.cv1(x).split((self.c, self.c), dim=1)
        b = self.m(b)
        return self.cv2(torch.cat((a, b), 1))


class DFL(nn.Module):
    def __init__(self, c1=16):
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
        x = torch.arange(c1, dtype=torch.float)
        self.conv.weight.data[:] = x.view(1, c1, 1, 1)
        self.c1 = c1

    def forward(self, x):
        b, _, a = x.shape
        return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)


def make_anchors(feats, strides, offset=0.5):
    anchor_points, stride_tensor = [], []
    dtype, device = feats[0].dtype, feats[0].device
    for i, stride in enumerate(strides):
        _, _, h, w = feats[i].shape
        sx = torch.arange(end=w, device=device, dtype=dtype) + offset
        sy = torch.arange(end=h, device=device, dtype=dtype) + offset
        sy, sx = torch.meshgrid(sy, sx, indexing="ij")
        anchor_points.append(torch.stack((sx, sy), -1).view(-1, 2))
        stride_tensor.append(torch.full((h * w, 1), stride, dtype=dtype, device=device))
    return torch.cat(anchor_points), torch.cat(stride_tensor)


def dist2bbox(distance, anchor_points, xywh=True, dim=-1):
    lt, rb = distance.chunk(2, dim)
    x1y1 = anchor_points - lt
    x2y2 = anchor_points + rb
    if xywh:
        return torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), dim)
    return torch.cat((x1y1, x2y2), dim)


class Detect(nn.Module):
    """Anchor-free decoupled head. legacy=True: v5u/v8 head; legacy=False: YOLO11 DW cls head.

    (Unlike Ultralytics, legacy is an instance attribute, so v8 and 11 models can coexist.)"""

    def __init__(self, nc=80, ch=(), legacy=True):
        super().__init__()
        self.nc = nc
        self.nl = len(ch)
        self.reg_max = 16
        self.no = nc + self.reg_max * 4
        self.stride = torch.tensor([8.0, 16.0, 32.0])
        self.legacy = legacy
        c2, c3 = max((16, ch[0] // 4, self.reg_max * 4)), max(ch[0], min(self.nc, 100))
        self.cv2 = nn.ModuleList(
            nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * self.reg_max, 1)) for x in ch)
        if legacy:
            self.cv3 = nn.ModuleList(
                nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, self.nc, 1)) for x in ch)
        else:
            self.cv3 = nn.ModuleList(
                nn.Sequential(
                    nn.Sequential(DWConv(x, x, 3), Conv(x, c3, 1)),
                    nn.Sequential(DWConv(c3, c3, 3), Conv(c3, c3, 1)),
                    nn.Conv2d(c3, self.nc, 1),
                ) for x in ch)
        self.dfl = DFL(self.reg_max)

    def forward(self, x):
        x = [torch.cat((self.cv2[i](x[i]), self.cv3[i](x[i])), 1) for i in range(self.nl)]
        shape = x[0].shape
        x_cat = torch.cat([xi.view(shape[0], self.no, -1) for xi in x], 2)
        anchors, strides = (t.transpose(0, 1) for t in make_anchors(x, self.stride.tolist(), 0.5))
        box, cls = x_cat.split((self.reg_max * 4, self.nc), 1)
        dbox = dist2bbox(self.dfl(box), anchors.unsqueeze(0), xywh=True, dim=1) * strides
        return torch.cat((dbox, cls.sigmoid()), 1)


# ----------------------------------------------------------------------------------------------
# Model tables (spec section 1.3) and parse_model (section 1.1)
# ----------------------------------------------------------------------------------------------

UP = "nn.Upsample"
TABLES = {
    "yolov8": [
        (-1, 1, "Conv", [64, 3, 2]), (-1, 1, "Conv", [128, 3, 2]), (-1, 3, "C2f", [128, True]),
        (-1, 1, "Conv", [256, 3, 2]), (-1, 6, "C2f", [256, True]), (-1, 1, "Conv", [512, 3, 2]),
        (-1, 6, "C2f", [512, True]), (-1, 1, "Conv", [1024, 3, 2]), (-1, 3, "C2f", [1024, True]),
        (-1, 1, "SPPF", [1024, 5]),
        (-1, 1, UP, [None, 2, "nearest"]), ([-1, 6], 1, "Concat", [1]), (-1, 3, "C2f", [512]),
        (-1, 1, UP, [None, 2, "nearest"]), ([-1, 4], 1, "Concat", [1]), (-1, 3, "C2f", [256]),
        (-1, 1, "Conv", [256, 3, 2]), ([-1, 12], 1, "Concat", [1]), (-1, 3, "C2f", [512]),
        (-1, 1, "Conv", [512, 3, 2]), ([-1, 9], 1, "Concat", [1]), (-1, 3, "C2f", [1024]),
        ([15, 18, 21], 1, "Detect", ["nc"]),
    ],
    "yolo11": [
        (-1, 1, "Conv", [64, 3, 2]), (-1, 1, "Conv", [128, 3, 2]), (-1, 2, "C3k2", [256, False, 0.25]),
        (-1, 1, "Conv", [256, 3, 2]), (-1, 2, "C3k2", [512, False, 0.25]), (-1, 1, "Conv", [512, 3, 2]),
        (-1, 2, "C3k2", [512, True]), (-1, 1, "Conv", [1024, 3, 2]), (-1, 2, "C3k2", [1024, True]),
        (-1, 1, "SPPF", [1024, 5]), (-1, 2, "C2PSA", [1024]),
        (-1, 1, UP, [None, 2, "nearest"]), ([-1, 6], 1, "Concat", [1]), (-1, 2, "C3k2", [512, False]),
        (-1, 1, UP, [None, 2, "nearest"]), ([-1, 4], 1, "Concat", [1]), (-1, 2, "C3k2", [256, False]),
        (-1, 1, "Conv", [256, 3, 2]), ([-1, 13], 1, "Concat", [1]), (-1, 2, "C3k2", [512, False]),
        (-1, 1, "Conv", [512, 3, 2]), ([-1, 10], 1, "Concat", [1]), (-1, 2, "C3k2", [1024, True]),
        ([16, 19, 22], 1, "Detect", ["nc"]),
    ],
    "yolov5u": [
        (-1, 1, "Conv", [64, 6, 2, 2]), (-1, 1, "Conv", [128, 3, 2]), (-1, 3, "C3", [128]),
        (-1, 1, "Conv", [256, 3, 2]), (-1, 6, "C3", [256]), (-1, 1, "Conv", [512, 3, 2]),
        (-1, 9, "C3", [512]), (-1, 1, "Conv", [1024, 3, 2]), (-1, 3, "C3", [1024]),
        (-1, 1, "SPPF", [1024, 5]),
        (-1, 1, "Conv", [512, 1, 1]), (-1, 1, UP, [None, 2, "nearest"]), ([-1, 6], 1, "Concat", [1]),
        (-1, 3, "C3", [512, False]),
        (-1, 1, "Conv", [256, 1, 1]), (-1, 1, UP, [None, 2, "nearest"]), ([-1, 4], 1, "Concat", [1]),
        (-1, 3, "C3", [256, False]),
        (-1, 1, "Conv", [256, 3, 2]), ([-1, 14], 1, "Concat", [1]), (-1, 3, "C3", [512, False]),
        (-1, 1, "Conv", [512, 3, 2]), ([-1, 10], 1, "Concat", [1]), (-1, 3, "C3", [1024, False]),
        ([17, 20, 23], 1, "Detect", ["nc"]),
    ],
}

SCALES = {  # [depth, width, max_channels]
    "yolov8": {"n": (0.33, 0.25, 1024), "s": (0.33, 0.50, 1024), "m": (0.67, 0.75, 768),
               "l": (1.00, 1.00, 512), "x": (1.00, 1.25, 512)},
    "yolo11": {"n": (0.50, 0.25, 1024), "s": (0.50, 0.50, 1024), "m": (0.50, 1.00, 512),
               "l": (1.00, 1.00, 512), "x": (1.00, 1.50, 512)},
    "yolov5u": {"n": (0.33, 0.25, 1024), "s": (0.33, 0.50, 1024), "m": (0.67, 0.75, 1024),
                "l": (1.00, 1.00, 1024), "x": (1.33, 1.25, 1024)},
}

MODULES = {"Conv": Conv, "C2f": C2f, "C3": C3, "C3k2": C3k2, "SPPF": SPPF, "C2PSA": C2PSA}
REPEAT_INSIDE = {"C3", "C2f", "C3k2", "C2PSA"}


def parse_name(name):
    """'yolov8n' -> ('yolov8', 'n'); 'yolo11s' -> ('yolo11', 's'); 'yolov5nu' -> ('yolov5u', 'n')."""
    m = re.fullmatch(r"(yolov8|yolo11|yolov5)([nslmx])(u?)", name)
    if not m or (m.group(1) == "yolov5") != (m.group(3) == "u"):
        raise ValueError(f"unknown model '{name}' (want yolov8[nslmx], yolo11[nslmx], yolov5[nslmx]u)")
    fam = "yolov5u" if m.group(1) == "yolov5" else m.group(1)
    return fam, m.group(2)


class DetectionModel(nn.Module):
    def __init__(self, name, nc=80):
        super().__init__()
        fam, scale = parse_name(name)
        self.name, self.nc = name, nc
        depth, width, max_ch = SCALES[fam][scale]
        ch = [3]
        layers, froms, self.layer_info = [], [], []
        legacy = True
        for i, (f, n, mname, args) in enumerate(TABLES[fam]):
            args = [nc if a == "nc" else a for a in args]
            n = max(round(n * depth), 1) if n > 1 else n  # Python round: half to even
            if mname in MODULES:
                c1, c2 = ch[f], args[0]
                if c2 != nc:  # Ultralytics quirk: a yaml channel equal to nc is not scaled
                    c2 = make_divisible(min(c2, max_ch) * width, 8)
                args = [c1, c2, *args[1:]]
                if mname in REPEAT_INSIDE:
                    args.insert(2, n)
                    n = 1
                if mname == "C3k2":
                    legacy = False
                    if scale in "mlx":
                        args[3] = True
                m = MODULES[mname](*args)
            elif mname == UP:
                c2 = ch[f]
                m = nn.Upsample(scale_factor=2, mode="nearest")
            elif mname == "Concat":
                c2 = sum(ch[x] for x in f)
                m = Concat(args[0])
            elif mname == "Detect":
                c2 = None
                args = [nc, [ch[x] for x in f]]
                m = Detect(nc, args[1], legacy=legacy)
            else:
                raise AssertionError(mname)
            assert n == 1
            layers.append(m)
            froms.append(f)
            self.layer_info.append((i, f, mname, args, c2))
            if i == 0:
                ch = []
            ch.append(c2)
        self.model = nn.ModuleList(layers)
        self.froms = froms
        self.legacy = legacy

    def forward(self, x):
        y = []
        for m, f in zip(self.model, self.froms):
            if f != -1:
                x = y[f] if isinstance(f, int) else [x if j == -1 else y[j] for j in f]
            x = m(x)
            y.append(x)
        return x


def fuse_conv_bn(model):
    """Folds every Conv's BatchNorm into its conv (conv gains a bias, bn becomes Identity), in place.

    w' = w * g / sqrt(v + eps),  b' = beta - mean * g / sqrt(v + eps); computed in float64."""
    for m in model.modules():
        if isinstance(m, Conv) and isinstance(m.bn, nn.BatchNorm2d):
            conv, bn = m.conv, m.bn
            with torch.no_grad():
                s = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
                w = conv.weight.double() * s.view(-1, 1, 1, 1)
                b = bn.bias.double() - bn.running_mean.double() * s
                fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                                  conv.padding, conv.dilation, conv.groups, bias=True,
                                  device=conv.weight.device, dtype=conv.weight.dtype)
                fused.weight.copy_(w.to(conv.weight.dtype))
                fused.bias.copy_(b.to(conv.weight.dtype))
            m.conv, m.bn = fused, nn.Identity()
    return model


def build_model(name, nc=80):
    return DetectionModel(name, nc).eval()


# ----------------------------------------------------------------------------------------------
# Deterministic realistic random weights
# ----------------------------------------------------------------------------------------------

def random_init(model, seed=0, calib_hw=(256, 256), calib_batch=8):
    """Deterministic random weights with realistic statistics.

    * Conv/Conv2d weights and biases: PyTorch's default init (kaiming-uniform a=sqrt(5)),
      drawn after torch.manual_seed(seed).
    * BN weight ~ U(0.5, 1.5), BN bias ~ U(-0.2, 0.2).
    * BN running statistics are *calibrated*, like a trained net's: one eval-mode forward pass
      on a seeded random batch (8x3x256x256, U[0,1)) in which a pre-hook on every BatchNorm measures
      its actual input's per-channel mean and variance and stores them perturbed
      (mean + 0.1*std*N(0,1), var * U(0.7, 1.4)) before that BN runs, so every downstream layer
      is calibrated against the final upstream weights. Every post-BN activation is then O(1):
      nothing vanishes or explodes through ~100 layers, and every weight matters to the output.
      running_var is always > 0.
    * DFL conv weight = arange(16) (frozen, as in Ultralytics).
    * num_batches_tracked = 0 (int64 scalar).
    Calibration runs single-threaded, so the weights are reproducible bit for bit.
    """
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            m.reset_parameters()
        elif isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_((torch.rand(m.num_features, generator=g) - 0.5) * 0.4)
                m.reset_running_stats()
    for m in model.modules():
        if isinstance(m, DFL):
            m.conv.weight.data[:] = torch.arange(m.c1, dtype=torch.float).view(1, m.c1, 1, 1)

    done = set()

    def calibrate(bn, inputs):
        if bn in done:  # modules are never shared here, but be safe
            return
        done.add(bn)
        (x,) = inputs
        var, mean = torch.var_mean(x.double(), dim=(0, 2, 3), unbiased=False)
        std = var.sqrt()
        noise = torch.randn(bn.num_features, generator=g, dtype=torch.float64)
        scale = 0.7 + 0.7 * torch.rand(bn.num_features, generator=g, dtype=torch.float64)
        bn.running_mean.copy_((mean + 0.1 * std * noise).float())
        bn.running_var.copy_((var * scale).clamp(min=1e-4).float())
        bn.num_batches_tracked.zero_()

    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    hooks = [m.register_forward_pre_hook(calibrate) for m in bns]
    nthreads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        x = torch.rand(calib_batch, 3, *calib_hw, generator=g)
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        torch.set_num_threads(nthreads)
        for h in hooks:
            h.remove()
    assert len(done) == len(bns), "some BatchNorm was not reached by the calibration pass"
    return model


# ----------------------------------------------------------------------------------------------
# safetensors, by hand
# ----------------------------------------------------------------------------------------------

_ST_DTYPES = {  # safetensors dtype -> (numpy dtype, torch dtype)
    "F64": (np.dtype("<f8"), torch.float64), "F32": (np.dtype("<f4"), torch.float32),
    "F16": (np.dtype("<f2"), torch.float16), "BF16": (None, torch.bfloat16),
    "I64": (np.dtype("<i8"), torch.int64), "I32": (np.dtype("<i4"), torch.int32),
    "I16": (np.dtype("<i2"), torch.int16), "I8": (np.dtype("i1"), torch.int8),
    "U8": (np.dtype("u1"), torch.uint8), "BOOL": (np.dtype("?"), torch.bool),
}
_TORCH_TO_ST = {v[1]: k for k, v in _ST_DTYPES.items()}


def write_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> torch.Tensor or np.ndarray (insertion order kept in the file).

    Layout: u64 LE header length N, N bytes of JSON header (space padded to a multiple of 8),
    then the raw little-endian tensor bytes; data_offsets are relative to the data start."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        if isinstance(t, torch.Tensor):
            t = t.detach().cpu()
            dt = _TORCH_TO_ST[t.dtype]
            if dt == "BF16":
                raw = t.contiguous().view(torch.int16).numpy().astype("<i2").tobytes()
            else:
                raw = t.contiguous().numpy().astype(_ST_DTYPES[dt][0], copy=False).tobytes()
            shape = list(t.shape)
        else:
            a = np.asarray(t)
            dt = {np.dtype(v[0]).str: k for k, v in _ST_DTYPES.items() if v[0] is not None}[a.dtype.newbyteorder("<").str]
            raw = np.ascontiguousarray(a).astype(_ST_DTYPES[dt][0], copy=False).tobytes()
            shape = list(a.shape)
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((-len(hj)) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(hj)))
        fh.write(hj)
        for b in blobs:
            fh.write(b)


def read_safetensors(path):
    """Returns (dict name -> torch.Tensor, metadata dict)."""
    with open(path, "rb") as fh:
        data = fh.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        npdt, tdt = _ST_DTYPES[info["dtype"]]
        raw = data[base + b: base + e]
        if info["dtype"] == "BF16":
            t = torch.from_numpy(np.frombuffer(raw, dtype="<i2").copy()).view(torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(raw, dtype=npdt).astype(npdt.newbyteorder("="), copy=True))
        out[name] = t.reshape(info["shape"])
    return out, meta


def export_weights(model, path):
    """Writes the model's full state_dict (f32 tensors + I64 num_batches_tracked scalars)."""
    sd = {}
    for k, v in model.state_dict().items():
        sd[k] = v.to(torch.float32) if v.is_floating_point() else v.to(torch.int64)
    write_safetensors(path, sd, metadata={"format": "pt", "producer": "sinter tests/parity/torch_yolo.py",
                                          "model": model.name, "nc": model.nc})


def load_weights(model, path, strict=True):
    """Loads a .safetensors with Ultralytics state_dict names (any float dtype, converted).

    num_batches_tracked and dfl.conv.weight entries are optional (BN inference never reads the
    counter; DFL's weight is fixed to arange(16) and stays so when absent); with strict,
    any other missing, unexpected or mis-shaped tensor is an error naming it."""
    sd, _ = read_safetensors(path)
    own = model.state_dict()
    conv = {}
    for k, v in sd.items():
        if k in own:
            conv[k] = v.to(own[k].dtype) if own[k].is_floating_point() else v.to(torch.int64)
        else:
            conv[k] = v
    for k in own:  # optional: BN's counter, and the fixed DFL weight (always arange(16))
        if (k.endswith("num_batches_tracked") or k.endswith("dfl.conv.weight")) and k not in conv:
            conv[k] = own[k]
    if strict:
        missing = [k for k in own if k not in conv]
        extra = [k for k in conv if k not in own]
        shape = [f"{k} {list(conv[k].shape)} (want {list(own[k].shape)})"
                 for k in own if k in conv and conv[k].shape != own[k].shape]
        if missing or extra or shape:
            raise ValueError(f"{path}: weights do not match {model.name} (nc={model.nc}): "
                             f"missing {missing[:5]}{'...' if len(missing) > 5 else ''} "
                             f"unexpected {extra[:5]}{'...' if len(extra) > 5 else ''} "
                             f"mis-shaped {shape[:5]}")
    model.load_state_dict(conv, strict=strict)
    return model


def infer_nc(path):
    sd, meta = read_safetensors(path)
    for k, v in sd.items():
        if re.fullmatch(r"model\.\d+\.cv3\.0\.2\.bias", k):
            return int(v.shape[0])
    return int(meta.get("nc", 80))


# ----------------------------------------------------------------------------------------------
# Self-test
# ----------------------------------------------------------------------------------------------

EXPECTED = {  # name: (parameters, state_dict entries) -- spec section 3 and 4, nc = 80
    "yolov8n": (3157200, 355), "yolov8s": (11166560, 355), "yolov8m": (25902640, None),
    "yolov8l": (43691520, None), "yolov8x": (68229648, None),
    "yolo11n": (2624080, 499), "yolo11s": (9458752, 499), "yolo11m": (20114688, None),
    "yolo11l": (25372160, None), "yolo11x": (56966176, None),
    "yolov5nu": (2654816, 427), "yolov5su": (9153152, 427),
}
EXPECTED_NC1 = {"yolov8n": 3011043, "yolo11n": 2590035, "yolov5nu": 2508659}
EXPECTED_FUSED = {"yolov8n": 3151904, "yolo11n": 2616248, "yolov5nu": 2649200, "yolov8s": 11156544,
                  "yolo11s": 9443760, "yolov5su": 9142496}
EXPECTED_LAYER_PARAMS = {  # spec section 1.4 (per-layer parse_model params)
    "yolov8n": [464, 4672, 7360, 18560, 49664, 73984, 197632, 295424, 460288, 164608, 0, 0, 148224, 0, 0,
                37248, 36992, 0, 123648, 147712, 0, 493056, 897664],
    "yolov8s": [928, 18560, 29056, 73984, 197632, 295424, 788480, 1180672, 1838080, 656896, 0, 0, 591360, 0, 0,
                148224, 147712, 0, 493056, 590336, 0, 1969152, 2147008],
    "yolo11n": [464, 4672, 6640, 36992, 26080, 147712, 87040, 295424, 346112, 164608, 249728, 0, 0, 111296, 0, 0,
                32096, 36992, 0, 86720, 147712, 0, 378880, 464912],
    "yolo11s": [928, 18560, 26080, 147712, 103360, 590336, 346112, 1180672, 1380352, 656896, 990976, 0, 0, 443776,
                0, 0, 127680, 147712, 0, 345472, 590336, 0, 1511424, 850368],
    "yolov5nu": [1760, 4672, 4800, 18560, 29184, 73984, 156928, 295424, 296448, 164608, 33024, 0, 0, 90880, 8320,
                 0, 0, 22912, 36992, 0, 74496, 147712, 0, 296448, 897664],
}


def nparams(m):
    return sum(p.numel() for p in m.parameters())


def fused_params(model):
    """Params after folding each Conv's BN into its conv (conv gains a bias, BN disappears)."""
    total = nparams(model)
    for m in model.modules():
        if isinstance(m, Conv):
            c = m.bn.num_features
            total += -2 * c + c
    return total


def selftest(verbose=True):
    import tempfile, os
    fails = []

    def check(cond, msg):
        if verbose or not cond:
            print(("  ok    " if cond else "  FAIL  ") + msg)
        if not cond:
            fails.append(msg)

    print("[counts] parameters / state_dict entries vs yolo-spec section 3-4 (nc=80)")
    for name, (np_, nk) in EXPECTED.items():
        m = DetectionModel(name)
        p, k = nparams(m), len(m.state_dict())
        msg = f"{name:9s} params {p:>10,d} (want {np_:,d})"
        ok = p == np_
        if nk is not None:
            msg += f"  state_dict {k} (want {nk})"
            ok = ok and k == nk
        check(ok, msg)
        if name in EXPECTED_FUSED:
            fp = fused_params(m)
            check(fp == EXPECTED_FUSED[name], f"{name:9s} fused params {fp:,d} (want {EXPECTED_FUSED[name]:,d})")
        if name in EXPECTED_LAYER_PARAMS:
            per = [nparams(l) for l in m.model]
            check(per == EXPECTED_LAYER_PARAMS[name], f"{name:9s} per-layer params match spec section 1.4")
        dfl = [k2 for k2 in m.state_dict() if k2.endswith("dfl.conv.weight")]
        check(len(dfl) == 1 and dfl[0] == f"model.{len(m.model) - 1}.dfl.conv.weight",
              f"{name:9s} DFL key {dfl}")
        check(m.legacy == (not name.startswith("yolo11")), f"{name:9s} head legacy={m.legacy}")
    for name, np_ in EXPECTED_NC1.items():
        p = nparams(DetectionModel(name, nc=1))
        check(p == np_, f"{name:9s} nc=1 params {p:,d} (want {np_:,d})")

    print("[keys] spot checks of Ultralytics state_dict names/shapes")
    sd8 = DetectionModel("yolov8n").state_dict()
    spots8 = {"model.0.conv.weight": [16, 3, 3, 3], "model.2.cv2.conv.weight": [32, 48, 1, 1],
              "model.2.m.0.cv1.conv.weight": [16, 16, 3, 3], "model.9.cv2.conv.weight": [256, 512, 1, 1],
              "model.22.cv2.2.0.conv.weight": [64, 256, 3, 3], "model.22.cv3.1.2.bias": [80],
              "model.22.dfl.conv.weight": [1, 16, 1, 1], "model.21.m.0.cv2.bn.running_var": [128],
              "model.0.bn.num_batches_tracked": []}
    sd11 = DetectionModel("yolo11n").state_dict()
    spots11 = {"model.10.m.0.attn.qkv.conv.weight": [256, 128, 1, 1],
               "model.10.m.0.attn.pe.conv.weight": [128, 1, 3, 3],
               "model.10.m.0.ffn.1.conv.weight": [128, 256, 1, 1],
               "model.6.m.0.cv3.conv.weight": [64, 64, 1, 1], "model.6.m.0.m.1.cv2.conv.weight": [32, 32, 3, 3],
               "model.2.m.0.cv1.conv.weight": [8, 16, 3, 3],
               "model.23.cv3.0.0.0.conv.weight": [64, 1, 3, 3], "model.23.cv3.0.0.1.conv.weight": [80, 64, 1, 1],
               "model.23.cv3.0.1.0.conv.weight": [80, 1, 3, 3], "model.23.cv3.0.2.weight": [80, 80, 1, 1]}
    sd5 = DetectionModel("yolov5nu").state_dict()
    spots5 = {"model.0.conv.weight": [16, 3, 6, 6], "model.8.m.0.cv1.conv.weight": [128, 128, 1, 1],
              "model.8.m.0.cv2.conv.weight": [128, 128, 3, 3], "model.24.cv3.2.0.conv.weight": [80, 256, 3, 3]}
    for sd, spots in ((sd8, spots8), (sd11, spots11), (sd5, spots5)):
        for k, shp in spots.items():
            check(k in sd and list(sd[k].shape) == shp,
                  f"{k} {list(sd[k].shape) if k in sd else 'MISSING'} (want {shp})")

    print("[init] random_init determinism and activation health")
    a = random_init(DetectionModel("yolov8n"), seed=3).state_dict()
    b = random_init(DetectionModel("yolov8n"), seed=3).state_dict()
    same = all(torch.equal(a[k], b[k]) for k in a)
    check(same, "same seed -> bit-identical weights")
    c = random_init(DetectionModel("yolov8n"), seed=4).state_dict()
    check(not torch.equal(a["model.0.conv.weight"], c["model.0.conv.weight"]), "different seed -> different weights")
    rv = [v for k, v in a.items() if k.endswith("running_var")]
    check(all(bool((v > 0).all()) for v in rv), "every running_var > 0")
    check(torch.equal(a["model.22.dfl.conv.weight"].flatten(), torch.arange(16, dtype=torch.float)),
          "DFL weight = arange(16)")

    print("[decode] output layout and box sanity")
    for name in ("yolov8n", "yolo11n", "yolov5nu"):
        m = random_init(DetectionModel(name), seed=0)
        x = torch.rand(2, 3, 192, 256, generator=torch.Generator().manual_seed(1))
        # per-layer activation scale (post-BN outputs should be O(1))
        stds = []
        hooks = [mm.register_forward_hook(lambda mod, i, o: stds.append(float(o.std())))
                 for mm in m.modules() if isinstance(mm, Conv)]
        with torch.no_grad():
            y = m(x)
        for h in hooks:
            h.remove()
        A = (24 * 32) + (12 * 16) + (6 * 8)
        check(tuple(y.shape) == (2, 84, A), f"{name} output shape {tuple(y.shape)} (want (2, 84, {A}))")
        check(bool(torch.isfinite(y).all()), f"{name} output finite")
        check(min(stds) > 0.1 and max(stds) < 10,
              f"{name} Conv output std over {len(stds)} convs in [{min(stds):.3f}, {max(stds):.3f}]")
        cls = y[:, 4:]
        check(float(cls.min()) >= 0 and float(cls.max()) <= 1 and float(cls.std()) > 0.01,
              f"{name} class scores in [0,1], std {float(cls.std()):.3f}")
        w, h = y[:, 2], y[:, 3]
        check(bool((w > 0).all() and (h > 0).all()), f"{name} w,h > 0")
        # Batch independence: sample 1 alone equals sample 1 in the batch.
        with torch.no_grad():
            y1 = m(x[1:2])
        rel = float((y1 - y[1:2]).norm() / y[1:2].norm())
        check(rel < 1e-5, f"{name} batch entries independent (rel {rel:.1e})")

    # Trivial net: all Detect box logits equal (last cv2 conv zero) -> DFL = 7.5 on each side,
    # so every box is centred on its anchor with w = h = 15 * stride.
    m = random_init(DetectionModel("yolov8n"), seed=0)
    det = m.model[-1]
    with torch.no_grad():
        for i in range(det.nl):
            det.cv2[i][2].weight.zero_()
            det.cv2[i][2].bias.zero_()
        y = m(torch.rand(1, 3, 64, 96))
    anc, st = make_anchors([torch.zeros(1, 1, 8, 12), torch.zeros(1, 1, 4, 6), torch.zeros(1, 1, 2, 3)],
                           [8, 16, 32])
    exp_c = (anc * st).t()
    check(torch.allclose(y[0, 0:2], exp_c, atol=1e-4), "zero box logits: box centres = anchor centres in pixels")
    check(torch.allclose(y[0, 2:4], 15 * st.t().expand(2, -1), atol=1e-4), "zero box logits: w = h = 15 * stride")
    check(abs(float(y[0, 0, 0]) - 4.0) < 1e-5 and abs(float(y[0, 1, 12]) - 12.0) < 1e-5,
          "anchor order row-major (y, x): index 0 -> (4,4), index 12 -> (4,12)")
    inside = (y[0, 0] > 0) & (y[0, 0] < 96) & (y[0, 1] > 0) & (y[0, 1] < 64)
    check(bool(inside.all()), "box centres inside the 96x64 image")

    print("[fuse] BN folding")
    for name in ("yolov8n", "yolo11n", "yolov5nu"):
        m = random_init(DetectionModel(name), seed=2).double()
        x = torch.rand(1, 3, 128, 160, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
        with torch.no_grad():
            y0 = m(x)
            fuse_conv_bn(m)
            y1 = m(x)
        rel = float((y1 - y0).norm() / y0.norm())
        check(rel < 1e-10 and nparams(m) == EXPECTED_FUSED[name],
              f"{name} fused params {nparams(m):,d}, fused vs unfused output rel {rel:.1e} (float64)")

    print("[safetensors] hand-written format round trip")
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "w.safetensors")
        m = random_init(DetectionModel("yolo11n"), seed=5)
        export_weights(m, p)
        with open(p, "rb") as fh:
            raw = fh.read()
        (n,) = struct.unpack("<Q", raw[:8])
        hdr = json.loads(raw[8:8 + n])
        check(n % 8 == 0, f"header length {n} multiple of 8")
        check(hdr["model.0.bn.num_batches_tracked"] == {"dtype": "I64", "shape": [],
                                                        "data_offsets": hdr["model.0.bn.num_batches_tracked"]["data_offsets"]}
              and hdr["model.0.bn.num_batches_tracked"]["data_offsets"][1]
              - hdr["model.0.bn.num_batches_tracked"]["data_offsets"][0] == 8,
              "num_batches_tracked stored as I64 shape [] (8 bytes)")
        ends = sorted(v["data_offsets"] for k, v in hdr.items() if k != "__metadata__")
        contiguous = ends[0][0] == 0 and all(ends[i][1] == ends[i + 1][0] for i in range(len(ends) - 1))
        check(contiguous and ends[-1][1] == len(raw) - 8 - n, "data offsets contiguous and cover the file")
        check(len(hdr) - 1 == 499, f"{len(hdr) - 1} tensors written (want 499)")
        m2 = load_weights(DetectionModel("yolo11n"), p)
        sd1, sd2 = m.state_dict(), m2.state_dict()
        check(all(torch.equal(sd1[k], sd2[k]) for k in sd1), "round trip bit-identical")
        check(infer_nc(p) == 80, "infer_nc from weights")
        v = np.frombuffer(raw[8 + n + hdr["model.0.conv.weight"]["data_offsets"][0]:][:4], "<f4")[0]
        check(v == float(sd1["model.0.conv.weight"].flatten()[0]), "F32 stored little-endian row-major")

    print(f"selftest: {'FAILED (' + str(len(fails)) + ')' if fails else 'all checks passed'}")
    return 0 if not fails else 1


# ----------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("selftest")
    ex = sub.add_parser("export", help="write random weights (and optionally an input and torch's output)")
    ex.add_argument("model")
    ex.add_argument("--weights", required=True)
    ex.add_argument("--nc", type=int, default=80)
    ex.add_argument("--seed", type=int, default=0)
    ex.add_argument("--input")
    ex.add_argument("--shape", default="1,3,640,640")
    ex.add_argument("--output")
    args = ap.parse_args(argv)
    if args.cmd == "selftest":
        return selftest()
    m = random_init(DetectionModel(args.model, args.nc), seed=args.seed)
    export_weights(m, args.weights)
    if args.input:
        shape = tuple(int(s) for s in args.shape.split(","))
        x = torch.rand(*shape, generator=torch.Generator().manual_seed(args.seed + 1))
        np.save(args.input, x.numpy().astype(np.float32))
        if args.output:
            with torch.no_grad():
                y = m.double()(x.double())
            np.save(args.output, y.numpy().astype(np.float32))
    return 0


if __name__ == "__main__":
    sys.exit(main())
