#!/usr/bin/env python3
"""Regenerates the .pt fixtures test_tio_pt reads (the files are committed: the test never
needs Python). Run with the oracle venv (torch + ultralytics 8.4, scripts/oracle_venv.sh):
    .venv-oracle/bin/python tests/tensorio/pt/gen_pt.py

Real files, as torch and Ultralytics write them:
  tiny_train.pt     a trainer checkpoint made as ultralytics' BaseTrainer.save_model makes one
                    (model None, ema = a half deepcopy of ModelEMA's model with its args
                    namespace, an SGD state_dict in fp16, train_args, metrics, date, git …) of a
                    tiny DetectionModel (Conv, C2f, Detect with reg_max 2; nc 2, names
                    {0: 'cat', 1: 'dög'}); every float tensor at state_dict position P holds
                    value[i] = ((13 i + 7 P) % 61 - 30) / 8 (exact in f16)
  tiny_train.txt    its state_dict names and shapes in order (num_batches_tracked left out)
  tiny_stripped.pt  tiny_train.pt through ultralytics.utils.torch_utils.strip_optimizer (model
                    = the half EMA, ema None: what a released best.pt looks like)
  state_dict.pt     torch.save(sd): nn.Linear(2, 2)'s state_dict (weight [[1,2],[3,4]], bias
                    [0.5,-0.5], with its _metadata) plus f16, bf16, f64, a transposed view, two
                    views of one storage, a scalar, an empty tensor and a num_batches_tracked
  state_dict_p4.pt  the same with pickle_protocol=4 (FRAME, MEMOIZE, STACK_GLOBAL, …)
  module.pt         torch.save(nn.Sequential(Conv2d(1, 2, 1), BatchNorm2d(2))): a whole module
  legacy.pt         torch.save(..., _use_new_zipfile_serialization=False)
  torchscript.pt    torch.jit.save of a scripted nn.Linear(1, 1)
  int_weight.pt     {'x': torch.arange(3)}: an int64 tensor that is not num_batches_tracked
  extras.pt         {'model': a module, …} beside a datetime, bytes (_codecs.encode), numpy
                    scalars and arrays, a Path, a Namespace, a torch.device, a set, a big int,
                    a torch.Size: everything allowed, the model read
Hand-made (zipfile + hand-written pickles), each refused:
  os_system.pt      data.pkl = GLOBAL os.system called with ('echo pwned',)
  cycle.pt          a module record whose _modules holds itself
  no_pkl.pt         a zip without data.pkl
  deflated.pt       state_dict.pt with its entries deflated
  big_endian.pt     state_dict.pt with byteorder 'big'
  short_storage.pt  state_dict.pt with one storage entry cut short
"""
import copy
import io
import os
import zipfile
from collections import OrderedDict

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))


def path(name):
    return os.path.join(HERE, name)


def fill(model):
    """Every float state_dict tensor at float position P: ((13 i + 7 P) % 61 - 30) / 8."""
    pos = 0
    with torch.no_grad():
        for k, v in model.state_dict().items():
            if not v.is_floating_point():
                continue
            i = torch.arange(v.numel(), dtype=torch.float64)
            v.copy_((((13 * i + 7 * pos) % 61 - 30) / 8).reshape(v.shape).to(v.dtype))
            pos += 1


def tiny_model():
    from ultralytics.nn.tasks import DetectionModel
    cfg = {"nc": 2, "reg_max": 2, "scales": {"n": [1.0, 1.0, 64]}, "scale": "n",
           "backbone": [[-1, 1, "Conv", [8, 3, 2]], [-1, 1, "C2f", [8, True]]],
           "head": [[[1], 1, "Detect", ["nc"]]]}
    m = DetectionModel(cfg, ch=3, nc=2, verbose=False)
    m.names = {0: "cat", 1: "d\u00f6g"}
    fill(m)
    return m


def trainer_checkpoint(model):
    """The dict ultralytics/engine/trainer.py save_model() writes, built from the same parts."""
    from datetime import datetime

    from ultralytics import __version__
    from ultralytics.cfg import get_cfg
    from ultralytics.utils.torch_utils import ModelEMA, convert_optimizer_state_dict_to_fp16

    args = get_cfg(overrides={"model": "tiny.yaml", "data": "tiny.yaml", "epochs": 1})
    model.args = args  # the trainer attaches its IterableSimpleNamespace
    ema = ModelEMA(model)
    ema.updates = 1
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    sum(p.sum() for p in model.parameters()).backward()
    opt.step()  # momentum buffers in the optimizer state; the EMA keeps the filled values
    e = copy.deepcopy(ema.ema).half().to(memory_format=torch.contiguous_format)
    e.criterion = None
    return {
        "epoch": 0,
        "best_fitness": 0.5,
        "stopper": {"best_fitness": 0.5, "best_epoch": 0},
        "model": None,
        "ema": e,
        "updates": ema.updates,
        "modelopt": None,
        "optimizer": convert_optimizer_state_dict_to_fp16(copy.deepcopy(opt.state_dict())),
        "scaler": torch.amp.GradScaler("cuda", enabled=False).state_dict(),
        "train_args": vars(args),
        "train_metrics": {"metrics/mAP50(B)": 0.25, "fitness": 0.5},
        "train_results": {"epoch": [1], "train/box_loss": [1.5]},
        "date": datetime(2025, 1, 2, 3, 4, 5).isoformat(),
        "version": __version__,
        "git": {"root": None, "branch": None, "commit": None, "message": None, "origin": None},
        "license": "AGPL-3.0 (https://ultralytics.com/license)",
        "docs": "https://docs.ultralytics.com",
    }


