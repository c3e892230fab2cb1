#!/usr/bin/env python3
"""tests/train/train_parity.py — `sinter train-step` against Ultralytics 8.4 itself.

The oracle (tests/parity/train_oracle.py) builds the same model with PyPI's ultralytics, runs
v8DetectionLoss, backward, clipping and Ultralytics' optimizer construction in float64; Sinter
runs the same step from the same weights, images and labels (images without boxes, boxes from
about 4 px to most of the image). Compared, as the training issue asks (TRAIN_ORACLE.md §5):
  - loss items (box, cls, dfl): relative 1e-4;
  - gradients: relative L2 2e-4 over all of them, 2e-3 for the worst single tensor (relative
    to the larger of its norm and 1e-6 of all the gradients' norm: some are exactly zero);
  - BatchNorm running statistics: their change, relative L2 1e-4;
  - the weight update (after - before): SGD relative L2 3e-4; AdamW 1e-2 where |g| is above
    the noise (elsewhere |update| <= lr (1 + wd |p|) + 1e-6, the oracle's suggestion).
With --accumulate K and/or --ema: the iterations that step, the accumulated gradient's norm,
every iteration's loss items, the running statistics and the EMA's change (rel L2 3e-4).
With --steps N (N > 1): the loss items of every step track the oracle's within --traj-tol and
the total decreases from the first step to the last.

usage: train_parity.py --sinter BIN [--models yolov8n,…] [--backend ref] [--eager]
                       [--optimizers SGD,AdamW] [--imgsz 320] [--batch 4] [--steps 1]
Runs with the oracle venv's python (scripts/oracle_venv.sh); exits 77 (skipped) without it.
"""
import argparse, json, os, struct, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ORACLE = os.path.join(ROOT, "tests", "parity", "train_oracle.py")


def venv_python():
    v = os.environ.get("SN_ORACLE_VENV", os.path.join(ROOT, ".venv-oracle"))
    py = os.path.join(v, "bin", "python")
    if not os.path.exists(py):
        print("skipped: no oracle venv at %s (run scripts/oracle_venv.sh)" % v)
        sys.exit(77)
    r = subprocess.run([py, "-c", "import torch, ultralytics, numpy"], capture_output=True)
    if r.returncode != 0:
        print("skipped: the oracle venv cannot import torch/ultralytics: %s" % r.stderr.decode()[-300:])
        sys.exit(77)
    return py


def read_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for k, v in hdr.items():
            if k == "__metadata__":
                continue
            dt = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "F16": np.float16}[v["dtype"]]
            b, e = v["data_offsets"]
            f.seek(base + b)
            out[k] = np.frombuffer(f.read(e - b), dtype=dt).reshape(v["shape"]).astype(np.float64)
        return out


def rel_l2(a, b):
    import numpy as np
    d = float(np.sqrt(sum(float(((a[k] - b[k]) ** 2).sum()) for k in a)))
    n = float(np.sqrt(sum(float((b[k] ** 2).sum()) for k in a)))
    return d / max(n, 1e-30)


