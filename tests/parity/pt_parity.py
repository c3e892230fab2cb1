#!/usr/bin/env python3
"""tests/parity/pt_parity.py — Sinter's .pt reader against torch.load, on real Ultralytics 8.4
checkpoints.

Made here with the oracle venv (PyPI torch + ultralytics 8.4, scripts/oracle_venv.sh; models
built from their yaml, nothing downloaded), per model (yolov8n, yolo11n, yolov5nu; random
weights and BatchNorm statistics):
  sd.pt     torch.save(model.state_dict())                        f32
  train.pt  a training checkpoint as BaseTrainer.save_model writes it: model None, ema a half
            deepcopy carrying the trainer's args namespace, an fp16 SGD state, train_args …
  best.pt   train.pt through Ultralytics' own strip_optimizer (model = the half EMA)
and, for nc=3 with custom names, a real 1-epoch Ultralytics training run of yolov8n on a
synthetic 3-class dataset (imgsz 64): its last.pt as saved mid-training (captured by an
on_model_save callback) and the final, stripped best.pt.

Checked for every file, through the `sinter export` command:
  - the tensors are exactly torch.load's state_dict (num_batches_tracked aside): same names,
    shapes, and values (f16 → f32 exact);
  - __metadata__ nc, names, family, scale as the checkpoint's model says (none for sd.pt);
and `sinter run MODEL --weights F.pt` (ref backend, 64x64) gives byte-identical output to
`--weights` the exported safetensors.

usage: pt_parity.py --sinter BIN [--models yolov8n,yolo11n,yolov5nu] [--keep DIR]
Runs under any python3: it re-runs itself with the oracle venv's python ($SN_ORACLE_VENV or
<source>/.venv-oracle); exits 77 (skipped) without the venv or with a Sinter built without
libzip.
"""
import argparse
import contextlib
import copy
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FAMILY = {"yolov8n": "yolov8", "yolo11n": "yolo11", "yolov5nu": "yolov5u"}

failures = 0


def check(ok, what):
    global failures
    if not ok:
        failures += 1
        print("FAIL %s" % what)
    return ok


def into_venv():
    """Re-runs this script with the oracle venv's python, unless already there."""
    try:
        import torch  # noqa: F401
        import ultralytics  # noqa: F401
        return
    except ImportError:
        pass
    v = os.environ.get("SN_ORACLE_VENV", os.path.join(ROOT, ".venv-oracle"))
    py = os.path.join(v, "bin", "python")
    if not os.path.exists(py):
        print("skipped: no oracle venv at %s (run scripts/oracle_venv.sh)" % v)
        sys.exit(77)
    r = subprocess.run([py, "-c", "import torch, ultralytics, safetensors"], capture_output=True)
    if r.returncode != 0:
        print("skipped: the oracle venv cannot import torch/ultralytics/safetensors: %s"
              % r.stderr.decode()[-300:])
        sys.exit(77)
    os.execv(py, [py, os.path.abspath(__file__)] + sys.argv[1:])


def sinter(args, what):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        if "built without libzip" in r.stderr:
            print("skipped: %s" % r.stderr.strip())
            sys.exit(77)
        check(False, "%s: exit %d\n%s%s" % (what, r.returncode, r.stdout[-2000:], r.stderr[-3000:]))
        return None
    return r.stdout


def st_metadata(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)).get("__metadata__", {})


def randomise(model, seed):
    """Weights and BatchNorm statistics a trained model could have (f16 range)."""
    import torch
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for k, v in model.state_dict().items():
            if not v.is_floating_point():
                continue
            r = torch.randn(v.shape, generator=g) * 0.1
            if k.endswith("running_var"):
                r = r.abs() + 0.5
            if k.endswith("dfl.conv.weight"):
                continue  # the DFL's fixed arange stays
            v.copy_(r)


