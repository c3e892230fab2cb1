#!/usr/bin/env bash
# The main job: install what is missing, build, compile yolov8n and print eager vs fused on
# the best backend present (cuda when a GPU is there, else the CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
./build/sinter info yolov8n
./build/sinter compile yolov8n
./build/sinter bench yolov8n --iters 20
