#!/usr/bin/env python3
"""Ultralytics' own v8DetectionLoss as the oracle of Sinter's DET_LOSS / DET_LOSS_GRAD ops.

Run with the oracle venv's python (scripts/oracle_venv.sh: PyPI torch + ultralytics 8.4.x).
Makes one random problem and writes, into OUT:
  pred.npy     f32 [B, 4*reg_max + nc, A]  the head's "boxes" then "scores" channels
  targets.npy  f32 [B, cap, 5]             (cls, x1, y1, x2, y2) pixels; padding rows cls -1
  loss.npy     f32 [3]                     what v8DetectionLoss.loss returns first: loss * B
  grad.npy     f32 [B, no, A]              d loss.sum() / d pred, by autograd
  fg.npy       f32 [B, A]                  the assigner's fg_mask (1/0)
  gt.npy       f32 [B, A]                  its target_gt_idx as a targets.npy row, -1 off fg
  loss.f64, grad.f64                       loss and gradient unrounded: raw little-endian f64
All in float64 inside; pred and the boxes are f32 values, so both sides see the same inputs.

The loss is Ultralytics' code, unchanged: v8DetectionLoss built on a stand-in model that has
only what its __init__ reads (args with the gains, model[-1] with stride, nc, reg_max, one
parameter for the device). The batch goes through its own preprocess, whose output is only
rounded to f32 (targets.npy holds exactly what the loss then sees).

  python det_loss_oracle.py OUT --seed 1 [--imgsz 320] [--batch 4] [--nc 80] [--reg-max 16]
                                [--mode random|near] [--extra-pad 0] [--mix-pad] [--degenerate]
Exits 77 when torch or ultralytics cannot be imported (ctest: skipped).
"""

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

try:
    import numpy as np
    import torch
    from ultralytics import __version__ as ul_version
    from ultralytics.utils.loss import v8DetectionLoss
except ImportError as e:
    print(f"skipped: cannot import torch/ultralytics ({e})")
    sys.exit(77)

STRIDES = (8, 16, 32)


class StandIn(torch.nn.Module):
    """What v8DetectionLoss.__init__ reads of a DetectionModel, and nothing else."""

    def __init__(self, nc, reg_max):
        super().__init__()
        self.p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        self.args = SimpleNamespace(box=7.5, cls=0.5, dfl=1.5)
        head = SimpleNamespace(stride=torch.tensor(STRIDES, dtype=torch.float64), nc=nc, reg_max=reg_max)
        self.model = [head]