def trainer_checkpoint(model):
    """The dict ultralytics/engine/trainer.py save_model() writes, from the same parts."""
    from datetime import datetime

    import torch
    from ultralytics import __version__
    from ultralytics.cfg import get_cfg
    from ultralytics.utils.torch_utils import ModelEMA, convert_optimizer_state_dict_to_fp16

    args = get_cfg(overrides={"model": "x.yaml", "data": "coco8.yaml", "epochs": 1})
    model.args = args
    ema = ModelEMA(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    opt.step()  # momentum buffers in the optimizer state; the EMA keeps the weights
    ema.updates = 1
    e = copy.deepcopy(ema.ema).half().to(memory_format=torch.contiguous_format)
    e.criterion = None
    return {
        "epoch": 0, "best_fitness": 0.5,
        "stopper": {"best_fitness": 0.5, "best_epoch": 0},
        "model": None, "ema": e, "updates": ema.updates, "modelopt": None,
        "optimizer": convert_optimizer_state_dict_to_fp16(copy.deepcopy(opt.state_dict())),
        "scaler": torch.amp.GradScaler("cuda", enabled=False).state_dict(),
        "train_args": vars(args), "train_metrics": {"fitness": 0.5},
        "train_results": {"epoch": [1]},
        "date": datetime.now().astimezone().isoformat(), "version": __version__,
        "git": {"root": None, "branch": None, "commit": None, "message": None, "origin": None},
        "license": "AGPL-3.0 (https://ultralytics.com/license)",
        "docs": "https://docs.ultralytics.com",
    }


def oracle(path):
    """torch.load's view of a file: (state_dict without num_batches_tracked, model or None)."""
    import torch
    o = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(o, dict) and ("model" in o or "ema" in o):
        m = o.get("model") or o.get("ema")
        sd = m.state_dict()
    else:
        m, sd = None, o
    return {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}, m


def check_file(args, tmp, pt, zoo, want_meta, nc):
    """`sinter export` against torch.load; `sinter run` .pt vs the exported safetensors."""
    import torch
    from safetensors.torch import load_file
    name = os.path.basename(pt)
    out = pt + ".safetensors"
    if sinter([args.sinter, "export", pt, "--output", out], "export %s" % name) is None:
        return
    got = load_file(out)
    sd, _ = oracle(pt)
    check(set(got) == set(sd), "%s: names differ: only sinter %s, only torch %s"
          % (name, sorted(set(got) - set(sd))[:5], sorted(set(sd) - set(got))[:5]))
    bad = [k for k in sd if k in got and not (got[k].shape == sd[k].shape and
                                               torch.equal(got[k], sd[k].float()))]
    check(not bad, "%s: %d tensors differ from torch.load's, e.g. %s" % (name, len(bad), bad[:3]))
    meta = st_metadata(out)
    for k, v in want_meta.items():
        check(meta.get(k) == v, "%s: __metadata__ %s = %r, want %r" % (name, k, meta.get(k), v))
    if not want_meta:
        check("nc" not in meta and "names" not in meta, "%s: metadata %r" % (name, meta))
    print("ok   %s: %d tensors equal torch.load's (%s), metadata %s" % (
        name, len(got), ",".join(sorted({str(v.dtype) for v in sd.values()})),
        {k: (v if len(v) < 40 else v[:37] + "...") for k, v in meta.items()}))
    # the same weights through --weights: .pt and the exported safetensors
    x = os.path.join(tmp, "x.npy")
    outs = []
    for w in (pt, out):
        y = os.path.join(tmp, "y_%d.npy" % len(outs))
        cmd = [args.sinter, "run", zoo, "--weights", w, "--input", x, "--output", y,
               "--backend", "ref", "--nc", str(nc)]
        if sinter(cmd, "run %s --weights %s" % (zoo, os.path.basename(w))) is None:
            return
        with open(y, "rb") as f:
            outs.append(f.read())
    check(outs[0] == outs[1], "%s: sinter run differs between the .pt and its safetensors" % name)
    print("ok   %s: sinter run %s --weights .pt == --weights .safetensors (%d bytes)"
          % (name, zoo, len(outs[0])))


def train_run(tmp):
    """A real Ultralytics training run (1 epoch, 64 px, 3 classes): last.pt as saved during
    training and the final stripped best.pt."""
    import numpy as np
    from PIL import Image
    from ultralytics import YOLO
    root = os.path.join(tmp, "ds")
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        os.makedirs(os.path.join(root, "images", split))
        os.makedirs(os.path.join(root, "labels", split))
        for i in range(4):
            Image.fromarray((rng.random((64, 64, 3)) * 255).astype("uint8")).save(
                os.path.join(root, "images", split, "%d.jpg" % i))
            with open(os.path.join(root, "labels", split, "%d.txt" % i), "w") as f:
                f.write("0 0.5 0.5 0.3 0.3\n1 0.3 0.3 0.2 0.2\n2 0.7 0.6 0.2 0.3\n")
    data = os.path.join(root, "data.yaml")
    with open(data, "w") as f:
        f.write("path: %s\ntrain: images/train\nval: images/val\n"
                "names:\n  0: cat\n  1: dog\n  2: bird\n" % root)
    last = os.path.join(tmp, "trained_last.pt")
    m = YOLO("yolov8n.yaml")
    m.add_callback("on_model_save", lambda tr: shutil.copy(tr.last, last))
    log = os.path.join(tmp, "train.log")
    with open(log, "w") as f, contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
        try:
            m.train(data=data, epochs=1, imgsz=64, batch=4, workers=0, device="cpu",
                    plots=False, amp=False, project=os.path.join(tmp, "runs"), name="t",
                    exist_ok=True, verbose=False)
        except Exception:
            traceback.print_exc()
            raise
        finally:
            f.flush()
    print("ok   trained yolov8n for 1 epoch on 3 classes (log: %s)" % log)
    best = os.path.join(tmp, "trained_best.pt")
    shutil.copy(os.path.join(tmp, "runs", "t", "weights", "best.pt"), best)
    return last, best


def main():
    into_venv()
    ap = argparse.ArgumentParser()
    ap.add_argument("--sinter", required=True)
    ap.add_argument("--models", default="yolov8n,yolo11n,yolov5nu")
    ap.add_argument("--keep", help="write the files here and keep them")
    ap.add_argument("--no-train", action="store_true", help="skip the real training run")
    args = ap.parse_args()
    os.environ.setdefault("YOLO_OFFLINE", "1")
    import numpy as np
    import torch
    from ultralytics import YOLO
    from ultralytics.utils.torch_utils import strip_optimizer

    tmp = args.keep or tempfile.mkdtemp(prefix="sn_pt_parity_")
    os.makedirs(tmp, exist_ok=True)
    try:
        np.save(os.path.join(tmp, "x.npy"),
                np.random.default_rng(1).random((1, 3, 64, 64), dtype=np.float32))
        for i, zoo in enumerate(args.models.split(",")):
            model = YOLO(zoo + ".yaml").model
            randomise(model, i)
            names = json.dumps(list(model.names.values()), separators=(",", ":"),
                               ensure_ascii=False)
            meta = {"nc": str(model.yaml["nc"]), "names": names, "family": FAMILY[zoo],
                    "scale": zoo[-1] if zoo[-1] in "nslmx" else zoo[-2],
                    "yaml_file": zoo + ".yaml"}
            sd = os.path.join(tmp, zoo + "_sd.pt")
            torch.save(model.state_dict(), sd)
            before = {k: v.clone() for k, v in model.state_dict().items()}
            train = os.path.join(tmp, zoo + "_train.pt")
            torch.save(trainer_checkpoint(model), train)  # steps the model, not its EMA
            best = os.path.join(tmp, zoo + "_best.pt")
            strip_optimizer(train, s=best)
            # the half EMA is the model rounded to f16, bit for bit
            ema_sd, _ = oracle(train)
            check(all(torch.equal(v, before[k].half()) for k, v in ema_sd.items()),
                  "%s: the checkpoint's EMA is not the model in f16" % zoo)
            check_file(args, tmp, sd, zoo, {}, 80)
            check_file(args, tmp, train, zoo, meta, 80)
            check_file(args, tmp, best, zoo, meta, 80)
        if not args.no_train:
            last, best = train_run(tmp)
            meta = {"nc": "3", "names": '["cat","dog","bird"]', "family": "yolov8",
                    "scale": "n", "yaml_file": "yolov8n.yaml"}
            check_file(args, tmp, last, "yolov8n", meta, 3)
            check_file(args, tmp, best, "yolov8n", meta, 3)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("pt_parity: %d check(s) failed" % failures)
        sys.exit(1)
    print("pt_parity: all checks passed")


if __name__ == "__main__":
    main()
