#!/usr/bin/env bash
# One Ultralytics training step (forward in train mode, v8DetectionLoss, backward, clip to norm
# 10, SGD with Ultralytics' parameter groups) on the CPU: `sinter train-step` fused and eager
# beside PyTorch eager (channels_last) and torch.compile of the model (bench/torch_train.py),
# same weights, images and labels (tests/parity/train_oracle.py make-data), same threads.
# Per process: the median step after the first; the first step (compilation included) is
# reported apart, Sinter's cold (empty kernel cache) and warm. Interleaved rounds, medians,
# autogroup nice -20, peak RSS of each process. Needs the oracle venv.
#   bench/train_vs_torch.sh [MODEL] [BATCH] [STEPS] [ROUNDS] [THREADS] [IMGSZ…] [--record]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-yolov8n}; batch=${2:-8}; steps=${3:-4}; rounds=${4:-2}; threads=${5:-$(nproc)}
shift $(($# < 5 ? $# : 5)) || true
sizes=(); record=0
for a in "$@"; do if [ "$a" = --record ]; then record=1; else sizes+=("$a"); fi; done
[ ${#sizes[@]} -gt 0 ] || sizes=(320 640)
SINTER=${SINTER:-build/sinter}
PY=${SN_ORACLE_VENV:-.venv-oracle}/bin/python
[ -x "$PY" ] || { echo "no oracle venv (scripts/oracle_venv.sh)" >&2; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
old=$(sed -n 's/.*nice \(-\?[0-9]*\).*/\1/p' /proc/self/autogroup 2>/dev/null || true)
: > "$T/rows"
for sz in "${sizes[@]}"; do
  d="$T/d$sz"
  "$PY" tests/parity/train_oracle.py make-data --model "$model" --imgsz "$sz" --batch "$batch" \
    --seed 0 --out "$d" >/dev/null
  common=(--weights "$d/weights.safetensors" --images "$d/images.npy" --labels "$d/labels.txt")
  echo -20 > /proc/self/autogroup 2>/dev/null || true
  # cold: an empty kernel cache (the first step compiles every kernel)
  SINTER_CACHE_DIR="$T/cache$sz" "$SINTER" train-step "$model" "${common[@]}" --output "$T/w.st" \
    --steps 1 --threads "$threads" --json > "$T/cold$sz.json"
  for r in $(seq "$rounds"); do
    SINTER_CACHE_DIR="$T/cache$sz" "$SINTER" train-step "$model" "${common[@]}" --output "$T/w.st" \
      --steps "$steps" --threads "$threads" --json > "$T/sf$sz.$r.json"
    SINTER_CACHE_DIR="$T/cache$sz" "$SINTER" train-step "$model" "${common[@]}" --output "$T/w.st" \
      --steps "$steps" --threads "$threads" --eager --json > "$T/se$sz.$r.json"
    for v in eager compile; do
      "$PY" bench/torch_train.py --model "$model" "${common[@]}" --variant $v --threads "$threads" \
        --steps "$steps" > "$T/t$v$sz.$r.json" 2>"$T/t$v$sz.$r.log"
    done
  done
  echo "${old:-0}" > /proc/self/autogroup 2>/dev/null || true
  echo "$sz" >> "$T/rows"
done
python3 - "$T" "$model" "$batch" "$steps" "$rounds" "$threads" "$record" <<'PY'
import sys, json, statistics, subprocess, datetime
T, model, batch, steps, rounds, threads, record = sys.argv[1:8]
med = statistics.median
def sinter(path):
    d = json.load(open(path)); ms = [s["ms"] for s in d["steps"]]
    return med(ms[1:] if len(ms) > 1 else ms), ms[0], d["peak_rss_mb"]
def torch_(path):
    d = json.load(open(path)); return d["median_ms"], d["first_ms"], d["peak_rss_mb"]
out = []
for sz in [l.strip() for l in open(T + "/rows")]:
    R = range(1, int(rounds) + 1)
    sf = [sinter(f"{T}/sf{sz}.{r}.json") for r in R]; se = [sinter(f"{T}/se{sz}.{r}.json") for r in R]
    te = [torch_(f"{T}/teager{sz}.{r}.json") for r in R]; tc = [torch_(f"{T}/tcompile{sz}.{r}.json") for r in R]
    cold = json.load(open(f"{T}/cold{sz}.json"))["steps"][0]["ms"]
    m = {k: med(x[0] for x in v) for k, v in (("sf", sf), ("se", se), ("te", te), ("tc", tc))}
    first = {k: med(x[1] for x in v) for k, v in (("sf", sf), ("se", se), ("te", te), ("tc", tc))}
    rss = {k: max(x[2] for x in v) for k, v in (("sf", sf), ("se", se), ("te", te), ("tc", tc))}
    out.append(f"**{model} {sz}x{sz}, batch {batch}** (median step of {int(steps) - 1} after the first, median of {rounds} rounds)\n\n"
               "| | step ms | vs PyTorch eager | vs torch.compile | first step ms | peak RSS MB |\n|---|---|---|---|---|---|\n"
               f"| Sinter fused (cpu) | {m['sf']:.0f} | {m['te'] / m['sf']:.2f}x | {m['tc'] / m['sf']:.2f}x | {first['sf']:.0f} warm cache, {cold:.0f} cold | {rss['sf']:.0f} |\n"
               f"| Sinter eager (cpu) | {m['se']:.0f} | {m['te'] / m['se']:.2f}x | {m['tc'] / m['se']:.2f}x | {first['se']:.0f} | {rss['se']:.0f} |\n"
               f"| PyTorch eager (channels_last) | {m['te']:.0f} | 1.00x | | {first['te']:.0f} | {rss['te']:.0f} |\n"
               f"| torch.compile (Inductor) | {m['tc']:.0f} | {m['te'] / m['tc']:.2f}x | 1.00x | {first['tc']:.0f} (compiles) | {rss['tc']:.0f} |\n")
table = "\n".join(out)
print(table)
if record == "1":
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    torchv = json.load(open(f"{T}/teager{[l.strip() for l in open(T + '/rows')][0]}.1.json"))["torch"]
    with open("bench/RESULTS.md", "a") as f:
        f.write(f"\n## training step vs PyTorch — {datetime.date.today()}, commit {commit}\n\n"
                f"Machine: {cpu}, {threads} threads; torch {torchv}. Command: `bench/train_vs_torch.sh {model} {batch} {steps} {rounds} {threads} --record` "
                f"(forward in train mode + v8DetectionLoss + backward + clip 10 + SGD, Ultralytics 8.4's groups; same data from "
                f"train_oracle.py make-data; whole step wall time inside each process; interleaved, autogroup -20).\n\n{table}\n")
PY