def random_boxes(rng, n, imgsz, degenerate=False):
    """n pixel xyxy boxes inside the image, sides log-uniform from 4 px to 0.9 of the image;
    degenerate: of every 5, one of zero width, one of zero height, a point, and (0,0,0,0),
    which Ultralytics' mask_gt (coordinates summing to > 0) drops."""
    out = []
    for i in range(n):
        w, h = np.exp(rng.uniform(np.log(4.0), np.log(0.9 * imgsz), 2))
        x1 = rng.uniform(0, imgsz - w)
        y1 = rng.uniform(0, imgsz - h)
        k = i % 5 if degenerate else 0
        w, h = (0.0 if k in (1, 3, 4) else w), (0.0 if k in (2, 3, 4) else h)
        x1, y1 = (0.0, 0.0) if k == 4 else (x1, y1)
        out.append(np.float32([x1, y1, x1 + w, y1 + h]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--nc", type=int, default=80)
    ap.add_argument("--reg-max", type=int, default=16)
    ap.add_argument("--mode", choices=("random", "near"), default="random")
    ap.add_argument("--extra-pad", type=int, default=0, help="padding rows beyond Ultralytics' own")
    ap.add_argument("--mix-pad", action="store_true", help="padding rows between the boxes")
    ap.add_argument("--degenerate", action="store_true", help="zero-width, zero-height, point boxes")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    B, nc, R, imgsz = a.batch, a.nc, a.reg_max, a.imgsz
    grids = [(imgsz // s, imgsz // s) for s in STRIDES]
    A = sum(h * w for h, w in grids)

    # boxes: one image without any, one with one, the rest with a few to many
    counts = [0, 1] + [int(rng.integers(2, 8)) if i % 2 else int(rng.integers(10, 30)) for i in range(B - 2)]
    counts = [int(c) for c in rng.permutation(counts[:B])]
    boxes = [random_boxes(rng, n, imgsz, a.degenerate) for n in counts]
    classes = [rng.integers(0, nc, n) for n in counts]

    # predictions: random, or (near) half the anchors peaked around the distances to a box of
    # their image, so that many candidates overlap well and the top-k compete
    pred = np.empty((B, 4 * R + nc, A), np.float32)
    pred[:, : 4 * R] = rng.normal(0.0, 2.0, (B, 4 * R, A))
    pred[:, 4 * R :] = rng.normal(-3.0, 2.5, (B, nc, A))
    if a.mode == "near":
        ax = np.concatenate([(np.arange(w)[None, :] + 0.5 + 0 * np.arange(h)[:, None]).ravel() for h, w in grids])
        ay = np.concatenate([(np.arange(h)[:, None] + 0.5 + 0 * np.arange(w)[None, :]).ravel() for h, w in grids])
        st = np.concatenate([np.full(h * w, s, np.float64) for (h, w), s in zip(grids, STRIDES)])
        for b in range(B):
            if not counts[b]:
                continue
            for j in rng.choice(A, A // 2, replace=False):
                x1, y1, x2, y2 = boxes[b][rng.integers(counts[b])] / st[j]
                d = np.array([ax[j] - x1, ay[j] - y1, x2 - ax[j], y2 - ay[j]]) + rng.normal(0, 0.7, 4)
                d = np.clip(d, 0, R - 1)
                for k in range(4):
                    pred[b, k * R : (k + 1) * R, j] = -((np.arange(R) - d[k]) ** 2) / 0.8
                pred[b, 4 * R + classes[b][0], j] += 2.0

    # Ultralytics' batch: image index, class, normalised xywh
    bi, cl, bb = [], [], []
    for b in range(B):
        for box, c in zip(boxes[b], classes[b]):
            x1, y1, x2, y2 = box.astype(np.float64)
            bi.append(b)
            cl.append(c)
            bb.append([(x1 + x2) / 2 / imgsz, (y1 + y2) / 2 / imgsz, (x2 - x1) / imgsz, (y2 - y1) / imgsz])
    batch = {
        "batch_idx": torch.tensor(bi, dtype=torch.float64),
        "cls": torch.tensor(cl, dtype=torch.float64).view(-1, 1),
        "bboxes": torch.tensor(bb, dtype=torch.float64).view(-1, 4),
    }

    # float64 throughout: preprocess builds its padded targets in the default dtype (f32 in
    # training), and the assigner casts the predicted boxes to the targets' dtype
    torch.set_default_dtype(torch.float64)
    crit = v8DetectionLoss(StandIn(nc, R))
    seen = {}
    preprocess = crit.preprocess

    def preprocess_f32(targets, batch_size, scale_tensor):  # Ultralytics' own, then f32 values
        out = preprocess(targets, batch_size, scale_tensor).float().double()
        seen["targets"] = out.clone()
        return out

    crit.preprocess = preprocess_f32
    boxes_t = torch.tensor(pred[:, : 4 * R], dtype=torch.float64, requires_grad=True)
    scores_t = torch.tensor(pred[:, 4 * R :], dtype=torch.float64, requires_grad=True)
    feats = [torch.zeros(B, 1, h, w, dtype=torch.float64) for h, w in grids]
    preds = {"boxes": boxes_t, "scores": scores_t, "feats": feats}
    loss, _ = crit(preds, batch)
    loss.sum().backward()
    grad = torch.cat((boxes_t.grad, scores_t.grad), 1)
    with torch.no_grad():
        (fg, gt_idx, *_), _, _ = crit.get_assigned_targets_and_loss(preds, batch)

    # targets.npy: Ultralytics' rows, padding as cls -1, optionally more of it and in between
    t = seen["targets"].numpy()
    n = t.shape[1]
    cap = n + a.extra_pad
    tout = np.zeros((B, cap, 5), np.float32)
    tout[:, :, 0] = -1.0
    rowmap = np.zeros((B, max(n, 1)), np.int64)
    for b in range(B):
        slots = np.sort(rng.choice(cap, counts[b], replace=False)) if a.mix_pad else np.arange(counts[b])
        for j in range(counts[b]):
            tout[b, slots[j]] = t[b, j]
            rowmap[b, j] = slots[j]
        if a.mix_pad:  # padding rows that hold a box: cls < 0 must drop them
            for s in set(range(cap)) - set(slots.tolist()):
                if rng.random() < 0.5:
                    tout[b, s, 1:] = random_boxes(rng, 1, imgsz)[0]
    gt = np.where(fg.numpy(), np.take_along_axis(rowmap, gt_idx.numpy().astype(np.int64).clip(0, max(n, 1) - 1), 1), -1)

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "pred.npy", pred)
    np.save(out / "targets.npy", tout)
    np.save(out / "loss.npy", loss.detach().numpy().astype(np.float32))
    np.save(out / "grad.npy", grad.numpy().astype(np.float32))
    np.save(out / "fg.npy", fg.numpy().astype(np.float32))
    np.save(out / "gt.npy", gt.astype(np.float32))
    loss.detach().numpy().astype("<f8").tofile(out / "loss.f64")
    grad.numpy().astype("<f8").tofile(out / "grad.f64")
    print(
        f"ultralytics {ul_version}, torch {torch.__version__}: seed {a.seed} imgsz {imgsz} B {B} A {A} nc {nc} "
        f"reg_max {R} cap {cap} boxes {counts} fg {int(fg.sum())} loss {loss.detach().numpy().tolist()}"
    )


if __name__ == "__main__":
    main()
