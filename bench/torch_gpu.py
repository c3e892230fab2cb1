#!/usr/bin/env python3
"""PyTorch CUDA inference latency for YOLOv8 / YOLO11 / YOLOv5u, for comparison with Sinter.

Model: tests/parity/torch_yolo.py (an independent PyTorch build with Ultralytics' state_dict
names); weights from --weights (.safetensors, nc taken from the file) or random (seed 0).
BN is folded into conv for every variant; weights and inputs are channels_last.

Variants (each at every --batches size):
  eager_autocast  the folded float32 model under torch.autocast(float16)
  eager_half      the folded model converted with .half(), float16 input (what Ultralytics
                  does for half inference; no per-call weight casts)
  compile         torch.compile(eager_half model, mode="max-autotune", dynamic=False) (Inductor + Triton
                  autotuning + CUDA graphs); only where this torch has torch.compile. Its compile
                  time is reported separately (compile_s) and is not part of the latency.

Timing is one request at a time, as a user sees it: per iteration a CUDA event is recorded
before the call and after it, then we wait for the end event; latency = elapsed_time between
the events (includes launch overhead, excludes Python's wait). --warmup untimed iterations
first (cudnn.benchmark autotuning and compilation happen there). Reported: median_ms, p90_ms,
images_per_s = batch * 1000 / median_ms.

Every variant's output is compared with the unfused float32 model (TF32 off) on the same input:
check_rel_l2 (relative L2 over the whole output; boxes dominate) and check_cls_rel_l2 (class
rows only). A variant whose output is non-finite or has check_rel_l2 > 5e-2 is reported as an
error instead of a time.

  python3 bench/torch_gpu.py --model yolov8n --batches 1,32 --imgsz 640
Prints one JSON object on stdout (progress on stderr). Exits 77 when no CUDA device is present.
--device cpu exists only to smoke-test this script without a GPU (perf_counter timing,
bfloat16 autocast); its numbers mean nothing.
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


def rel_l2(a, b):
    a, b = a.double(), b.double()
    return float((a - b).norm() / b.norm())


class Timer:
    """CUDA events on a GPU (synchronising on the end event each iteration); perf_counter on CPU."""

    def __init__(self, device):
        self.cuda = device.type == "cuda"

    def time(self, fn, x, iters):
        ts = []
        for _ in range(iters):
            if self.cuda:
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                start.record()
                fn(x)
                end.record()
                end.synchronize()
                ts.append(start.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                fn(x)
                ts.append((time.perf_counter() - t0) * 1e3)
        return ts


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="yolov8n")
    ap.add_argument("--weights", help=".safetensors with Ultralytics state_dict names (default: random)")
    ap.add_argument("--nc", type=int, default=80, help="classes when no --weights")
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--imgsz", default="640", help="S or H,W")
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--variants", default="eager_autocast,eager_half,compile")
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args(argv)

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"error": "no CUDA device", "torch": torch.__version__}))
        return 77
    h, w = parse_imgsz(args.imgsz)
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    amp_dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    half_dtype = torch.float16

    if args.weights:
        model = ty.load_weights(ty.DetectionModel(args.model, ty.infer_nc(args.weights)), args.weights)
    else:
        model = ty.random_init(ty.DetectionModel(args.model, args.nc), seed=0)
    model = model.float().eval().to(device)
    fused32 = ty.fuse_conv_bn(copy.deepcopy(model)).to(memory_format=torch.channels_last).eval()
    fused16 = copy.deepcopy(fused32).to(dtype=half_dtype).eval()

    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    timer = Timer(device)
    results, compiled = [], {}

    for b in batches:
        x32 = torch.rand(b, 3, h, w, generator=torch.Generator().manual_seed(b)).to(device)
        # float32 reference, TF32 off
        tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        with torch.inference_mode():
            ref = model(x32).float().clone()
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
        x32 = x32.contiguous(memory_format=torch.channels_last)
        x16 = x32.to(half_dtype)

        for v in variants:
            row = {"batch": b, "variant": v}
            try:
                if v == "eager_autocast":
                    def fn(x, m=fused32):
                        with torch.autocast(device.type, dtype=amp_dtype):
                            return m(x)
                    x = x32
                elif v == "eager_half":
                    fn, x = fused16, x16
                elif v == "compile":
                    if not hasattr(torch, "compile"):
                        raise RuntimeError(f"torch.compile not available in torch {torch.__version__}")
                    if "m" not in compiled:
                        compiled["m"] = torch.compile(fused16, mode="max-autotune", dynamic=False)
                    fn, x = compiled["m"], x16
                    t0 = time.perf_counter()
                    with torch.inference_mode():
                        fn(x)  # compiles (and autotunes) for this shape
                    sync(device)
                    row["compile_s"] = round(time.perf_counter() - t0, 1)
                else:
                    raise ValueError(f"unknown variant {v}")
                with torch.inference_mode():
                    y = fn(x).float().clone()  # clone: CUDA-graph outputs are reused buffers
                    sync(device)
                    if not bool(torch.isfinite(y).all()):
                        raise RuntimeError("non-finite output")
                    row["check_rel_l2"] = float(f"{rel_l2(y, ref):.3e}")
                    row["check_cls_rel_l2"] = float(f"{rel_l2(y[:, 4:], ref[:, 4:]):.3e}")
                    if row["check_rel_l2"] > 5e-2:
                        raise RuntimeError(f"output differs from the float32 reference: rel L2 {row['check_rel_l2']}")
                    for _ in range(args.warmup):
                        fn(x)
                    sync(device)
                    ts = timer.time(fn, x, args.iters)
                med = float(np.median(ts))
                row.update({"median_ms": round(med, 4), "p90_ms": round(float(np.percentile(ts, 90)), 4),
                            "min_ms": round(float(np.min(ts)), 4), "images_per_s": round(b * 1e3 / med, 1)})
            except Exception as e:  # reported, not hidden
                row["error"] = f"{type(e).__name__}: {str(e)[:500]}"
            log(json.dumps(row))
            results.append(row)

    best = {}
    for b in batches:
        ok = [r for r in results if r["batch"] == b and "median_ms" in r]
        if ok:
            r = min(ok, key=lambda r: r["median_ms"])
            best[str(b)] = {k: r[k] for k in ("variant", "median_ms", "p90_ms", "images_per_s")}
    out = {"model": args.model, "imgsz": [h, w], "iters": args.iters, "warmup": args.warmup,
           "torch": torch.__version__,
           "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu (smoke test only)",
           "weights": args.weights or "random(seed=0)", "best": best, "results": results}
    print(json.dumps(out))
    return 0 if best else 1


if __name__ == "__main__":
    sys.exit(main())
