#!/usr/bin/env python3
"""Ultralytics 8.4 oracle for Sinter's compiled training step (`sinter train-step`).

Runs real Ultralytics code -- ultralytics.nn.tasks.DetectionModel, its v8DetectionLoss and
TaskAlignedAssigner, BaseTrainer.build_optimizer and the trainer's clip/step order -- on synthetic
data, and writes what Sinter's training step must reproduce. The facts it relies on, with the
Ultralytics source locations, are in tests/parity/TRAIN_ORACLE.md.

Needs the oracle venv (scripts/oracle_venv.sh: torch, safetensors, ultralytics 8.4.x):
  $SN_ORACLE_VENV/bin/python tests/parity/train_oracle.py ...
Exits 77 ("skipped: ...") when torch/ultralytics/safetensors cannot be imported.

Subcommands
  make-data --model yolov8n --imgsz 320 --batch 4 --seed S --out DIR
      DIR/weights.safetensors  every model.state_dict() entry: float tensors as F32, each
                               BatchNorm's num_batches_tracked as an I64 scalar (kept, = 0).
                               Random but realistic: PyTorch default conv init, BN affine
                               U(0.5,1.5)/U(-0.2,0.2), BN running stats calibrated on the images
                               and perturbed (var > 0), Ultralytics' Detect.bias_init priors with
                               noise, box logits biased towards short distances, DFL = arange(16).
      DIR/images.npy           (B,3,S,S) float32 in [0,1]: coloured rectangles on noise.
      DIR/labels.txt           `batch_idx cls cx cy w h` (normalised xywh), rows sorted by
                               batch_idx; image 1 has no boxes (when B >= 2); sides 4 px .. ~0.9 S.
  step --model M --weights W --images X --labels L [--optimizer SGD|AdamW] [--lr 0.01]
       [--momentum 0.937] [--weight-decay 0.0005] [--steps N] [--accumulate K] [--ema]
       [--float64] --out DIR
      Runs N iterations, each a forward+backward of the same batch; the gradients add up and
      every K-th iteration (Ultralytics' `ni - last_opt_step >= accumulate`) is an optimizer step
      (clip to norm 10, step, zero_grad, EMA update). K = 1 (default): one step per iteration.
      K <= N is required (the trainer caps accumulate so that at least one step happens).
      DIR/steps.json           run description (versions, hyperparameters, optimizer groups,
                               frozen parameters, accumulate, ema) and per iteration ("step" is
                               the iteration number, from 1): box, cls, dfl (the loss items, i.e.
                               the gained per-image losses, not multiplied by the batch size),
                               loss (= loss.sum() = (box+cls+dfl)*B, what backward() is called
                               on, not divided by K), optimizer_step (true/false), assignment
                               counts and tie diagnostics; when optimizer_step: grad_norm (total
                               2-norm of the accumulated gradient before clipping), clip_coef and
                               with --ema ema_updates, ema_decay.
      DIR/grads1.safetensors   gradient of every trainable parameter at the first optimizer step,
                               before clipping (with K > 1: the sum over its K iterations; frozen
                               ones -- the DFL conv -- have none and are absent).
      DIR/update1.safetensors  after-before of every parameter over the first optimizer step
                               (DFL: zeros).
      DIR/weights.safetensors  full state_dict after the last iteration (F32, num_batches_tracked
                               I64).
      DIR/ema.safetensors      with --ema: Ultralytics' ModelEMA (decay 0.9999, tau 2000, made
                               from the loaded weights, updated after every optimizer step): its
                               full state_dict after the last iteration, same dtypes as weights.
      With --float64 everything runs in float64 (torch default dtype float64, model.double(),
      double inputs); the files above are still F32 and *_f64.safetensors hold F64 copies.
  selftest
      make-data + 2 steps at imgsz 128 batch 2 for yolov8n, float32 and float64, SGD and AdamW,
      checking the loss is finite and that the two agree to 1e-4 on the loss items; then
      --accumulate 2 --ema over 2 iterations (float64, SGD): one optimizer step, on iteration 2,
      with twice the gradient of one iteration, and an EMA that is the documented lerp.

Deviations from a real `yolo train` run, on purpose: no dataloader augmentation, images are used
as given (already in [0,1], no /255), no warmup (lr, momentum and accumulate are the given
values from iteration 1; the trainer ramps accumulate from 1 during warmup), no LR schedule, no
AMP, EMA only with --ema, accumulation only with --accumulate (default: one optimizer step per
batch), every iteration uses the same batch, and the weight decay is used as given -- the
trainer's scaling `weight_decay * batch * accumulate / nbs` is NOT applied.
"""

import argparse
import json
import math
import os
import re
import sys
import time
import types

os.environ.setdefault("YOLO_OFFLINE", "1")  # never reach for the network
os.environ.setdefault("YOLO_VERBOSE", "False")  # keep Ultralytics' logger quiet

try:
    import numpy as np
    import torch
    import torch.nn as nn
    from safetensors.numpy import load_file, save_file

    import ultralytics
    from ultralytics.cfg import get_cfg
    from ultralytics.engine.trainer import BaseTrainer
    from ultralytics.nn.modules.block import DFL
    from ultralytics.nn.modules.head import Detect
    from ultralytics.nn.tasks import DetectionModel
    from ultralytics.utils import DEFAULT_CFG
    from ultralytics.utils.torch_utils import ModelEMA
except ImportError as _e:  # ctest: 77 = skipped
    if __name__ == "__main__":
        print(f"skipped: cannot import torch/ultralytics/safetensors ({_e}); "
              "create the venv with scripts/oracle_venv.sh and run this with its python")
        sys.exit(77)
    raise

