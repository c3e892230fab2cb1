#!/usr/bin/env python3
"""Output parity: Sinter vs an independent PyTorch build of the same model and weights.

For each case: build the model in PyTorch (torch_yolo.py) with deterministic random weights,
write the weights (.safetensors) and a random input in [0,1) (.npy) to a temp dir, run PyTorch
(in float64 by default, so the reference carries no float32 rounding of its own), run

    sinter run MODEL --weights W.safetensors --input X.npy --output Y.npy --backend BACKEND

and compare. Pass: same shape, all finite, relative L2 error ||y - ref|| / ||ref|| over the whole
output <= --tol (1e-5), and over the class-score rows alone <= --cls-tol (1e-4; the box rows are
pixel coordinates and dominate the whole-output norm, so a class-score bug would hide there).

Exit: 0 all pass, 1 any failure, 77 torch or numpy not importable (ctest: skipped).

  run_parity.py --sinter build/cli/sinter [--backend ref] [--models yolov8n,yolo11n,yolov5nu]
                [--quick] [--tol 1e-5] [--keep DIR]
"""

import argparse
import os
import shutil
import json
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import numpy as np
    import torch
except ImportError as e:
    print(f"SKIP: cannot import torch/numpy ({e})")
    sys.exit(77)

import torch_yolo as ty  # noqa: E402

DEFAULT_MODELS = "yolov8n,yolo11n,yolov5nu"
FULL_SHAPES = [(1, 640, 640), (2, 384, 640)]  # (batch, H, W): square b1; non-square b2
QUICK_SHAPES = [(2, 192, 320)]


def rel_l2(a, b):
    nb = float(np.linalg.norm(b))
    return float(np.linalg.norm(a - b)) / (nb if nb > 0 else 1.0)


