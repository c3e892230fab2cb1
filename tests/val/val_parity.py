#!/usr/bin/env python3
"""tests/val/val_parity.py — `sinter val` end to end against Ultralytics' own `val` (8.4, the
oracle venv) on the same checkpoint and the same synthetic dataset (make_dataset.py: images of
seven sizes and aspect ratios, one smaller than imgsz (scaled up), so rectangular batches of
several shapes; label files missing and empty).

The checkpoint: yolov8n (nc 3) as Ultralytics builds it (seeded), its BatchNorm statistics
measured on random images (so that activations keep their scale), its Detect head set so that
it predicts: class logits around 0 with a spread of about 1.5 (scores over (0, 1) rather than
Ultralytics' prior of ~1e-4, and no near-ties that float rounding could reorder)
and box distributions leaning to short distances (boxes of a few strides rather than ones that
cover the image), saved as a half-precision checkpoint that both read. A random model finds no
drawn shape, so that the metrics are not all zero the labels are remade from what it predicts
(Ultralytics' predictions.json of a first val: each image's 8 best boxes, each moved a little,
one in four given another class) beside the drawn shapes: matches at every IoU threshold, wrong
classes and misses all occur.

Equal scores: the rectangular batches' padding (and the flat insides of the drawn shapes) give
many anchors the same features, so many detections share a score. Ultralytics' ap_per_class
orders them by numpy's quicksort (np.argsort(-conf)), whose order among equal keys is its own;
Sinter keeps their arrival order (images in batch order, each in NMS order — equal to
Ultralytics' by tests/detect/nms_parity.py). Ultralytics' val runs here with that one argsort
made stable (kind="stable"), so the comparison is exact; the difference with numpy's own order
is printed too.

Checked: mAP50, mAP50-95, precision, recall, and per class P, R, AP50, AP50-95 within 1e-4,
the per-class image and label counts exactly, and predictions.json (COCO rows scaled back to the
original images) alike: as many rows, and at least 99% of them equal in image, category, score
to 1e-3 and box to 1 pixel (float rounding of the two models' outputs may move a few).
usage: val_parity.py SINTER   (runs with the oracle venv; exits 77 without it; SN_KEEP=1 keeps
the dataset, checkpoint and both runs)"""
import json, os, random, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from oracle import reexec_in_oracle_venv  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOL = 1e-4


def main():
    reexec_in_oracle_venv()
    os.environ.setdefault("YOLO_OFFLINE", "1")
    try:
        from ultralytics import YOLO
    except Exception as e:  # pragma: no cover
        print("skipped: %s" % e)
        sys.exit(77)
    sinter = os.path.abspath(sys.argv[1])
    T = tempfile.mkdtemp(prefix="sn_val_parity_")
    if os.environ.get("SN_KEEP"):  # keep the files for a look
        print("files kept in", T)
    try:
        ds = os.path.join(T, "ds")
        subprocess.run([sys.executable, os.path.join(HERE, "make_dataset.py"), ds, "--images", "16"], check=True)
        data = os.path.join(ds, "data.yaml")
        runs = os.path.join(T, "runs")
        common = dict(data=data, imgsz=64, batch=4, device="cpu", workers=0, plots=False, verbose=False)
        pt = os.path.join(T, "model.pt")
        make_checkpoint(pt)
        YOLO(pt).val(save_json=True, project=runs, name="v0", exist_ok=True, **common)
        preds = json.load(open(os.path.join(runs, "v0", "predictions.json")))
        relabel(ds, preds)
        for f in os.listdir(os.path.join(ds, "labels")):  # Ultralytics' label cache of the old labels
            if f.endswith(".cache"):
                os.remove(os.path.join(ds, "labels", f))
        r0 = YOLO(pt).val(project=runs, name="v1", exist_ok=True, **common).results_dict
        import numpy
        import ultralytics.utils.metrics as metrics

        class StableArgsort:  # numpy, but argsort keeps equal keys in order
            def __getattr__(self, k):
                return getattr(numpy, k)

            def argsort(self, a, **kw):
                return numpy.argsort(a, kind="stable")

        metrics.np = StableArgsort()
        r = YOLO(pt).val(project=runs, name="v2", exist_ok=True, save_json=True, **common)
        metrics.np = numpy
        p = subprocess.run([sinter, "val", pt, "--data", data, "--imgsz", "64", "--batch", "4", "--json",
                            "--no-plots", "--save-json", "--project", runs, "--name", "s", "--backend", "cpu"],
                           capture_output=True, text=True)
        if p.returncode:
            print("FAIL sinter val: exit %d\n%s" % (p.returncode, p.stderr))
            sys.exit(1)
        got = json.loads(p.stdout)
        want = r.results_dict
        print("numpy's own order of equal scores: mAP50 %.6f, mAP50-95 %.6f (with a stable order %.6f, %.6f)"
              % (r0["metrics/mAP50(B)"], r0["metrics/mAP50-95(B)"], want["metrics/mAP50(B)"],
                 want["metrics/mAP50-95(B)"]))
        fails = []
        for k, w in (("precision", "metrics/precision(B)"), ("recall", "metrics/recall(B)"),
                     ("mAP50", "metrics/mAP50(B)"), ("mAP50-95", "metrics/mAP50-95(B)")):
            d = abs(got[k] - want[w])
            print("%-9s sinter %.6f  ultralytics %.6f  diff %.2g" % (k, got[k], want[w], d))
            if d > TOL:
                fails.append(k)
        if want["metrics/mAP50(B)"] <= 0:
            fails.append("the case is degenerate: mAP50 0")
        idx = [int(c) for c in r.box.ap_class_index]
        if [c["class"] for c in got["classes"]] != idx:
            fails.append("classes %s vs %s" % ([c["class"] for c in got["classes"]], idx))
        else:
            for i, c in enumerate(idx):
                g = got["classes"][i]
                for k, w in zip(("precision", "recall", "mAP50", "mAP50-95"), r.box.class_result(i)):
                    if abs(g[k] - float(w)) > TOL:
                        fails.append("class %d %s %.6f vs %.6f" % (c, k, g[k], w))
                if g["images"] != int(r.nt_per_image[c]) or g["instances"] != int(r.nt_per_class[c]):
                    fails.append("class %d counts" % c)
        # predictions.json: per image the same detections (image_id, category_id, bbox, score)
        mine = json.load(open(os.path.join(runs, "s", "predictions.json")))
        theirs = json.load(open(os.path.join(runs, "v2", "predictions.json")))
        key = lambda q: (str(q["image_id"]), q["category_id"], round(q["score"], 3), *[round(v) for v in q["bbox"]])
        import collections
        a, b = collections.Counter(map(key, mine)), collections.Counter(map(key, theirs))
        same = sum((a & b).values())
        a, b = list(a.elements()), list(b.elements())
        print("predictions.json: %d and %d detections, %d alike (score to 1e-3, box to 1 px)" % (len(a), len(b), same))
        if len(a) != len(b) or same < 0.99 * len(b):
            fails.append("predictions.json differs")
        if fails:
            print("FAIL " + "; ".join(fails))
            sys.exit(1)
        print("val parity: sinter val equals Ultralytics' val within %g" % TOL)
    finally:
        os.environ.get("SN_KEEP") or shutil.rmtree(T, ignore_errors=True)


