#!/usr/bin/env bash
# Sinter (eager and fused, CPU) beside the fastest PyTorch CPU variant, same model, weights,
# batch, size and threads, in one run. Prints a table and, with --record, appends it to
# bench/RESULTS.md with the date, commit and command.
#   bench/cpu_vs_torch.sh [MODEL] [BATCH] [IMGSZ] [THREADS] [ITERS] [--record]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-yolov8n}; batch=${2:-1}; imgsz=${3:-640}; threads=${4:-$(nproc)}; iters=${5:-30}
record=0; for a in "$@"; do [ "$a" = --record ] && record=1; done
SINTER=${SINTER:-build/sinter}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$SINTER" weights "$model" --output "$tmp/w.safetensors"
"$SINTER" bench "$model" --weights "$tmp/w.safetensors" --batch "$batch" --imgsz "$imgsz" \
  --threads "$threads" --iters "$iters" --json > "$tmp/sinter.json"
/usr/bin/python3 bench/torch_cpu.py --model "$model" --weights "$tmp/w.safetensors" \
  --batch "$batch" --imgsz "$imgsz" --threads "$threads" --iters "$iters" > "$tmp/torch.json"
/usr/bin/python3 - "$tmp/sinter.json" "$tmp/torch.json" "$model" "$batch" "$imgsz" "$threads" "$iters" "$record" <<'PY'
import json, sys, subprocess, datetime
s, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
model, batch, imgsz, threads, iters, record = sys.argv[3:]
rows = [("sinter fused", s["fused"]), ("sinter eager", s["eager"])]
for name, v in sorted(t.get("variants", {}).items()):
    if isinstance(v, dict) and "median_ms" in v:
        rows.append((f"torch {name}", v))
best = t["median_ms"]
fused = s["fused"]["median_ms"]
lines = [f"| variant | median ms | p90 ms | images/s | vs sinter fused |", "|---|---|---|---|---|"]
for name, v in rows:
    lines.append(f"| {name} | {v['median_ms']:.2f} | {v['p90_ms']:.2f} | {v['images_per_s']:.1f} | {v['median_ms'] / fused:.2f}x |")
summary = (f"fused vs eager: {s['speedup']:.2f}x; fused vs fastest torch ({t.get('variant', 'best')}): "
           f"{best / fused:.2f}x; compile cold {s['fused']['compile_cold_s']:.2f} s, warm {s['fused']['compile_warm_s']:.3f} s")
table = "\n".join(lines)
print(table); print(summary)
if record == "1":
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
    with open("bench/RESULTS.md", "a") as f:
        f.write(f"\n### CPU: {model}, batch {batch}, {imgsz}, {threads} threads — {datetime.date.today()}, commit {commit}\n\n")
        f.write(f"Machine: {cpu}, {threads} threads. Command: `bench/cpu_vs_torch.sh {model} {batch} {imgsz} {threads} {iters} --record` "
                f"(sinter bench interleaves eager and fused; torch_cpu.py then times each PyTorch variant: BN folded, inference_mode; "
                f"torch {t.get('torch', '?')}).\n\n{table}\n\n{summary}\n")
PY
