#!/usr/bin/env python3
"""bench/torch_train.py — one Ultralytics 8.4 training step in PyTorch, timed: forward in train
mode, v8DetectionLoss, backward, clip_grad_norm_(10), SGD (Ultralytics' parameter groups,
Nesterov) — the step `sinter train-step` runs. Variants: eager (channels_last) and
torch.compile of the model (Inductor; the loss stays eager as in Ultralytics). Same weights,
images and labels as Sinter's (files from tests/parity/train_oracle.py make-data).

usage: torch_train.py --model yolov8n --weights W --images X.npy --labels L.txt
                      --variant eager|compile [--threads 2] [--steps 6] [--lr 0.01]
Prints JSON: per-step ms (the first, which includes compilation, listed apart), the median of
the others, compile seconds, peak RSS. Runs with the oracle venv (scripts/oracle_venv.sh).
"""
import argparse, json, os, resource, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "parity"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="yolov8n")
    ap.add_argument("--weights", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--variant", choices=["eager", "compile"], default="eager")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--lr", type=float, default=0.01)
    a = ap.parse_args()
    import numpy as np
    import torch
    import train_oracle as O  # the oracle's model building, weights, labels and optimizer
    torch.set_num_threads(a.threads)
    from ultralytics.cfg import DEFAULT_CFG, get_cfg
    model = O.build_model(a.model)
    O.load_weights(model, a.weights)
    model.args = get_cfg(DEFAULT_CFG)  # box 7.5, cls 0.5, dfl 1.5, as the trainer sets them
    O.freeze(model)
    O.model_train(model)
    images = np.load(a.images)
    labels = O.read_labels(a.labels, images.shape[0])
    batch = O.make_batch(images, labels, torch.float32)
    opt = O.build_optimizer(model, "SGD", a.lr, 0.937, 0.0005)
    crit = model.criterion = model.init_criterion()
    if a.variant == "eager":
        model = model.to(memory_format=torch.channels_last)
        batch["img"] = batch["img"].contiguous(memory_format=torch.channels_last)
        fwd = model
    else:
        fwd = torch.compile(model)
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        preds = fwd(batch["img"])
        loss, _items = crit(preds, batch)
        loss.sum().backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=10.0)
        opt.step()
        times.append((time.perf_counter() - t0) * 1e3)
    rest = sorted(times[1:])
    print(json.dumps({"variant": a.variant, "torch": torch.__version__, "first_ms": times[0],
                      "median_ms": rest[len(rest) // 2] if rest else times[0], "steps_ms": times,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


if __name__ == "__main__":
    main()