NC = 80
CLIP_MAX_NORM = 10.0  # BaseTrainer.optimizer_step
EMA_DECAY, EMA_TAU = 0.9999, 2000  # ModelEMA.__init__ defaults, which BaseTrainer._setup_train uses


def ema_decay(updates):
    """ModelEMA.decay: the weight of the old average at the updates-th update (counted from 1)."""
    return EMA_DECAY * (1 - math.exp(-updates / EMA_TAU))
MODEL_RE = re.compile(r"^(yolov8[nsmlx]|yolo11[nsmlx]|yolov5[nsmlx]u)$")


class OracleError(Exception):
    """A user-facing error: printed without a traceback, exit status 2."""


# ----------------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------------

def check_version():
    """The facts in TRAIN_ORACLE.md are Ultralytics 8.4's; refuse another minor version."""
    if not ultralytics.__version__.startswith("8.4.") and not os.environ.get("SN_ORACLE_ANY_ULTRALYTICS"):
        raise OracleError(f"ultralytics {ultralytics.__version__} found, 8.4.x expected "
                          "(set SN_ORACLE_ANY_ULTRALYTICS=1 to run anyway)")


def build_model(name):
    """DetectionModel from Ultralytics' model yaml, nc=80, in torch's current default dtype.

    yolov8n -> yolov8n.yaml (cfg yolov8.yaml, scale n); yolo11n -> yolo11.yaml scale n;
    yolov5nu -> yolov5nu.yaml (Ultralytics maps it to yolov5u, i.e. yolov5.yaml, scale n)."""
    if not MODEL_RE.match(name):
        raise OracleError(f"unknown model '{name}' (yolov8[nsmlx], yolo11[nsmlx], yolov5[nsmlx]u)")
    model = DetectionModel(f"{name}.yaml", nc=NC, verbose=False)
    head = model.model[-1]
    if type(head) is not Detect or getattr(head, "one2one_cv2", None) is not None:
        raise OracleError(f"{name}: expected a plain one-to-many Detect head")
    return model


def state_dict_numpy(model, dtype=np.float32):
    """state_dict as numpy: floating tensors as dtype, num_batches_tracked as an int64 scalar."""
    out = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu()
        out[k] = v.numpy().astype(dtype) if v.is_floating_point() else v.numpy().astype(np.int64)
    return out