def run(cmd, what):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print("FAIL %s: exit %d\n%s%s" % (what, r.returncode, r.stdout[-2000:], r.stderr[-3000:]))
        sys.exit(1)
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sinter", required=True)
    ap.add_argument("--models", default="yolov8n,yolo11n,yolov5nu")
    ap.add_argument("--optimizers", default="SGD,AdamW")
    ap.add_argument("--backend", default="ref")
    ap.add_argument("--eager", action="store_true")
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--traj-tol", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--accumulate", type=int, default=1)
    ap.add_argument("--ema", action="store_true")
    a = ap.parse_args()
    py = venv_python()
    if not os.environ.get("SN_PARITY_REEXEC"):
        os.environ["SN_PARITY_REEXEC"] = "1"  # the venv has numpy whatever python started us
        os.execv(py, [py] + sys.argv)
    import numpy as np
    fails = 0

    def check(ok, msg):
        nonlocal fails
        print(("ok   " if ok else "FAIL ") + msg)
        fails += 0 if ok else 1

    with tempfile.TemporaryDirectory() as T:
        for model in a.models.split(","):
            data = os.path.join(T, model + "-data")
            run([py, ORACLE, "make-data", "--model", model, "--imgsz", str(a.imgsz), "--batch",
                 str(a.batch), "--seed", str(a.seed), "--out", data], "make-data " + model)
            W = os.path.join(data, "weights.safetensors")
            X = os.path.join(data, "images.npy")
            L = os.path.join(data, "labels.txt")
            before = read_safetensors(W)
            for opt in a.optimizers.split(","):
                lr = a.lr if a.lr is not None else (0.01 if opt == "SGD" else 0.001)
                tag = "%s %s lr %g %s%s" % (model, opt, lr, a.backend, " eager" if a.eager else "")
                od = os.path.join(T, "%s-%s-oracle" % (model, opt))
                extra = ["--accumulate", str(a.accumulate)] + (["--ema"] if a.ema else [])
                run([py, ORACLE, "step", "--model", model, "--weights", W, "--images", X,
                     "--labels", L, "--optimizer", opt, "--lr", str(lr), "--steps", str(a.steps),
                     "--float64", "--out", od] + extra, "oracle " + tag)
                sw = os.path.join(T, "%s-%s-w2.safetensors" % (model, opt))
                sg = os.path.join(T, "%s-%s-g.safetensors" % (model, opt))
                cmd = [a.sinter, "train-step", model, "--weights", W, "--images", X, "--labels", L,
                       "--optimizer", opt, "--lr", str(lr), "--steps", str(a.steps),
                       "--backend", a.backend, "--output", sw, "--grads", sg, "--json"]
                if a.eager:
                    cmd.append("--eager")
                se = os.path.join(T, "%s-%s-ema.safetensors" % (model, opt))
                cmd += ["--accumulate", str(a.accumulate)] + (["--ema", se] if a.ema else [])
                sj = json.loads(run(cmd, "sinter " + tag))["steps"]
                oj = json.load(open(os.path.join(od, "steps.json")))["steps"]
                # loss items, step 1
                worst = max(abs(sj[0][k] - oj[0][k]) / max(abs(oj[0][k]), 1e-12) for k in ("box", "cls", "dfl"))
                check(worst <= 1e-4, "%s: step-1 loss items rel %.2e (sinter %.6f %.6f %.6f, torch %.6f %.6f %.6f)" % (
                    tag, worst, sj[0]["box"], sj[0]["cls"], sj[0]["dfl"], oj[0]["box"], oj[0]["cls"], oj[0]["dfl"]))
                if a.accumulate > 1 or a.ema:
                    # which iterations step, the accumulated gradient's norm, every iteration's
                    # loss items, the running statistics and the EMA
                    same = [s["optimizer_step"] for s in sj] == [o["optimizer_step"] for o in oj]
                    check(same, "%s: optimizer steps at %s (torch %s)" % (tag, [s["optimizer_step"] for s in sj], [o["optimizer_step"] for o in oj]))
                    gn = max(abs(s["grad_norm"] - o["grad_norm"]) / o["grad_norm"]
                             for s, o in zip(sj, oj) if o["optimizer_step"])
                    check(gn <= 1e-4, "%s: accumulated gradient norm rel %.2e" % (tag, gn))
                    items = max(abs(s[k] - o[k]) / max(abs(o[k]), 1e-12)
                                for s, o in zip(sj, oj) for k in ("box", "cls", "dfl"))
                    check(items <= 1e-4, "%s: loss items of every iteration rel %.2e" % (tag, items))
                    wo = read_safetensors(os.path.join(od, "weights_f64.safetensors"))
                    ws = read_safetensors(sw)
                    rk = [k for k in ws if k.endswith("running_mean") or k.endswith("running_var")]
                    d = rel_l2({k: ws[k] - before[k] for k in rk}, {k: wo[k] - before[k] for k in rk})
                    check(d <= 1e-4, "%s: running statistics' change rel L2 %.2e" % (tag, d))
                    if a.ema:
                        eo = read_safetensors(os.path.join(od, "ema_f64.safetensors"))
                        es = read_safetensors(se)
                        ek = [k for k in es if not k.endswith("num_batches_tracked")]
                        check(set(ek) == set(k for k in eo if not k.endswith("num_batches_tracked")),
                              "%s: the EMA holds the same %d tensors" % (tag, len(ek)))
                        d = rel_l2({k: es[k] - before[k] for k in ek}, {k: eo[k] - before[k] for k in ek})
                        check(d <= 3e-4, "%s: EMA change rel L2 %.2e" % (tag, d))
                    continue
                if a.steps > 1:
                    traj = max(abs(s[k] - o[k]) / max(abs(o[k]), 1e-12)
                               for s, o in zip(sj, oj) for k in ("box", "cls", "dfl"))
                    check(traj <= a.traj_tol, "%s: %d-step trajectory worst rel %.2e" % (tag, a.steps, traj))
                    tot = [s["box"] + s["cls"] + s["dfl"] for s in sj]
                    check(tot[-1] < tot[0], "%s: loss %.5f -> %.5f over %d steps" % (tag, tot[0], tot[-1], a.steps))
                    continue
                # gradients (step 1, before clipping)
                go = read_safetensors(os.path.join(od, "grads1_f64.safetensors")
                                      if os.path.exists(os.path.join(od, "grads1_f64.safetensors"))
                                      else os.path.join(od, "grads1.safetensors"))
                gs = read_safetensors(sg)
                check(set(gs) == set(go), "%s: the same %d gradient tensors (sinter %d)" % (tag, len(go), len(gs)))
                common = {k: gs[k] for k in gs if k in go}
                g_all = rel_l2(common, go)
                # per tensor, relative to its own norm — or to 1e-6 of all the gradients' norm for a
                # tensor whose true gradient is zero (a bias feeding a training-mode BatchNorm
                # through a 1x1 conv: torch's f64 gives ~1e-16, f32 ~1e-8, both "zero")
                gnorm = float(np.sqrt(sum(float((go[k] ** 2).sum()) for k in common)))
                per = sorted(((float(np.sqrt(((gs[k] - go[k]) ** 2).sum())) /
                               max(float(np.sqrt((go[k] ** 2).sum())), 1e-6 * gnorm), k)
                              for k in common), reverse=True)
                check(g_all <= 2e-4, "%s: gradients rel L2 %.2e over all" % (tag, g_all))
                check(per[0][0] <= 2e-3, "%s: worst tensor %s rel L2 %.2e" % (tag, per[0][1], per[0][0]))
                # running statistics and weight update
                wo = read_safetensors(os.path.join(od, "weights_f64.safetensors")
                                      if os.path.exists(os.path.join(od, "weights_f64.safetensors"))
                                      else os.path.join(od, "weights.safetensors"))
                ws = read_safetensors(sw)
                run_keys = [k for k in ws if k.endswith("running_mean") or k.endswith("running_var")]
                dstat = rel_l2({k: ws[k] - before[k] for k in run_keys}, {k: wo[k] - before[k] for k in run_keys})
                check(dstat <= 1e-4, "%s: running statistics' change rel L2 %.2e (%d tensors)" % (tag, dstat, len(run_keys)))
                wkeys = [k for k in go]
                if opt == "SGD":
                    du = rel_l2({k: ws[k] - before[k] for k in wkeys}, {k: wo[k] - before[k] for k in wkeys})
                    check(du <= 3e-4, "%s: weight update rel L2 %.2e" % (tag, du))
                else:
                    big = {}, {}
                    bad = 0
                    for k in wkeys:
                        g = go[k]
                        m = np.abs(g) > 1e-6 * max(float(np.abs(g).max()), 1e-30) + 1e-9
                        big[0][k] = (ws[k] - before[k])[m]
                        big[1][k] = (wo[k] - before[k])[m]
                        small = np.abs(ws[k] - before[k])[~m]
                        bad += int((small > lr * (1 + 0.0005 * np.abs(before[k][~m])) + 1e-6).sum())
                    du = rel_l2(big[0], big[1])
                    check(du <= 1e-2 and bad == 0, "%s: AdamW update rel L2 %.2e where |g| is above noise, %d noise-level elements beyond lr" % (tag, du, bad))
    print("train_parity: %d failed" % fails)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