def write_zip(name, entries, method=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path(name), "w", method) as z:
        for n, data in entries:
            z.writestr(n, data)


def entries_of(name):
    with zipfile.ZipFile(path(name)) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def pickle_zip(name, pkl):
    write_zip(name, [("archive/data.pkl", pkl), ("archive/byteorder", b"little"),
                     ("archive/version", b"3\n")])


def main():
    torch.manual_seed(0)
    # tiny DetectionModel: trainer checkpoint, stripped checkpoint, names
    m = tiny_model()
    sd = m.state_dict()
    with open(path("tiny_train.txt"), "w") as f:
        for k, v in sd.items():
            if not k.endswith("num_batches_tracked"):
                f.write("%s %s\n" % (k, ",".join(str(d) for d in v.shape)))
    buf = io.BytesIO()
    torch.save(trainer_checkpoint(m), buf)  # as save_model: serialised to bytes
    with open(path("tiny_train.pt"), "wb") as f:
        f.write(buf.getvalue())
    from ultralytics.utils.torch_utils import strip_optimizer
    strip_optimizer(path("tiny_train.pt"), s=path("tiny_stripped.pt"))

    # a state_dict of every kind of tensor the reader handles
    lin = nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        lin.bias.copy_(torch.tensor([0.5, -0.5]))
    sdict = lin.state_dict()  # an OrderedDict carrying _metadata
    base = torch.arange(5, dtype=torch.float32)
    sdict["b.f16"] = torch.tensor([1.0, -2.0, 0.5, 65504.0], dtype=torch.float16)
    sdict["c.bf16"] = torch.tensor([[1.0, -1.0], [3.5, 0.125]], dtype=torch.bfloat16)
    sdict["d.f64"] = torch.tensor([0.1, 1e40, 2.5], dtype=torch.float64)
    sdict["e.transposed"] = torch.arange(6, dtype=torch.float32).reshape(2, 3).t()
    sdict["f.shared_a"] = base[1:3]
    sdict["f.shared_b"] = base
    sdict["g.scalar"] = torch.tensor(7.0)
    sdict["h.empty"] = torch.zeros(0, 3)
    sdict["bn.num_batches_tracked"] = torch.tensor(5)
    torch.save(sdict, path("state_dict.pt"))
    torch.save(sdict, path("state_dict_p4.pt"), pickle_protocol=4)  # FRAME, MEMOIZE, …

    seq = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
    fill(seq)
    torch.save(seq, path("module.pt"))
    torch.save({"w": torch.ones(2)}, path("legacy.pt"), _use_new_zipfile_serialization=False)
    torch.jit.save(torch.jit.script(nn.Linear(1, 1)), path("torchscript.pt"))
    torch.save({"x": torch.arange(3)}, path("int_weight.pt"))
    import argparse
    import datetime
    import pathlib

    import numpy as np
    extra = nn.Sequential(nn.Conv2d(1, 1, 1))
    fill(extra)
    torch.save({"model": extra, "ema": None,
                "date": datetime.datetime(2025, 1, 2, tzinfo=datetime.timezone.utc),
                "raw": b"\xff\x00", "metrics": {"a": np.float64(0.5), "arr": np.arange(3)},
                "path": pathlib.PosixPath("/x"), "ns": argparse.Namespace(a=1),
                "device": torch.device("cpu"), "set": {1, 2}, "big": 2 ** 70,
                "size": torch.Size([2, 3]), "neg": -1.5}, path("extras.pt"))

    # hostile, by hand
    pickle_zip("os_system.pt", b"\x80\x02cos\nsystem\nX\x0b\x00\x00\x00echo pwned\x85R.")
    pickle_zip("cycle.pt",
               b"\x80\x02ctorch.nn.modules.container\nSequential\n)\x81q\x00"
               b"}\x8c\x08_modules}\x8c\x01ah\x00ssb.")
    write_zip("no_pkl.pt", [("archive/version", b"3\n"), ("archive/byteorder", b"little")])
    sd_entries = entries_of("state_dict.pt")
    write_zip("deflated.pt", sd_entries, zipfile.ZIP_DEFLATED)
    write_zip("big_endian.pt",
              [(n, b"big" if n.endswith("/byteorder") else d) for n, d in sd_entries])
    write_zip("short_storage.pt",
              [(n, d[:-2] if n.endswith("/data/0") else d) for n, d in sd_entries])


if __name__ == "__main__":
    main()