def load_weights(model, path):
    """Loads W.safetensors strictly: every state_dict entry must be present with its shape, except
    num_batches_tracked (kept at the model's 0 when absent). Floats are cast to the model dtype."""
    try:
        sd = load_file(path)
    except Exception as e:  # noqa: BLE001 - safetensors raises several types
        raise OracleError(f"{path}: cannot read safetensors ({e})") from e
    own = model.state_dict()
    missing = [k for k in own if k not in sd and not k.endswith("num_batches_tracked")]
    extra = [k for k in sd if k not in own]
    if missing or extra:
        raise OracleError(f"{path}: state_dict mismatch: missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                          f"unexpected {extra[:5]}{'...' if len(extra) > 5 else ''}")
    new = {}
    for k, ref in own.items():
        if k not in sd:
            new[k] = ref
            continue
        a = sd[k]
        if tuple(a.shape) != tuple(ref.shape):
            raise OracleError(f"{path}: {k} has shape {tuple(a.shape)}, the model wants {tuple(ref.shape)}")
        new[k] = torch.from_numpy(np.ascontiguousarray(a)).to(ref.dtype)
    model.load_state_dict(new, strict=True)


# ----------------------------------------------------------------------------------------------
# make-data
# ----------------------------------------------------------------------------------------------

def make_images_and_labels(rng, batch, imgsz):
    """Synthetic images (B,3,S,S) float32 in [0,1] and label rows [b, cls, cx, cy, w, h].

    Image 0 holds a ~4-6 px box and a ~0.9*S box besides random ones; image 1 (if any) has no
    boxes; others hold 3-8 boxes with log-uniform sides in [4, 0.85*S] px and aspect ratios up to
    about 1:4. No box edge -- nor the edge of the box enlarged to the assigner's 16 px minimum
    side -- lies within 0.05 px of an anchor centre coordinate (all are multiples of 4 px), so
    the assigner's inside-the-box test has no near-ties; no two boxes are equal."""
    S = imgsz
    imgs = np.empty((batch, 3, S, S), np.float32)
    rows = []
    for b in range(batch):
        # Background: blocky low-frequency colour noise plus fine pixel noise.
        cells = max(2, S // 16)
        coarse = rng.random((3, cells, cells))
        rep = -(-S // cells)
        bg = np.kron(coarse, np.ones((rep, rep)))[:, :S, :S]
        img = 0.6 * bg + 0.1 * rng.standard_normal((3, S, S)) + 0.2
        if b == 1:
            n = 0
        else:
            n = int(rng.integers(3, 9))
        sides = []
        for i in range(n):
            if b == 0 and i == 0:
                w = h = float(rng.uniform(4.0, 6.0))
            elif b == 0 and i == 1:
                w, h = float(rng.uniform(0.85, 0.92) * S), float(rng.uniform(0.8, 0.9) * S)
            else:
                side = math.exp(rng.uniform(math.log(4.0), math.log(0.85 * S)))
                ar = math.exp(rng.uniform(-1.4, 1.4))
                w, h = min(side * math.sqrt(ar), 0.95 * S), min(side / math.sqrt(ar), 0.95 * S)
                w, h = max(w, 4.0), max(h, 4.0)
            sides.append((w, h))
        for w, h in sides:
            for _ in range(1000):
                cx = float(rng.uniform(w / 2, S - w / 2))
                cy = float(rng.uniform(h / 2, S - h / 2))
                lab = [round(cx / S, 8), round(cy / S, 8), round(w / S, 8), round(h / S, 8)]
                if box_ok(lab, S) and all(lab != r[2:] for r in rows):
                    break
            else:
                raise OracleError("could not place a box away from the anchor grid")
            rows.append([b, int(rng.integers(0, NC))] + lab)
            # Paint it: a flat colour with mild texture, opaque or half transparent.
            x1, x2 = int(round((cx - w / 2))), int(round((cx + w / 2)))
            y1, y2 = int(round((cy - h / 2))), int(round((cy + h / 2)))
            colour = rng.random(3)[:, None, None]
            alpha = 1.0 if rng.random() < 0.7 else 0.5
            patch = colour + 0.05 * rng.standard_normal((3, max(y2 - y1, 1), max(x2 - x1, 1)))
            region = img[:, y1:y2, x1:x2]
            img[:, y1:y2, x1:x2] = (1 - alpha) * region + alpha * patch[:, : region.shape[1], : region.shape[2]]
        imgs[b] = np.clip(img, 0.0, 1.0)
    return imgs, rows


def box_ok(lab, S, margin=0.05, stride_val=16.0):
    """True when no edge of the box (or of its enlargement to stride_val) is within margin px of
    a multiple of 4 px, where anchor centre coordinates lie ((i+0.5)*stride, strides 8/16/32)."""
    cx, cy, w, h = (v * S for v in lab)
    edges = [cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2]
    if w < stride_val:
        edges += [cx - stride_val / 2, cx + stride_val / 2]
    if h < stride_val:
        edges += [cy - stride_val / 2, cy + stride_val / 2]
    for e in edges:
        if abs(e - 4.0 * round(e / 4.0)) < margin:
            return False
    return True


def init_weights(model, seed, calib_images):
    """Deterministic realistic random weights, in place (float32 model)."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    dfl_convs = {id(m.conv) for m in model.modules() if isinstance(m, DFL)}
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and id(m) not in dfl_convs:
            m.reset_parameters()  # PyTorch default: kaiming-uniform(a=sqrt(5)), bias U(+-1/sqrt(fan_in))
        elif isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_((torch.rand(m.num_features, generator=g) - 0.5) * 0.4)
                m.reset_running_stats()
        elif isinstance(m, DFL):
            with torch.no_grad():
                m.conv.weight.copy_(torch.arange(m.c1, dtype=torch.float32).view(1, m.c1, 1, 1))
    head = model.model[-1]
    head.bias_init()  # Ultralytics' priors: box logits 2.0, cls log(5/nc/(640/stride)^2)
    with torch.no_grad():
        for box, cls in zip(head.cv2, head.cv3):
            # Box logits favour short distances (expected ~2.5 bins), like a trained net, so the
            # predicted boxes are object-sized and the CIoU values vary; plus noise.
            bins = torch.arange(head.reg_max, dtype=torch.float32).repeat(4)
            box[-1].bias.copy_(-0.35 * bins + 0.3 * torch.randn(bins.shape, generator=g))
            cls[-1].bias.add_(0.5 * torch.randn(cls[-1].bias.shape, generator=g))

    # BN running statistics calibrated like a trained net's: an eval-mode forward in which a
    # pre-hook on each BN stores its actual input's per-channel mean/var, perturbed, before it runs.
    done = set()

    def calibrate(bn, inputs):
        if id(bn) in done:
            return
        done.add(id(bn))
        (x,) = inputs
        var, mean = torch.var_mean(x.double(), dim=(0, 2, 3), unbiased=False)
        noise = torch.randn(bn.num_features, generator=g, dtype=torch.float64)
        scale = 0.7 + 0.7 * torch.rand(bn.num_features, generator=g, dtype=torch.float64)
        bn.running_mean.copy_((mean + 0.1 * var.sqrt() * noise).float())
        bn.running_var.copy_((var * scale).clamp(min=1e-4).float())
        bn.num_batches_tracked.zero_()

    hooks = [m.register_forward_pre_hook(calibrate) for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # bit-reproducible
    try:
        model.eval()
        with torch.no_grad():
            model(torch.from_numpy(calib_images))
    finally:
        torch.set_num_threads(threads)
        for h in hooks:
            h.remove()
    model.train()


def cmd_make_data(args):
    check_version()
    if args.imgsz % 32 or args.imgsz < 64:
        raise OracleError("--imgsz must be a multiple of 32, at least 64")
    if not 1 <= args.batch <= 64:
        raise OracleError("--batch must be in 1..64")
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    imgs, rows = make_images_and_labels(rng, args.batch, args.imgsz)
    torch.set_default_dtype(torch.float32)
    model = build_model(args.model)
    init_weights(model, args.seed, imgs)
    meta = {"producer": "sinter tests/parity/train_oracle.py make-data", "model": args.model,
            "nc": str(NC), "seed": str(args.seed), "ultralytics": ultralytics.__version__}
    save_file(state_dict_numpy(model), os.path.join(args.out, "weights.safetensors"), metadata=meta)
    np.save(os.path.join(args.out, "images.npy"), imgs)
    with open(os.path.join(args.out, "labels.txt"), "w") as f:
        for r in rows:
            f.write(f"{r[0]} {r[1]} {r[2]:.8f} {r[3]:.8f} {r[4]:.8f} {r[5]:.8f}\n")
    print(f"make-data: {args.model} imgsz {args.imgsz} batch {args.batch} seed {args.seed}: "
          f"{len(rows)} boxes -> {args.out}")


# ----------------------------------------------------------------------------------------------
# step
# ----------------------------------------------------------------------------------------------

def read_labels(path, batch):
    """Label rows `batch_idx cls cx cy w h` as a float64 (n,6) array, validated.

    Rows must be grouped by ascending batch_idx (the Ultralytics collate order, which
    v8DetectionLoss.preprocess relies on); their order within an image is the gt index order."""
    rows = []
    with open(path) as f:
        for ln, line in enumerate(f, 1):
            s = line.split("#", 1)[0].strip()
            if not s:
                continue
            parts = s.split()
            if len(parts) != 6:
                raise OracleError(f"{path}:{ln}: want 6 numbers `batch_idx cls cx cy w h`, got {len(parts)}")
            try:
                v = [float(x) for x in parts]
            except ValueError as e:
                raise OracleError(f"{path}:{ln}: {e}") from e
            b, c = v[0], v[1]
            if b != int(b) or not 0 <= b < batch:
                raise OracleError(f"{path}:{ln}: batch_idx {parts[0]} not an image index < {batch}")
            if c != int(c) or not 0 <= c < NC:
                raise OracleError(f"{path}:{ln}: class {parts[1]} not an integer < {NC}")
            if not (v[4] > 0 and v[5] > 0) or not all(math.isfinite(x) for x in v):
                raise OracleError(f"{path}:{ln}: box needs finite values and w, h > 0")
            if rows and b < rows[-1][0]:
                raise OracleError(f"{path}:{ln}: rows must be sorted by batch_idx")
            rows.append(v)
    return np.array(rows, np.float64).reshape(-1, 6)


def make_batch(images, labels, dtype):
    """The batch dict as Ultralytics' YOLODataset.collate_fn + DetectionTrainer.preprocess_batch
    give it: img (B,3,H,W), batch_idx (n,), cls (n,1), bboxes (n,4) normalised xywh."""
    return {
        "img": torch.from_numpy(images).to(dtype),
        "batch_idx": torch.tensor(labels[:, 0], dtype=dtype),
        "cls": torch.tensor(labels[:, 1:2], dtype=dtype),
        "bboxes": torch.tensor(labels[:, 2:6], dtype=dtype),
    }


class AssignProbe:
    """Wraps the criterion's TaskAlignedAssigner to record, per call, the foreground count and
    whether the loss depends on how exact ties are broken (where another, equally correct,
    implementation may differ from torch's unspecified topk/max tie order).

    Ties: the top-k per gt (torch.topk) and the per-anchor best gt of a multi-assigned anchor
    (overlaps.max(1)). Typical: fewer than topk in-box anchors with a non-zero metric, so the k-th
    value is 0 and in-box anchors whose clamped CIoU is 0 may or may not be picked. The probe
    re-runs the assignment with ties broken lowest-index-first and highest-index-first; when the
    loss-relevant outputs (target_scores, and target_bboxes wherever an anchor carries weight)
    agree across torch's choice and both variants, the step is tie-insensitive.
    Also records the smallest relative margins of those decisions (f32 sensitivity)."""

    def __init__(self, assigner):
        self.last = {}
        self.state = {}
        a = assigner
        self.assigner = a
        orig_cand, orig_topk, orig_high, orig_fwd = (a.select_candidates_in_gts, a.select_topk_candidates,
                                                     a.select_highest_overlaps, a._forward)

        def cand(xy, gt_bboxes, mask_gt, *r, **kw):
            out = orig_cand(xy, gt_bboxes, mask_gt, *r, **kw)
            self.state["in_gts"], self.state["mask_gt"] = out.bool(), mask_gt.bool()
            return out

        def topk_fn(metrics, *r, **kw):
            if self.variant is not None:
                return topk_variant(a, metrics, *r, last=self.variant, **kw)
            self.state["metrics"] = metrics.detach().clone()
            return orig_topk(metrics, *r, **kw)

        def high(mask_pos, overlaps, *r, **kw):
            if self.variant is not None:
                return highest_variant(a, mask_pos, overlaps, *r, last=self.variant, **kw)
            self.state["mask_pos"], self.state["overlaps"] = mask_pos.clone(), overlaps.detach().clone()
            return orig_high(mask_pos, overlaps, *r, **kw)

        def fwd(*r, **kw):
            self.state = {}
            self.variant = None
            out = orig_fwd(*r, **kw)
            self.last = self.summarise(out, a.topk)
            sensitive = False
            for last in (False, True):
                self.variant = last
                try:
                    alt = orig_fwd(*r, **kw)
                finally:
                    self.variant = None
                sensitive |= not same_targets(out, alt)
            self.last["tie_sensitive"] = sensitive
            return out

        self.variant = None
        a.select_candidates_in_gts, a.select_topk_candidates = cand, topk_fn
        a.select_highest_overlaps, a._forward = high, fwd

    def summarise(self, out, k):
        s = self.state
        d = {"n_fg": int(out[3].sum()), "topk_ties": 0, "topk_min_rel_gap": None,
             "argmax_ties": 0, "argmax_min_rel_gap": None}
        m, in_gts, valid = s["metrics"].double(), s["in_gts"], s["mask_gt"].squeeze(-1)
        srt = m.sort(-1, descending=True).values
        vk = srt[..., k - 1 : k]
        slots = k - (m > vk).sum(-1)
        tied = m == vk
        amb = (tied.sum(-1) > slots) & (tied & in_gts).any(-1) & valid
        d["topk_ties"] = int(amb.sum())
        nxt = srt[..., k]
        sel = valid & (nxt > 0) & (nxt < vk.squeeze(-1))
        if sel.any():
            d["topk_min_rel_gap"] = float(((vk.squeeze(-1) - nxt) / vk.squeeze(-1))[sel].min())
        multi = s["mask_pos"].sum(-2) > 1  # (b, anchors)
        if multi.any():
            ov = s["overlaps"].double().sort(1, descending=True).values  # over gts
            top, second = ov[:, 0], ov[:, 1]
            d["argmax_ties"] = int((multi & (top == second)).sum())
            gap = ((top - second) / top.clamp(min=1e-300))[multi & (top > second)]
            if gap.numel():
                d["argmax_min_rel_gap"] = float(gap.min())
        return d


def topk_variant(a, metrics, topk_mask=None, last=False):
    """TaskAlignedAssigner.select_topk_candidates with ties broken by anchor index, lowest first
    (or highest first when last): a stable descending sort instead of torch.topk."""
    na = metrics.shape[-1]
    m = metrics.flip(-1) if last else metrics
    idx = torch.sort(m, dim=-1, descending=True, stable=True).indices[..., : a.topk]
    if last:
        idx = na - 1 - idx
    if topk_mask is None:
        topk_mask = (metrics.gather(-1, idx).max(-1, keepdim=True)[0] > a.eps).expand_as(idx)
    idx = idx.masked_fill(~topk_mask, 0)
    count = torch.zeros(metrics.shape, dtype=torch.int8, device=idx.device)
    count.scatter_add_(-1, idx, torch.ones_like(idx, dtype=torch.int8))
    count.masked_fill_(count > 1, 0)
    return count


def highest_variant(a, mask_pos, overlaps, n_max_boxes, align_metric, last=False):
    """TaskAlignedAssigner.select_highest_overlaps (topk2 == topk) with the best-overlap gt of a
    multi-assigned anchor taken as the lowest (or highest, when last) index among equal maxima."""
    fg = mask_pos.sum(-2)
    multi = (fg.unsqueeze(1) > 1).expand(-1, n_max_boxes, -1)
    eq = overlaps == overlaps.max(1, keepdim=True).values
    ar = torch.arange(n_max_boxes, device=overlaps.device).view(1, -1, 1)
    best = torch.where(eq, ar, -1).max(1).values if last else torch.where(eq, ar, n_max_boxes).min(1).values
    is_max = torch.zeros_like(mask_pos)
    is_max.scatter_(1, best.unsqueeze(1), 1)
    mask_pos = torch.where(multi, is_max, mask_pos)
    fg_mask, target_gt_idx = mask_pos.max(-2)
    return target_gt_idx, fg_mask, mask_pos


def same_targets(x, y):
    """Whether two assignments give the same loss: equal target_scores, and equal target_bboxes
    wherever an anchor is foreground with a non-zero weight (sum of its target scores)."""
    _, bx, sx, fx, _ = x
    _, by, sy, fy, _ = y
    if not torch.equal(sx, sy):
        return False
    w = (sx.sum(-1) > 0) & fx
    return torch.equal(w, (sy.sum(-1) > 0) & fy) and torch.equal(bx[w], by[w])


def build_optimizer(model, name, lr, momentum, decay):
    """Ultralytics' own BaseTrainer.build_optimizer (called unbound: it only reads self.args for
    optimizer='auto', which is not offered), with the given decay (no nbs scaling)."""
    fake_trainer = types.SimpleNamespace(args=get_cfg(DEFAULT_CFG))
    return BaseTrainer.build_optimizer(fake_trainer, model=model, name=name, lr=lr, momentum=momentum, decay=decay)


def freeze(model):
    """BaseTrainer._setup_train: parameters whose name contains '.dfl' (always_freeze_names) get
    requires_grad=False; every other floating parameter requires grad. Returns the frozen names."""
    frozen = []
    for k, v in model.named_parameters():
        if ".dfl" in k:
            v.requires_grad = False
            frozen.append(k)
        else:
            v.requires_grad = True
    return frozen


def model_train(model):
    """BaseTrainer._model_train: train mode, BN modules inside frozen layers back to eval."""
    model.train()
    for n, m in model.named_modules():
        if ".dfl" in n and isinstance(m, nn.BatchNorm2d):
            m.eval()


def save_pair(out, stem, tensors, f64, meta):
    """Writes stem.safetensors as F32 (int64 kept) and, when f64, stem_f64.safetensors as F64."""
    def conv(dtype):
        return {k: (v.detach().cpu().numpy().astype(dtype) if v.is_floating_point()
                    else v.detach().cpu().numpy().astype(np.int64)) for k, v in tensors.items()}
    save_file(conv(np.float32), os.path.join(out, f"{stem}.safetensors"), metadata=meta)
    if f64:
        save_file(conv(np.float64), os.path.join(out, f"{stem}_f64.safetensors"), metadata=meta)


def run_steps(model_name, weights, images_path, labels_path, optimizer, lr, momentum, wd, steps, f64, out,
              quiet=False, accumulate=1, ema=False):
    """The `step` subcommand; returns the steps.json dict."""
    check_version()
    if steps < 1:
        raise OracleError("--steps must be >= 1")
    if accumulate < 1:
        raise OracleError("--accumulate must be >= 1")
    if accumulate > steps:
        # BaseTrainer._build_train_pipeline caps accumulate at the total number of iterations
        raise OracleError(f"--accumulate {accumulate} > --steps {steps}: no optimizer step would happen")
    dtype = torch.float64 if f64 else torch.float32
    # Ultralytics creates some loss tensors (targets, loss vector) in the default dtype.
    torch.set_default_dtype(dtype)
    try:
        images = np.load(images_path)
    except Exception as e:  # noqa: BLE001
        raise OracleError(f"{images_path}: cannot load ({e})") from e
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[2] % 32 or images.shape[3] % 32:
        raise OracleError(f"{images_path}: want (B,3,H,W) with H, W multiples of 32, got {images.shape}")
    labels = read_labels(labels_path, images.shape[0])

    model = build_model(model_name)
    load_weights(model, weights)
    model = model.to(dtype)
    model.args = get_cfg(DEFAULT_CFG)  # DetectionTrainer.set_model_attributes: box 7.5, cls 0.5, dfl 1.5
    frozen = freeze(model)
    opt = build_optimizer(model, optimizer, lr, momentum, wd)
    # BaseTrainer._setup_train: ModelEMA(self.model) after the weights are loaded, the layers
    # frozen and the optimizer built, before any iteration (and before the criterion exists, so
    # the copy carries none). deepcopy keeps the model's dtype: f64 under --float64.
    model_ema = ModelEMA(model) if ema else None
    if model_ema is not None and any(model_ema.decay(u) != ema_decay(u) for u in (1, 2, 1000, 10**6)):
        raise OracleError("ModelEMA's decay is not 0.9999 * (1 - exp(-updates / 2000)) (TRAIN_ORACLE.md §6)")
    model.criterion = model.init_criterion()
    probe = AssignProbe(model.criterion.assigner)
    names = {id(p): n for n, p in model.named_parameters()}
    groups = [{"name": g.get("param_group"), "weight_decay": g["weight_decay"], "n": len(g["params"]),
               "params": [names[id(p)] for p in g["params"]]} for g in opt.param_groups]

    meta = {"producer": "sinter tests/parity/train_oracle.py step", "model": model_name,
            "dtype": "float64" if f64 else "float32", "ultralytics": ultralytics.__version__}
    result = {
        "ultralytics": ultralytics.__version__, "torch": torch.__version__, "model": model_name,
        "dtype": "float64" if f64 else "float32", "images": list(images.shape), "n_labels": int(len(labels)),
        "optimizer": optimizer, "lr": lr, "momentum": momentum, "weight_decay": wd,
        "hyp": {"box": model.args.box, "cls": model.args.cls, "dfl": model.args.dfl},
        "clip_max_norm": CLIP_MAX_NORM, "frozen": frozen, "groups": groups, "accumulate": accumulate,
        "ema": {"decay": EMA_DECAY, "tau": EMA_TAU} if ema else None, "steps": [],
    }
    model_train(model)
    # BaseTrainer._do_train: optimizer.zero_grad() once before the first iteration, then after
    # every optimizer step; last_opt_step = -1 and ni counts iterations from 0.
    opt.zero_grad()
    last_opt_step = -1
    n_opt = 0
    for step in range(1, steps + 1):
        ni = step - 1
        t0 = time.time()
        batch = make_batch(images, labels, dtype)
        probe.last = {"n_fg": 0, "topk_ties": 0, "topk_min_rel_gap": None, "argmax_ties": 0,
                      "argmax_min_rel_gap": None, "tie_sensitive": False}  # kept when no gt boxes
        loss, items = model.loss(batch)
        total = loss.sum()  # BaseTrainer._do_train: self.loss = loss.sum(), not divided by accumulate
        total.backward()  # adds into .grad since the last zero_grad
        rec = {"step": step, "box": float(items["box_loss"]), "cls": float(items["cls_loss"]),
               "dfl": float(items["dfl_loss"]), "loss": total.item()}
        do_step = ni - last_opt_step >= accumulate  # BaseTrainer._do_train
        rec["optimizer_step"] = do_step
        if do_step:
            if n_opt == 0:
                grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
                before = {n: p.detach().clone() for n, p in model.named_parameters()}
            # BaseTrainer.optimizer_step: scaler.unscale_ (a no-op without AMP), clip, step,
            # zero_grad (set_to_none), ema.update.
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=CLIP_MAX_NORM)
            opt.step()
            opt.zero_grad()
            if model_ema is not None:
                model_ema.update(model)
                rec["ema_updates"] = model_ema.updates
                rec["ema_decay"] = model_ema.decay(model_ema.updates)
            last_opt_step = ni
            n_opt += 1
            rec["grad_norm"] = float(norm)
            rec["clip_coef"] = min(CLIP_MAX_NORM / (float(norm) + 1e-6), 1.0)
        rec["seconds"] = round(time.time() - t0, 3)
        rec.update(probe.last)
        result["steps"].append(rec)
        if not all(math.isfinite(rec[k]) for k in ("box", "cls", "dfl", "loss", "grad_norm") if k in rec):
            raise OracleError(f"step {step}: non-finite loss or gradient norm: {rec}")
        if do_step and n_opt == 1:
            update = {n: p.detach() - before[n] for n, p in model.named_parameters()}
            os.makedirs(out, exist_ok=True)
            save_pair(out, "grads1", grads, f64, meta)
            save_pair(out, "update1", update, f64, meta)
        if not quiet:
            gn = f"grad_norm {rec['grad_norm']:.6g}" if do_step else "no optimizer step"
            print(f"step {step}: box {rec['box']:.6g} cls {rec['cls']:.6g} dfl {rec['dfl']:.6g} "
                  f"loss {rec['loss']:.6g} {gn} fg {rec['n_fg']} "
                  f"ties {rec['topk_ties']}/{rec['argmax_ties']}{' TIE-SENSITIVE' if rec['tie_sensitive'] else ''} "
                  f"({rec['seconds']} s)")
    save_pair(out, "weights", {k: v for k, v in model.state_dict().items()}, f64, meta)
    if model_ema is not None:
        save_pair(out, "ema", {k: v for k, v in model_ema.ema.state_dict().items()}, f64, meta)
        result["ema"]["updates"] = model_ema.updates
    with open(os.path.join(out, "steps.json"), "w") as f:
        json.dump(result, f, indent=1)
    return result


def cmd_step(args):
    run_steps(args.model, args.weights, args.images, args.labels, args.optimizer, args.lr, args.momentum,
              args.weight_decay, args.steps, args.float64, args.out, accumulate=args.accumulate, ema=args.ema)


# ----------------------------------------------------------------------------------------------
# selftest
# ----------------------------------------------------------------------------------------------

def cmd_selftest(args):
    import tempfile

    check_version()
    with tempfile.TemporaryDirectory(prefix="train_oracle_") as tmp:
        data = os.path.join(tmp, "data")
        cmd_make_data(argparse.Namespace(model="yolov8n", imgsz=128, batch=2, seed=1, out=data))
        # make-data is deterministic
        again = os.path.join(tmp, "again")
        cmd_make_data(argparse.Namespace(model="yolov8n", imgsz=128, batch=2, seed=1, out=again))
        for fn in ("images.npy", "labels.txt"):
            with open(os.path.join(data, fn), "rb") as a, open(os.path.join(again, fn), "rb") as b:
                if a.read() != b.read():
                    raise OracleError(f"selftest: make-data is not deterministic ({fn})")
        # safetensors writes its metadata map in no fixed order: compare the tensors
        wa, wb = (load_file(os.path.join(d, "weights.safetensors")) for d in (data, again))
        if wa.keys() != wb.keys() or any(not np.array_equal(wa[k], wb[k]) for k in wa):
            raise OracleError("selftest: make-data is not deterministic (weights.safetensors)")
        labels = read_labels(os.path.join(data, "labels.txt"), 2)
        if not (labels[:, 0] == 0).any() or (labels[:, 0] == 1).any():
            raise OracleError("selftest: expected boxes in image 0 and none in image 1")
        res = {}
        for f64 in (False, True):
            for opt in ("SGD", "AdamW"):
                out = os.path.join(tmp, f"out_{opt}_{'f64' if f64 else 'f32'}")
                res[opt, f64] = run_steps("yolov8n", os.path.join(data, "weights.safetensors"),
                                          os.path.join(data, "images.npy"), os.path.join(data, "labels.txt"),
                                          opt, 0.01 if opt == "SGD" else 0.001, 0.937, 0.0005, 2, f64, out,
                                          quiet=True)
        torch.set_default_dtype(torch.float32)
        worst = 0.0
        for opt in ("SGD", "AdamW"):
            a, b = res[opt, False]["steps"][0], res[opt, True]["steps"][0]
            for k in ("box", "cls", "dfl", "loss", "grad_norm"):
                rel = abs(a[k] - b[k]) / max(abs(b[k]), 1e-12)
                worst = max(worst, rel)
                if rel > 1e-4:
                    raise OracleError(f"selftest: {opt} step 1 {k}: float32 {a[k]} vs float64 {b[k]} (rel {rel:.2e})")
            if b["n_fg"] == 0 or b["box"] <= 0 or b["dfl"] <= 0:
                raise OracleError(f"selftest: no foreground assigned: {b}")
        # Group membership: BN weights no decay, biases no decay, the rest (conv weights) decayed.
        g = {x["name"]: x for x in res["SGD", True]["groups"]}
        if g["weight"]["weight_decay"] != 0.0005 or g["bn"]["weight_decay"] or g["bias"]["weight_decay"]:
            raise OracleError(f"selftest: unexpected group decays {[(k, v['weight_decay']) for k, v in g.items()]}")
        if not all(n.endswith(".bias") for n in g["bias"]["params"]) or \
                not all(n.endswith(".bn.weight") for n in g["bn"]["params"]):
            raise OracleError("selftest: unexpected optimizer group membership")
        # Weights moved and the frozen DFL did not.
        w0 = load_file(os.path.join(data, "weights.safetensors"))
        w1 = load_file(os.path.join(tmp, "out_SGD_f64", "weights.safetensors"))
        dfl = [k for k in w0 if ".dfl." in k]
        if not dfl or any((w0[k] != w1[k]).any() for k in dfl):
            raise OracleError("selftest: DFL weight changed")
        if not (w1["model.0.bn.num_batches_tracked"] == 2):
            raise OracleError("selftest: num_batches_tracked should be 2 after 2 steps")
        if np.array_equal(w0["model.0.conv.weight"], w1["model.0.conv.weight"]):
            raise OracleError("selftest: weights did not change")
        acc = selftest_accumulate_ema(tmp, data, res["SGD", True])
    print(f"selftest: ok (float32 vs float64 worst relative difference {worst:.2e}; {acc})")


def selftest_accumulate_ema(tmp, data, plain):
    """--accumulate 2 --ema over 2 iterations (SGD, float64) against the plain run `plain` (same
    data, SGD, float64, 2 steps, written to tmp/out_SGD_f64)."""
    out = os.path.join(tmp, "out_acc2_ema")
    r = run_steps("yolov8n", os.path.join(data, "weights.safetensors"), os.path.join(data, "images.npy"),
                  os.path.join(data, "labels.txt"), "SGD", 0.01, 0.937, 0.0005, 2, True, out, quiet=True,
                  accumulate=2, ema=True)
    torch.set_default_dtype(torch.float32)
    st = r["steps"]
    if [x["optimizer_step"] for x in st] != [False, True] or "grad_norm" in st[0] or "grad_norm" not in st[1]:
        raise OracleError(f"selftest: accumulate 2 over 2 iterations: want one optimizer step, on iteration 2: "
                          f"{[(x['optimizer_step'], x.get('grad_norm')) for x in st]}")
    # Same batch, same weights, train-mode BN (batch statistics): both iterations are identical,
    # and the same as the plain run's step 1.
    p1 = plain["steps"][0]
    for k in ("box", "cls", "dfl", "loss"):
        if not st[0][k] == st[1][k] == p1[k]:
            raise OracleError(f"selftest: accumulate: {k} differs between iterations ({st[0][k]}, {st[1][k]}, {p1[k]})")
    if abs(st[1]["grad_norm"] - 2 * p1["grad_norm"]) > 1e-12 * p1["grad_norm"]:
        raise OracleError(f"selftest: accumulate 2: grad_norm {st[1]['grad_norm']}, want 2 x {p1['grad_norm']}")
    ga = load_file(os.path.join(out, "grads1_f64.safetensors"))
    gp = load_file(os.path.join(tmp, "out_SGD_f64", "grads1_f64.safetensors"))
    bad = [k for k in gp if k not in ga or not np.allclose(ga[k], 2 * gp[k], rtol=1e-12, atol=0)]
    if bad or ga.keys() != gp.keys():
        raise OracleError(f"selftest: accumulate 2: grads1 is not twice one iteration's gradient ({bad[:3]})")
    # EMA: one update with d = decay(1); every floating entry (parameters and BN running stats) is
    # lerp(initial, after, 1 - d); num_batches_tracked is not averaged (stays 0).
    if st[1].get("ema_updates") != 1 or r["ema"]["updates"] != 1:
        raise OracleError(f"selftest: ema: want 1 update, got {st[1].get('ema_updates')}")
    d = ema_decay(1)
    e = load_file(os.path.join(out, "ema_f64.safetensors"))
    e32 = load_file(os.path.join(out, "ema.safetensors"))
    w0 = load_file(os.path.join(data, "weights.safetensors"))
    w1 = load_file(os.path.join(out, "weights_f64.safetensors"))
    if e.keys() != w1.keys() or e32.keys() != w1.keys():
        raise OracleError("selftest: ema: state_dict keys differ from the model's")
    worst = 0.0
    for k, v in e.items():
        if k.endswith("num_batches_tracked"):
            if v.dtype != np.int64 or v != 0 or w1[k] != 2 or e32[k].dtype != np.int64:
                raise OracleError(f"selftest: ema: {k} = {v} ({v.dtype}), want int64 0 (model: {w1[k]})")
            continue
        if v.dtype != np.float64 or e32[k].dtype != np.float32:
            raise OracleError(f"selftest: ema: {k} dtype {v.dtype}/{e32[k].dtype}")
        a, b = w0[k].astype(np.float64), w1[k]
        want = d * a + (1 - d) * b
        err = float(np.abs(v - want).max()) / max(float(np.abs(want).max()), 1e-300)
        worst = max(worst, err)
        if err > 1e-14:
            raise OracleError(f"selftest: ema: {k} is not {d} * initial + (1 - {d}) * model (rel {err:.2e})")
    for k in ("model.0.conv.weight", "model.0.bn.running_var"):
        if np.array_equal(e[k], w1[k]) or np.array_equal(e[k], w0[k].astype(np.float64)):
            raise OracleError(f"selftest: ema: {k} equals the model's or the initial value")
    return f"accumulate 2: 1 optimizer step, grad_norm 2 x {p1['grad_norm']:.6g}; ema d {d:.6g}, lerp rel {worst:.1e}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-data", help="synthetic weights, images and labels")
    m.add_argument("--model", default="yolov8n")
    m.add_argument("--imgsz", type=int, default=320)
    m.add_argument("--batch", type=int, default=4)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--out", required=True)
    s = sub.add_parser("step", help="Ultralytics training steps on the given data")
    s.add_argument("--model", default="yolov8n")
    s.add_argument("--weights", required=True)
    s.add_argument("--images", required=True)
    s.add_argument("--labels", required=True)
    s.add_argument("--optimizer", default="SGD", choices=["SGD", "AdamW"])
    s.add_argument("--lr", type=float, default=0.01)
    s.add_argument("--momentum", type=float, default=0.937)
    s.add_argument("--weight-decay", type=float, default=0.0005)
    s.add_argument("--steps", type=int, default=1, help="iterations (forward+backward of the batch)")
    s.add_argument("--accumulate", type=int, default=1,
                   help="optimizer step every K-th iteration, gradients summed in between (default 1)")
    s.add_argument("--ema", action="store_true", help="keep Ultralytics' ModelEMA, write ema.safetensors")
    s.add_argument("--float64", action="store_true")
    s.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    s.add_argument("--out", required=True)
    sub.add_parser("selftest", help="quick self check (make-data, float32 vs float64 steps)")
    args = p.parse_args(argv)
    if getattr(args, "threads", 0):
        torch.set_num_threads(args.threads)
    try:
        {"make-data": cmd_make_data, "step": cmd_step, "selftest": cmd_selftest}[args.cmd](args)
    except OracleError as e:
        print(f"train_oracle: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
