#!/usr/bin/env python3
"""PyTorch CPU inference latency for YOLOv8 / YOLO11 / YOLOv5u: the fastest plain-PyTorch variant.

Model: tests/parity/torch_yolo.py (an independent PyTorch build with Ultralytics' state_dict
names), weights from --weights (a .safetensors, e.g. written by Sinter or by torch_yolo.py;
nc is taken from the file) or deterministic random weights (seed 0).

Every variant: BN folded into conv, float32, torch.inference_mode(),
torch.set_num_threads(--threads). Variants:
  eager       the folded nn.Module, channels_last weights and input
  eager_nchw  the same in the default contiguous (NCHW) format (in some builds, e.g. Debian's
              torch 1.13 without MKL, eager channels_last convs are slower than NCHW)
  jit         channels_last, torch.jit.trace + freeze + optimize_for_inference (oneDNN)
  compile     channels_last, torch.compile (Inductor), only where this torch has it (2.x)
--variant best (default) times each available variant and reports the fastest at top level;
every variant's numbers (or its error) are under "variants". Each variant's output is checked
against the unfused eager float32 model (relative L2, "check_rel_l2") so a broken variant cannot
win.

Timing: --warmup untimed iterations, then --iters timed ones (time.perf_counter around each
forward); median and p90 in ms; images_per_s = batch * 1000 / median_ms.

  python3 bench/torch_cpu.py --model yolov8n --batch 1 --imgsz 640 --threads 2 --iters 50
Prints one JSON object on stdout (progress goes to stderr).
"""

import argparse
import copy
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "parity"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import torch_yolo as ty  # noqa: E402


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def parse_imgsz(s):
    parts = [int(v) for v in str(s).replace("x", ",").split(",")]
    return (parts[0], parts[0]) if len(parts) == 1 else (parts[0], parts[1])


def build(args):
    if args.weights:
        nc = ty.infer_nc(args.weights)
        model = ty.load_weights(ty.DetectionModel(args.model, nc), args.weights)
    else:
        model = ty.random_init(ty.DetectionModel(args.model, args.nc), seed=0)
    return model.float().eval()


def time_fn(fn, x, warmup, iters):
    for _ in range(warmup):
        fn(x)
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn(x)
        ts.append((time.perf_counter() - t0) * 1e3)
    return ts


def stats(ts, batch):
    med = float(np.median(ts))
    return {"median_ms": round(med, 3), "p90_ms": round(float(np.percentile(ts, 90)), 3),
            "min_ms": round(float(np.min(ts)), 3), "images_per_s": round(batch * 1e3 / med, 2)}


def make_variant(name, fused, x):
    if name in ("eager", "eager_nchw"):
        return fused
    if name == "jit":
        with torch.inference_mode(False), torch.no_grad():
            traced = torch.jit.trace(fused, x, check_trace=False)
            frozen = torch.jit.freeze(traced.eval())
            return torch.jit.optimize_for_inference(frozen)
    if name == "compile":
        if not hasattr(torch, "compile"):
            raise RuntimeError(f"torch.compile not available in torch {torch.__version__}")
        return torch.compile(fused)
    raise ValueError(name)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="yolov8n")
    ap.add_argument("--weights", help=".safetensors with Ultralytics state_dict names (default: random)")
    ap.add_argument("--nc", type=int, default=80, help="classes when no --weights")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--imgsz", default="640", help="S or H,W")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--variant", default="best", help="best | eager | jit | compile (comma list ok)")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    h, w = parse_imgsz(args.imgsz)
    model = build(args)
    x = torch.rand(args.batch, 3, h, w, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        ref = model(x)  # unfused, contiguous, float32
    fused = ty.fuse_conv_bn(model).eval()
    n_fused = ty.nparams(fused)

    names = ["eager", "eager_nchw", "jit"] + (["compile"] if hasattr(torch, "compile") else []) \
        if args.variant == "best" else [v.strip() for v in args.variant.split(",")]
    results = {}
    for name in names:
        try:
            fmt = torch.contiguous_format if name == "eager_nchw" else torch.channels_last
            xc = x.contiguous(memory_format=fmt)
            fn = make_variant(name, copy.deepcopy(fused).to(memory_format=fmt).eval(), xc)
            with torch.inference_mode():
                y = fn(xc)
                check = float((y.float() - ref).norm() / ref.norm())
                if not check < 1e-3:
                    raise RuntimeError(f"output differs from the reference: rel L2 {check:.2e}")
                ts = time_fn(fn, xc, args.warmup, args.iters)
            results[name] = {**stats(ts, args.batch), "check_rel_l2": float(f"{check:.3e}")}
            log(f"{name}: {results[name]}")
        except Exception as e:  # report, don't hide: the variant shows up with its error
            results[name] = {"error": f"{type(e).__name__}: {e}"}
            log(f"{name}: FAILED {results[name]['error']}")

    ok = {k: v for k, v in results.items() if "error" not in v}
    out = {"model": args.model, "batch": args.batch, "imgsz": [h, w], "threads": args.threads,
           "iters": args.iters, "warmup": args.warmup, "torch": torch.__version__,
           "params_fused": n_fused, "weights": args.weights or "random(seed=0)"}
    if ok:
        best = min(ok, key=lambda k: ok[k]["median_ms"])
        out.update({"variant": best, **{k: ok[best][k] for k in ("median_ms", "p90_ms", "images_per_s")}})
    out["variants"] = results
    print(json.dumps(out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
