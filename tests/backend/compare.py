#!/usr/bin/env python3
"""Every compiled path against the ref evaluator, through the `sinter` command.

For each model and shape: random weights (sinter's random:SEED), a random input, then
`sinter run --backend ref` and the same with each backend variant; the relative L2 error of
each variant's output against ref must be within the dtype's tolerance (f32 1e-5, f16/bf16
1e-2). Also the kernel cache contracts: corrupt entries are detected and recompiled, and two
processes compiling into one empty cache directory at once both succeed with correct output.

Exit 0 all passed, 1 a failure, 77 when the asked-for backend is absent (cuda without GPU).
"""
import argparse, os, subprocess, sys, tempfile, shutil, json, glob

try:
    import numpy as np
except ImportError:
    print("numpy missing: skipped"); sys.exit(77)

TOL = {"f32": 1e-5, "f16": 1e-2, "bf16": 1e-2}

def run(cmd, env=None, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stderr[-3000:]}")
    return p

def rel_l2(a, b):
    return float(np.linalg.norm((a.astype(np.float64) - b.astype(np.float64)).ravel()) /
                 max(np.linalg.norm(b.astype(np.float64).ravel()), 1e-30))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sinter", required=True)
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--models", default="yolov8n,yolov8s,yolo11n,yolo11s,yolov5nu")
    ap.add_argument("--shapes", default="1x640x640,1x384x640,2x320x320")
    ap.add_argument("--dtypes", default="f32")
    ap.add_argument("--variants", default="fused,eager")
    ap.add_argument("--cache-tests", action="store_true")
    a = ap.parse_args()
    if a.backend == "cuda":
        # Without a GPU, compile --backend cuda still succeeds (compile only) and says
        # "device": false — that, and only that, is a skip; any failure is a failure.
        p = run([a.sinter, "compile", "yolov8n", "--backend", "cuda", "--imgsz", "64", "--json"], check=False)
        if p.returncode != 0:
            print(p.stderr[-3000:]); sys.exit(1)
        if not json.loads(p.stdout)["device"]:
            print("no GPU: skipped"); sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="sinter-compare-")
    env = dict(os.environ, SINTER_CACHE_DIR=os.path.join(tmp, "cache"))
    rng = np.random.default_rng(1234)
    fails = passes = 0
    try:
        for model in [m for m in a.models.split(",") if m and m != "none"]:
            for shp in a.shapes.split(","):
                b, h, w = (int(v) for v in shp.split("x"))
                x = rng.random((b, 3, h, w), dtype=np.float32)
                xin = os.path.join(tmp, "x.npy"); np.save(xin, x)
                ref = os.path.join(tmp, "ref.npy")
                seed = f"random:{b * 7 + h}"
                run([a.sinter, "run", model, "--weights", seed, "--input", xin, "--output", ref,
                     "--backend", "ref"], env)
                yr = np.load(ref)
                for dt in a.dtypes.split(","):
                    for var in a.variants.split(","):
                        out = os.path.join(tmp, "out.npy")
                        cmd = [a.sinter, "run", model, "--weights", seed, "--input", xin,
                               "--output", out, "--backend", a.backend]
                        if var == "eager": cmd.append("--eager")
                        if dt != "f32": cmd += ["--dtype", dt]
                        try:
                            run(cmd, env)
                            y = np.load(out)
                            err = rel_l2(y, yr) if y.shape == yr.shape else float("inf")
                            ok = np.isfinite(y).all() and err <= TOL[dt]
                        except RuntimeError as e:
                            print(e); err, ok = float("nan"), False
                        print(f"{'ok  ' if ok else 'FAIL'} {model} {shp} {a.backend} {var} {dt}: "
                              f"rel L2 {err:.3e} (tol {TOL[dt]:g})", flush=True)
                        passes += ok; fails += not ok
        if a.cache_tests:
            p, f = cache_tests(a, tmp, rng)
            passes += p; fails += f
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passes} passed, {fails} failed")
    return 1 if fails else 0

def cache_tests(a, tmp, rng):
    """Corrupt/truncated entries are recompiled; concurrent processes share one directory."""
    passes = fails = 0
    x = rng.random((1, 3, 128, 128), dtype=np.float32)
    xin = os.path.join(tmp, "xc.npy"); np.save(xin, x)
    ref = os.path.join(tmp, "refc.npy")
    run([a.sinter, "run", "yolov8n", "--input", xin, "--output", ref, "--backend", "ref"])
    yr = np.load(ref)
    cdir = os.path.join(tmp, "cache2")
    env = dict(os.environ, SINTER_CACHE_DIR=cdir)
    base = [a.sinter, "compile", "yolov8n", "--backend", a.backend, "--imgsz", "128", "--json"]
    j1 = json.loads(run(base, env).stdout)
    j2 = json.loads(run(base, env).stdout)
    ok = j1["cache"]["misses"] > 0 and j2["cache"]["misses"] == 0 and j2["cache"]["hits"] == j1["cache"]["misses"]
    print(f"{'ok  ' if ok else 'FAIL'} cache: cold {j1['cache']}, warm {j2['cache']}")
    passes += ok; fails += not ok
    files = sorted(f for f in glob.glob(os.path.join(cdir, "**", "*"), recursive=True) if os.path.isfile(f))
    # Truncate one half of the entries, flip a byte in the middle of the others.
    for i, f in enumerate(files):
        data = bytearray(open(f, "rb").read())
        if i % 2 == 0:
            data = data[: len(data) // 2]
        else:
            data[len(data) // 2] ^= 0x5A
        open(f, "wb").write(bytes(data))
    out = os.path.join(tmp, "outc.npy")
    p = run([a.sinter, "run", "yolov8n", "--input", xin, "--output", out, "--backend", a.backend], env, check=False)
    j3 = json.loads(run(base, env).stdout)
    ok = p.returncode == 0 and rel_l2(np.load(out), yr) <= 1e-5 and j3["cache"]["misses"] == 0
    print(f"{'ok  ' if ok else 'FAIL'} cache: {len(files)} corrupted entries recompiled, output correct, then all hits {j3['cache']}")
    passes += ok; fails += not ok
    # Two processes into one empty directory at once.
    cdir3 = os.path.join(tmp, "cache3")
    env3 = dict(os.environ, SINTER_CACHE_DIR=cdir3)
    outs = [os.path.join(tmp, f"par{i}.npy") for i in range(2)]
    procs = [subprocess.Popen([a.sinter, "run", "yolov8n", "--input", xin, "--output", o,
                               "--backend", a.backend, "--threads", "1"], env=env3,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for o in outs]
    rcs = [pr.wait() for pr in procs]
    ok = all(r == 0 for r in rcs) and all(rel_l2(np.load(o), yr) <= 1e-5 for o in outs)
    print(f"{'ok  ' if ok else 'FAIL'} cache: two concurrent processes, exits {rcs}")
    passes += ok; fails += not ok
    return passes, fails

if __name__ == "__main__":
    sys.exit(main())
