#!/usr/bin/env python3
"""tests/val/metrics_parity.py — engine/val.c's metrics against Ultralytics 8.4 itself: per image
box_iou + DetectionValidator.match_predictions and ConfusionMatrix.process_batch, then
DetMetrics.process (ap_per_class) and its means, on synthetic cases built to be hard: many
classes, images without labels or without detections, crowded images (many overlapping boxes
of one class), no detections at all, no labels at all, detections equal to the labels (mAP 1),
and equal scores (across classes, and within one class where their order cannot change the
result: numpy's quicksort orders equal scores its own way, Sinter keeps their arrival order).
Detections equal to the labels give every AP as 0.995, Ultralytics' highest: its 101-point
interpolation samples recall 1 on the sentinel precision 0.
Means, per-class P, R, AP50, AP50-95 (and AP per threshold) must agree within 1e-6, the
confusion matrix and the per-class image and label counts exactly.
usage: metrics_parity.py VAL_METRICS_TOOL   (runs with the oracle venv; exits 77 without it)"""
import json, os, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from oracle import reexec_in_oracle_venv  # noqa: E402
TOL = 1e-6


def main():
    reexec_in_oracle_venv()
    try:
        import numpy as np, torch
        from ultralytics.models.yolo.detect.val import DetectionValidator
        from ultralytics.utils.metrics import ConfusionMatrix, DetMetrics, box_iou
    except Exception as e:  # pragma: no cover
        print("skipped: %s" % e)
        sys.exit(77)
    tool = sys.argv[1]
    validator = DetectionValidator()
    rng = np.random.default_rng(0)
    fails = 0

    def make_case(kind):
        nc = int(rng.choice([1, 3, 20, 80]))
        nimg = int(rng.integers(1, 30))
        imgs = []
        for _ in range(nimg):
            W, H = 640, int(rng.choice([480, 640]))
            nl = 0 if rng.random() < 0.2 else int(rng.integers(1, 12))
            if kind == "crowded":
                nl = int(rng.integers(20, 60))
            if kind == "nolabels":
                nl = 0
            c0 = int(rng.integers(0, nc))
            lc = [c0 if kind == "crowded" else int(rng.integers(0, nc)) for _ in range(nl)]
            cx, cy = rng.uniform(40, W - 40, nl), rng.uniform(40, H - 40, nl)
            if kind == "crowded":  # one cluster: boxes overlap heavily
                cx, cy = rng.normal(W / 2, 30, nl), rng.normal(H / 2, 30, nl)
            w, h = rng.uniform(8, 200, nl), rng.uniform(8, 200, nl)
            lb = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1).astype(np.float32) if nl else np.zeros((0, 4), np.float32)
            dets = []
            if kind == "exact":
                for i in range(nl):
                    dets.append((*lb[i], np.float32(rng.uniform(0.3, 1)), lc[i]))
            elif kind != "nopreds" and rng.random() > 0.15:
                for i in range(nl):  # jittered copies of labels, some with the wrong class
                    for _ in range(int(rng.integers(0, 4))):
                        j = rng.normal(0, rng.choice([1, 5, 20]), 4)
                        b = lb[i] + j
                        b[2:] = np.maximum(b[2:], b[:2] + 1)
                        c = lc[i] if rng.random() < 0.8 else int(rng.integers(0, nc))
                        dets.append((*b.astype(np.float32), np.float32(rng.uniform(0.001, 1) ** 2), c))
                for _ in range(int(rng.integers(0, 15))):  # background detections
                    x, y = rng.uniform(0, W - 20), rng.uniform(0, H - 20)
                    dets.append((x, y, x + rng.uniform(5, 150), y + rng.uniform(5, 150),
                                 np.float32(rng.uniform(0.001, 0.5)), int(rng.integers(0, nc))))
            dets = [tuple(np.float32(v) if i < 5 else int(v) for i, v in enumerate(d)) for d in dets]
            dets.sort(key=lambda d: -d[4])  # NMS order (stable among equal scores)
            imgs.append((lc, lb, dets))
        return nc, imgs

    kinds = ["random"] * 20 + ["crowded"] * 5 + ["exact"] * 4 + ["nopreds"] * 3 + ["nolabels"] * 2 + ["ties"] * 8
    cases, worst = 0, 0.0
    with tempfile.TemporaryDirectory() as T:
        for ci, kind in enumerate(kinds):
            nc, imgs = make_case(kind)
            if kind == "ties":  # keep only ties whose order cannot matter (see the docstring)
                imgs = make_ties(imgs, box_iou, torch, np)
            path = os.path.join(T, "case.txt")
            with open(path, "w") as f:
                f.write("nc %d\n" % nc)
                for lc, lb, dets in imgs:
                    f.write("image\n")
                    for c, b in zip(lc, lb):
                        f.write("l %d %.9g %.9g %.9g %.9g\n" % (c, *b))
                    for d in dets:
                        f.write("d %.9g %.9g %.9g %.9g %.9g %d\n" % d)
            r = subprocess.run([tool, path], capture_output=True, text=True)
            if r.returncode:
                print("FAIL case %d (%s): tool: %s" % (ci, kind, r.stderr))
                fails += 1
                continue
            got = json.loads(r.stdout)
            # Ultralytics
            names = {i: "c%d" % i for i in range(nc)}
            metrics = DetMetrics(names=names)
            cm = ConfusionMatrix(names=names)
            for k, (lc, lb, dets) in enumerate(imgs):
                cls = torch.tensor(lc, dtype=torch.float32)
                bboxes = torch.from_numpy(np.asarray(lb, np.float32).reshape(-1, 4))
                dt = np.array([d[:5] for d in dets], np.float32).reshape(-1, 5)
                pred = {"bboxes": torch.from_numpy(dt[:, :4].copy()), "conf": torch.from_numpy(dt[:, 4].copy()),
                        "cls": torch.tensor([d[5] for d in dets], dtype=torch.float32)}
                batch = {"cls": cls, "bboxes": bboxes}
                tp = validator._process_batch(pred, batch)["tp"]
                no_pred = len(dets) == 0
                metrics.update_stats({"tp": tp, "target_cls": cls.numpy(), "target_img": np.unique(cls.numpy()),
                                      "conf": np.zeros(0) if no_pred else pred["conf"].numpy(),
                                      "pred_cls": np.zeros(0) if no_pred else pred["cls"].numpy(), "im_name": str(k)})
                cm.process_batch(pred, batch, conf=0.001)
            metrics.process()
            want = dict(zip(["mp", "mr", "map50", "map"], [float(x) for x in metrics.mean_results()]))
            bad = []
            for key, w in want.items():
                worst = max(worst, abs(got[key] - w))
                if abs(got[key] - w) > TOL:
                    bad.append("%s %.9f vs %.9f" % (key, got[key], w))
            idx = list(metrics.ap_class_index)
            if [c["cls"] for c in got["classes"]] != [int(c) for c in idx]:
                bad.append("classes %s vs %s" % ([c["cls"] for c in got["classes"]], idx))
            else:
                for i, c in enumerate(idx):
                    p, rr, ap50, ap = metrics.class_result(i)
                    g = got["classes"][i]
                    for key, w in (("p", p), ("r", rr), ("ap50", ap50), ("ap", ap)):
                        if abs(g[key] - float(w)) > TOL:
                            bad.append("class %d %s %.9f vs %.9f" % (c, key, g[key], w))
                    if max(abs(a - b) for a, b in zip(g["all_ap"], metrics.box.all_ap[i])) > TOL:
                        bad.append("class %d AP per threshold" % c)
                    if g["images"] != int(metrics.nt_per_image[c]) or g["instances"] != int(metrics.nt_per_class[c]):
                        bad.append("class %d counts" % c)
            if not np.array_equal(np.array(got["confusion"]), cm.matrix):
                bad.append("confusion matrix")
            # detections equal to the labels: every AP is Ultralytics' highest, 0.995 (its
            # 101-point interpolation ends at recall 1 on the sentinel precision 0)
            if kind == "exact" and sum(len(i[0]) for i in imgs) and abs(got["map"] - 0.995) > 1e-12:
                bad.append("exact predictions: mAP50-95 %.9f, not 0.995" % got["map"])
            cases += 1
            if bad:
                fails += 1
                print("FAIL case %d (%s, nc %d, %d images): %s" % (ci, kind, nc, len(imgs), "; ".join(bad[:6])))
    print("val metrics: %d cases, %d failed; largest difference of a mean %.3g" % (cases, fails, worst))
    sys.exit(1 if fails else 0)


def make_ties(imgs, box_iou, torch, np):
    """Equal scores where their order cannot matter: every detection whose box misses every
    label of its class (IoU 0: wrong at every threshold, it claims nothing) gets 0.5, so a class
    holds runs of equal-scored misses; and the first other detection of each class gets 0.7, so
    classes share a score."""
    out, first = [], set()
    for lc, lb, dets in imgs:
        new = []
        for d in dets:
            same = [b for c, b in zip(lc, lb) if c == d[5]]
            iou = box_iou(torch.tensor([d[:4]], dtype=torch.float32),
                          torch.from_numpy(np.asarray(same, np.float32).reshape(-1, 4)))
            if not same or float(iou.max()) == 0:
                d = (*d[:4], np.float32(0.5), d[5])
            elif d[5] not in first:
                first.add(d[5])
                d = (*d[:4], np.float32(0.7), d[5])
            new.append(d)
        new.sort(key=lambda d: -d[4])
        out.append((lc, lb, new))
    return out


if __name__ == "__main__":
    main()
