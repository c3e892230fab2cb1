#!/usr/bin/env python3
"""tests/detect/nms_parity.py — engine/nms.c against Ultralytics 8.4 itself:
ultralytics.utils.nms.non_max_suppression (with torchvision imported, as a real `yolo predict`
run has it) and utils/ops.scale_boxes, on random Detect outputs built to be hard: clusters of
overlapping boxes, equal scores, NaN scores, boxes of every size, many classes — best class
and multi_label, agnostic, a class filter, small max_det, several conf/iou thresholds, and
scaling back to originals of odd shapes. Every kept detection must be bit-identical (boxes,
score, class, order). Not covered: more than max_nms candidate rows with equal scores at the
cut (torch's unstable argsort) and Ultralytics' wall-clock time limit.
usage: nms_parity.py NMS_TOOL   (runs with the oracle venv; exits 77 without it)"""
import os, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from oracle import reexec_in_oracle_venv  # noqa: E402


def main():
    reexec_in_oracle_venv()
    try:
        import numpy as np, torch, torchvision  # noqa: F401  (torchvision: as in a predict run)
        from ultralytics.utils.nms import non_max_suppression
        from ultralytics.utils.ops import scale_boxes
    except Exception as e:  # pragma: no cover
        print("skipped: %s" % e)
        sys.exit(77)
    tool = sys.argv[1]
    rng = np.random.default_rng(0)
    fails = cases = 0
    with tempfile.TemporaryDirectory() as T:
        for case in range(40):
            B, nc = int(rng.integers(1, 3)), int(rng.choice([1, 3, 80]))
            A = int(rng.choice([84, 2100, 8400]))
            in_h, in_w = 32 * int(rng.integers(4, 21)), 32 * int(rng.integers(4, 21))
            p = np.zeros((B, 4 + nc, A), np.float32)
            # clusters: boxes around a few centres, so many overlap
            centres = rng.uniform(0, [in_w, in_h], size=(8, 2))
            k = rng.integers(0, 8, size=(B, A))
            p[:, 0] = (centres[k, 0] + rng.normal(0, 6, (B, A))).astype(np.float32)
            p[:, 1] = (centres[k, 1] + rng.normal(0, 6, (B, A))).astype(np.float32)
            p[:, 2] = rng.uniform(2, in_w * 0.6, (B, A)).astype(np.float32)
            p[:, 3] = rng.uniform(2, in_h * 0.6, (B, A)).astype(np.float32)
            p[:, 4:] = rng.uniform(0, 1, (B, nc, A)).astype(np.float32) ** 3
            # equal scores (ties) and a few NaN
            p[:, 4:, ::7] = np.float32(0.5)
            if case % 5 == 0:
                p[0, 4 + int(rng.integers(0, nc)), int(rng.integers(0, A))] = np.nan
            conf = float(rng.choice([0.001, 0.25, 0.5]))
            iou = float(rng.choice([0.45, 0.7, 0.9]))
            max_det = int(rng.choice([300, 10]))
            agnostic = int(case % 4 == 1)
            # multi_label with 80 classes makes over max_nms (30000) rows: torch then cuts them with an
            # unstable argsort (its order of equal scores is its own) and its 2 s time limit may stop
            # the loop; both are outside the contract, so multi_label runs with up to 3 classes
            multi = int(case % 4 == 2 and nc <= 3)
            classes = [int(c) for c in rng.choice(nc, size=min(nc, 2), replace=False)] if case % 6 == 3 else None
            img_h, img_w = int(rng.integers(20, 1500)), int(rng.integers(20, 1500))
            np.save(os.path.join(T, "p.npy"), p)
            args = [tool, os.path.join(T, "p.npy"), os.path.join(T, "y.npy"), repr(conf), repr(iou),
                    str(max_det), str(agnostic), str(multi), str(in_h), str(in_w), str(img_h), str(img_w)]
            args += [str(c) for c in classes or []]
            r = subprocess.run(args, capture_output=True, text=True)
            if r.returncode:
                print("FAIL case %d: nms_tool: %s" % (case, r.stderr))
                fails += 1
                continue
            y = np.load(os.path.join(T, "y.npy"))
            out = non_max_suppression(torch.from_numpy(p), conf, iou, classes=classes, agnostic=bool(agnostic),
                                      multi_label=bool(multi), max_det=max_det)
            for b in range(B):
                d = out[b].clone()
                d[:, :4] = scale_boxes((in_h, in_w), d[:, :4], (img_h, img_w))
                want = d.numpy()
                got = y[b][: int((y[b][:, 5] >= 0).sum())]
                cases += 1
                same = want.shape == got.shape and np.array_equal(want.view(np.uint32), got.view(np.uint32))
                if not same:
                    fails += 1
                    n = min(len(want), len(got))
                    diff = [i for i in range(n) if not np.array_equal(want[i], got[i])]
                    print("FAIL case %d image %d (nc %d A %d conf %g iou %g max_det %d agnostic %d multi %d classes %s): "
                          "torch %d detections, sinter %d; first differing row %s\n  torch %s\n  sinter %s" % (
                              case, b, nc, A, conf, iou, max_det, agnostic, multi, classes, len(want), len(got),
                              diff[:1], want[diff[0]] if diff else want[n:n + 1], got[diff[0]] if diff else got[n:n + 1]))
    print("nms_parity: %d images, %d failed" % (cases, fails))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