def tail(text, n=2000):
    text = text.decode(errors="replace") if isinstance(text, bytes) else (text or "")
    return text[-n:]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sinter", required=True, help="path to the sinter binary")
    ap.add_argument("--backend", default="ref", help="passed to `sinter run --backend` (default ref)")
    ap.add_argument("--models", default=DEFAULT_MODELS, help=f"comma list (default {DEFAULT_MODELS})")
    ap.add_argument("--quick", action="store_true", help="one small case per model: 2x3x192x320")
    ap.add_argument("--shapes", help="override cases: 'B,H,W;B,H,W'")
    ap.add_argument("--nc", type=int, default=80)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-5, help="max relative L2 error, whole output")
    ap.add_argument("--cls-tol", type=float, default=1e-4, help="max relative L2 error, class rows")
    ap.add_argument("--torch-dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (the machine is shared)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per sinter run")
    ap.add_argument("--keep", help="keep the case files in this directory")
    ap.add_argument("--sinter-arg", action="append", default=[], help="extra argument for sinter run")
    args = ap.parse_args(argv)

    sinter = os.path.abspath(args.sinter)
    if not (os.path.isfile(sinter) and os.access(sinter, os.X_OK)):
        print(f"FAIL: sinter binary not found or not executable: {sinter}")
        return 1
    if args.backend == "cuda":
        # Without a GPU, compile --backend cuda succeeds (compile only) with "device": false:
        # that, and only that, is a skip.
        p = subprocess.run([sinter, "compile", "yolov8n", "--backend", "cuda", "--imgsz", "64",
                            "--json"], capture_output=True, text=True)
        if p.returncode != 0:
            print(f"FAIL: sinter compile --backend cuda: {p.stderr[-2000:]}")
            return 1
        if not json.loads(p.stdout)["device"]:
            print("no GPU: skipped")
            return 77
    torch.set_num_threads(max(1, args.threads))
    tdt = torch.float64 if args.torch_dtype == "float64" else torch.float32
    if args.shapes:
        shapes = [tuple(int(v) for v in s.split(",")) for s in args.shapes.split(";") if s.strip()]
    else:
        shapes = QUICK_SHAPES if args.quick else FULL_SHAPES
    models = [m.strip() for m in args.models.split(",") if m.strip()]

    root = args.keep or tempfile.mkdtemp(prefix="sinter-parity-")
    os.makedirs(root, exist_ok=True)
    print(f"parity: sinter={sinter} backend={args.backend} torch={torch.__version__} ({args.torch_dtype}) "
          f"tol={args.tol:g} cls_tol={args.cls_tol:g} dir={root}")
    results = []
    try:
        for mi, name in enumerate(models):
            t0 = time.time()
            model = ty.random_init(ty.DetectionModel(name, args.nc), seed=args.seed + mi)
            wpath = os.path.join(root, f"{name}.safetensors")
            ty.export_weights(model, wpath)
            model = model.to(tdt).eval()
            print(f"  {name}: {ty.nparams(model):,d} params, {len(model.state_dict())} tensors, "
                  f"weights {os.path.getsize(wpath) / 1e6:.1f} MB ({time.time() - t0:.1f}s)")
            for si, (b, h, w) in enumerate(shapes):
                case = f"{name} {b}x3x{h}x{w}"
                xpath = os.path.join(root, f"{name}_{b}x{h}x{w}_in.npy")
                ypath = os.path.join(root, f"{name}_{b}x{h}x{w}_out.npy")
                rpath = os.path.join(root, f"{name}_{b}x{h}x{w}_ref.npy")
                gen = torch.Generator().manual_seed(1000 * (args.seed + mi) + si + 1)
                x = torch.rand(b, 3, h, w, generator=gen, dtype=torch.float32)
                np.save(xpath, x.numpy())
                t0 = time.time()
                with torch.no_grad():
                    ref = model(x.to(tdt)).double().numpy()
                t_torch = time.time() - t0
                np.save(rpath, ref)
                if os.path.exists(ypath):
                    os.remove(ypath)
                cmd = [sinter, "run", name, "--weights", wpath, "--input", xpath, "--output", ypath,
                       "--backend", args.backend, *args.sinter_arg]
                t0 = time.time()
                try:
                    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=args.timeout)
                    rc, out, err = p.returncode, p.stdout, p.stderr
                except subprocess.TimeoutExpired as te:
                    rc, out, err = "timeout", te.stdout, te.stderr
                t_sinter = time.time() - t0
                fail = None
                if rc != 0:
                    fail = f"sinter exited {rc}"
                elif not os.path.exists(ypath):
                    fail = "sinter wrote no output file"
                else:
                    y = np.load(ypath)
                    if y.shape != ref.shape:
                        fail = f"shape {y.shape}, want {ref.shape}"
                    elif not np.issubdtype(y.dtype, np.floating):
                        fail = f"dtype {y.dtype}, want a float type"
                    elif not np.isfinite(y).all():
                        fail = f"{int((~np.isfinite(y)).sum())} non-finite values"
                if fail is None:
                    y = y.astype(np.float64)
                    e_all = rel_l2(y, ref)
                    e_box = rel_l2(y[:, :4], ref[:, :4])
                    e_cls = rel_l2(y[:, 4:], ref[:, 4:])
                    max_abs = float(np.abs(y - ref).max())
                    ok = e_all <= args.tol and e_cls <= args.cls_tol
                    print(f"{'PASS' if ok else 'FAIL'}  {case:24s} rel_l2={e_all:.3e} (box {e_box:.3e}, "
                          f"cls {e_cls:.3e}) max_abs={max_abs:.3e}  sinter {t_sinter:.1f}s torch {t_torch:.1f}s")
                    if not ok:
                        # where is it worst? (batch, row, anchor) of the largest difference, per part
                        for part, r0, r1 in (("box", 0, 4), ("cls", 4, ref.shape[1])):
                            d = np.abs(y[:, r0:r1] - ref[:, r0:r1])
                            bi, ri, ai = np.unravel_index(int(d.argmax()), d.shape)
                            print(f"      worst {part}: batch {bi} row {r0 + ri} anchor {ai}: "
                                  f"sinter {y[bi, r0 + ri, ai]:.7g} torch {ref[bi, r0 + ri, ai]:.7g}")
                    results.append(ok)
                else:
                    print(f"FAIL  {case:24s} {fail}  ({t_sinter:.1f}s)")
                    print(f"      command: {' '.join(cmd)}")
                    for label, text in (("stdout", out), ("stderr", err)):
                        t = tail(text).strip()
                        if t:
                            print(f"      {label}: " + t.replace("\n", "\n      "))
                    results.append(False)
                sys.stdout.flush()
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    npass = sum(results)
    print(f"parity: {npass}/{len(results)} cases passed (backend {args.backend})")
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
