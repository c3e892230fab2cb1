#!/usr/bin/env bash
# Sinter on CUDA beside PyTorch on the same GPU: same model, weights, sizes. PyTorch: eager
# (channels_last, autocast f16; and .half()) and torch.compile(mode="max-autotune"). Prints
# one table; with --record appends it to bench/RESULTS.md with the date, commit and command.
#   bench/gpu_vs_torch.sh [MODEL] [IMGSZ] [DTYPE] [--record]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-yolov8n}; imgsz=${2:-640}; dtype=${3:-f16}
record=0; for a in "$@"; do [ "$a" = --record ] && record=1; done
SINTER=${SINTER:-build/sinter}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$SINTER" weights "$model" --output "$tmp/w.safetensors"
for b in 1 32; do
  "$SINTER" bench "$model" --backend cuda --dtype "$dtype" --weights "$tmp/w.safetensors" \
    --batch "$b" --imgsz "$imgsz" --iters 200 --json > "$tmp/sinter_b$b.json"
done
export SINTER_CACHE_DIR="$tmp/cache"
"$SINTER" compile "$model" --backend cuda --dtype "$dtype" --json > "$tmp/cold.json"
"$SINTER" compile "$model" --backend cuda --dtype "$dtype" --json > "$tmp/warm.json"
python3 bench/torch_gpu.py --model "$model" --weights "$tmp/w.safetensors" --batches 1,32 \
  --imgsz "$imgsz" > "$tmp/torch.json"
python3 - "$tmp" "$model" "$imgsz" "$dtype" "$record" <<'PY'
import json, sys, subprocess, datetime
tmp, model, imgsz, dtype, record = sys.argv[1:]
t = json.load(open(f"{tmp}/torch.json"))
cold, warm = json.load(open(f"{tmp}/cold.json")), json.load(open(f"{tmp}/warm.json"))
lines = ["| batch | variant | median ms | p90 ms | images/s |", "|---|---|---|---|---|"]
summary = []
for b in (1, 32):
    s = json.load(open(f"{tmp}/sinter_b{b}.json"))
    rows = [(f"sinter fused {dtype}", s["fused"]), (f"sinter eager {dtype}", s["eager"])]
    rows += [(f"torch {r['variant']}", r) for r in t["results"] if r["batch"] == b and "median_ms" in r]
    for name, v in rows:
        lines.append(f"| {b} | {name} | {v['median_ms']:.3f} | {v['p90_ms']:.3f} | {v['images_per_s']:.1f} |")
    tv = {r["variant"]: r for r in t["results"] if r["batch"] == b and "median_ms" in r}
    f = s["fused"]["images_per_s"]
    for ref in ("compile", "eager_autocast"):
        if ref in tv:
            summary.append(f"batch {b}: sinter fused / torch {ref} throughput = {f / tv[ref]['images_per_s']:.2f}x")
summary.append(f"compile cold {cold['compile_s']:.2f} s ({cold['cache']}), warm {warm['compile_s']:.3f} s ({warm['cache']})")
table = "\n".join(lines)
print(table); print("\n".join(summary))
if record == "1":
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    with open("bench/RESULTS.md", "a") as fh:
        fh.write(f"\n### GPU: {model}, {imgsz}, {dtype} — {datetime.date.today()}, commit {commit}\n\n"
                 f"Device: {t.get('device')}, torch {t.get('torch')}. Command: `bench/gpu_vs_torch.sh {model} {imgsz} {dtype} --record`.\n\n"
                 f"{table}\n\n" + "\n".join(f"- {x}" for x in summary) + "\n")
PY
