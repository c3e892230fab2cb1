#!/usr/bin/env bash
# `sinter detect` beside Ultralytics' `predict` on the same folder of 640x480 JPEGs, same
# checkpoint (yolov8n built from its yaml by ultralytics, Ultralytics' own initialisation, saved
# as a .pt), same imgsz, conf, threads, both writing annotated images: end-to-end wall time of
# each process (decode + letterbox + inference + NMS + drawing + writing, and start-up: torch
# import for Ultralytics, the kernel cache for Sinter), interleaved rounds, medians; and each
# tool's own per-image Speed line. Timed at autogroup nice -20. Needs the oracle venv.
#   bench/detect_vs_ultralytics.sh [N_IMAGES] [ROUNDS] [THREADS] [--record]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-32}; rounds=${2:-3}; threads=${3:-$(nproc)}
record=0; for a in "$@"; do [ "$a" = --record ] && record=1; done
SINTER=${SINTER:-build/sinter}
PY=${SN_ORACLE_VENV:-.venv-oracle}/bin/python
[ -x "$PY" ] || { echo "no oracle venv (scripts/oracle_venv.sh)" >&2; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
"$PY" - "$T" "$n" <<'PY'
import sys, numpy as np, cv2, torch
from ultralytics import YOLO
d, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
import os; os.makedirs(d + "/img")
for i in range(n):
    im = (rng.uniform(0, 255, (480, 640, 3)) * 0.3 + 90).astype(np.uint8)
    for _ in range(6):
        x, y = int(rng.integers(0, 560)), int(rng.integers(0, 400))
        cv2.rectangle(im, (x, y), (x + int(rng.integers(20, 200)), y + int(rng.integers(20, 200))),
                      tuple(int(c) for c in rng.integers(0, 255, 3)), -1)
    cv2.imwrite(f"{d}/img/{i:03d}.jpg", im)
m = YOLO("yolov8n.yaml")
torch.save({"model": m.model.half(), "ema": None, "train_args": {}}, f"{d}/y8.pt")
PY
cat > "$T/ul.py" <<'PY'
import sys, torch
torch.set_num_threads(int(sys.argv[3]))
from ultralytics import YOLO
YOLO(sys.argv[1]).predict(sys.argv[2], imgsz=640, conf=0.25, save=True, project=sys.argv[4], name="u", device="cpu")
PY
"$SINTER" detect "$T/y8.pt" --source "$T/img" --threads "$threads" --project "$T/warm" >/dev/null 2>&1  # warm the kernel cache
old=$(cat /proc/self/autogroup 2>/dev/null | sed -n 's/.*nice \(-\?[0-9]*\).*/\1/p'); echo -20 > /proc/self/autogroup 2>/dev/null || true
: > "$T/times"
for r in $(seq "$rounds"); do
  s0=$(date +%s.%N); "$SINTER" detect "$T/y8.pt" --source "$T/img" --threads "$threads" --project "$T/s$r" 2>"$T/s$r.log" >/dev/null; s1=$(date +%s.%N)
  "$PY" "$T/ul.py" "$T/y8.pt" "$T/img" "$threads" "$T/u$r" >"$T/u$r.log" 2>&1; u1=$(date +%s.%N)
  echo "$(echo "$s1 - $s0" | bc) $(echo "$u1 - $s1" | bc)" >> "$T/times"
done
echo "${old:-0}" > /proc/self/autogroup 2>/dev/null || true
python3 - "$T" "$n" "$rounds" "$threads" "$record" <<'PY'
import sys, statistics, subprocess, datetime, re
T, n, rounds, threads, record = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
rows = [tuple(map(float, l.split())) for l in open(T + "/times")]
s = statistics.median(r[0] for r in rows); u = statistics.median(r[1] for r in rows)
sl = [l for l in open(T + "/s1.log") if l.startswith("Speed")][-1].strip()
ul = [l for l in open(T + "/u1.log") if "Speed" in l][-1].strip()
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
table = (f"| | wall, {n} images (median of {rounds}) | images/s end to end |\n|---|---|---|\n"
         f"| sinter detect (cpu) | {s:.2f} s | {n / s:.1f} |\n| Ultralytics predict (torch cpu) | {u:.2f} s | {n / u:.1f} |\n\n"
         f"Ultralytics / Sinter wall: {u / s:.2f}x. Per-image lines: Sinter `{sl}`; Ultralytics `{ul}`.")
print(table)
if record == "1":
    with open("bench/RESULTS.md", "a") as f:
        f.write(f"\n## detect vs Ultralytics predict — {datetime.date.today()}, commit {commit}\n\n"
                f"Machine: {cpu}, {threads} threads. Command: `bench/detect_vs_ultralytics.sh {n} {rounds} {threads} --record` "
                f"({n} synthetic 640x480 JPEGs, yolov8n from its yaml with Ultralytics' initialisation saved as .pt, imgsz 640, "
                f"conf 0.25, both writing annotated images; whole processes, start-up included, interleaved, autogroup -20).\n\n{table}\n")
PY
