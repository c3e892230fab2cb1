#!/usr/bin/env python3
"""Runs `sinter compile … --json` and checks what it reports: every kernel compiled (hits +
misses = distinct kernels, no error), and with --max-ratio R that kernels < R * ir_ops."""
import json, subprocess, sys

args = sys.argv[1:]
ratio = None
if args and args[0] == "--max-ratio":
    ratio, args = float(args[1]), args[2:]
p = subprocess.run(args, capture_output=True, text=True)
if p.returncode != 0:
    print(p.stderr[-4000:]); sys.exit(1)
j = json.loads(p.stdout)
print(f"{j['model']} {j['backend']} sm_{j['arch']} {j['dtype']}: {j['kernels']} kernels "
      f"({j['unique_kernels']} distinct) from {j['ir_ops']} IR ops; cache {j['cache']}; "
      f"{j['compile_s']:.2f} s")
ok = j["kernels"] > 0 and j["cache"]["hits"] + j["cache"]["misses"] == j["unique_kernels"]
if ratio is not None and not j["kernels"] < ratio * j["ir_ops"]:
    print(f"kernels {j['kernels']} not < {ratio} x ir_ops {j['ir_ops']}"); ok = False
sys.exit(0 if ok else 1)