def make_checkpoint(path):
    import copy, torch
    from ultralytics.nn.tasks import DetectionModel
    torch.manual_seed(0)
    model = DetectionModel("yolov8n.yaml", nc=3, verbose=False)
    model.names = {i: "shape%d" % i for i in range(3)}
    head = model.model[-1]
    with torch.no_grad():
        # BatchNorm statistics measured on random images (a cumulative average), so that the
        # activations keep their scale through the network: Ultralytics' initial statistics
        # (mean 0, variance 1) let them fade to ~1e-6 by the head
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None
        model.train()
        for _ in range(4):
            model(torch.rand(8, 3, 96, 96))
        model.eval()
        # the class logits scaled to a spread of about 1.5 on random images (not all near 0.5:
        # near-ties that float rounding could reorder)
        outs = [None] * len(head.cv3)
        hooks = [cls[-1].register_forward_hook(lambda m, i, o, k=k: outs.__setitem__(k, o))
                 for k, cls in enumerate(head.cv3)]
        model(torch.rand(4, 3, 96, 96))
        for h in hooks:
            h.remove()
        for k, (box, cls) in enumerate(zip(head.cv2, head.cv3)):
            logit = outs[k] - cls[-1].bias.view(1, -1, 1, 1)
            cls[-1].weight.mul_(1.5 / float(logit.std()))
            cls[-1].bias.zero_()
            box[-1].bias.copy_((-0.7 * torch.arange(head.reg_max, dtype=torch.float32)).repeat(4))
    torch.save({"model": copy.deepcopy(model).half(), "train_args": {}, "epoch": -1}, path)


def relabel(ds, preds):
    """Each image's labels: its drawn shapes plus its 8 best predicted boxes, moved a little,
    one in four given another class."""
    rnd = random.Random(1)
    by_img = {}
    for p in preds:
        by_img.setdefault(p["file_name"], []).append(p)
    img_dir, lab_dir = os.path.join(ds, "images", "val"), os.path.join(ds, "labels", "val")
    import cv2
    for f in sorted(os.listdir(img_dir)):
        h, w = cv2.imread(os.path.join(img_dir, f)).shape[:2]
        lp = os.path.join(lab_dir, os.path.splitext(f)[0] + ".txt")
        rows = open(lp).read().splitlines() if os.path.exists(lp) else []
        best = sorted(by_img.get(f, []), key=lambda p: -p["score"])[:8]
        for p in best:
            x, y, bw, bh = p["bbox"]
            if bw < 1 or bh < 1:
                continue
            j = [rnd.uniform(-0.08, 0.08) * s for s in (bw, bh, bw, bh)]
            cx, cy = min(max((x + bw / 2 + j[0]) / w, 0), 1), min(max((y + bh / 2 + j[1]) / h, 0), 1)
            nw, nh = min(max((bw + j[2]) / w, 0.01), 1), min(max((bh + j[3]) / h, 0.01), 1)
            c = p["category_id"] - 1 if rnd.random() > 0.25 else rnd.randrange(3)
            rows.append("%d %.6f %.6f %.6f %.6f" % (c, cx, cy, nw, nh))
        if rows or os.path.exists(lp):
            with open(lp, "w") as fh:
                fh.write("\n".join(rows) + ("\n" if rows else ""))


if __name__ == "__main__":
    main()
