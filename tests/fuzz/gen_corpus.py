#!/usr/bin/python3
"""Regenerates the seed corpora for the tensor fuzz targets (corpus/safetensors, corpus/npy):
small valid files exercising each feature, plus a few near-misses. Files that libFuzzer finds
interesting later may be added by hand (name them by what they test). Run: python3 gen_corpus.py
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def st(entries, data, meta=None, pad=True, raw=None):
    h = {}
    if meta is not None:
        h["__metadata__"] = meta
    h.update(entries or {})
    hb = raw if raw is not None else json.dumps(h, separators=(",", ":")).encode()
    if pad:
        hb += b" " * ((8 - (8 + len(hb)) % 8) % 8)
    return struct.pack("<Q", len(hb)) + hb + data


def e(dtype, shape, b, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [b, end]}


f32 = struct.pack("<4f", 1.0, -2.0, 0.5, 3.0)
S = {
    "empty_header": st({}, b""),
    "one_f32": st({"w": e("F32", [2, 2], 0, 16)}, f32, meta={"format": "pt"}),
    "f16_bf16": st({"a": e("F16", [2], 0, 4), "b": e("BF16", [2], 4, 8)}, b"\x00\x3c\x00\xc0\x80\x3f\x00\xc0"),
    "scalar_and_empty": st({"s": e("F32", [], 0, 4), "z": e("F32", [0, 3], 4, 4)}, f32[:4]),
    "counter_i64": st({"model.0.bn.num_batches_tracked": e("I64", [], 0, 8), "model.0.bn.weight": e("F32", [1], 8, 12)},
                      struct.pack("<q", 5) + f32[:4]),
    "gap_unaligned": st({"x": e("F32", [1], 3, 7)}, b"\0\0\0" + f32[:4] + b"\0"),
    "escapes": st(None, f32[:4], raw=b'{"\\u00e9\\ud83d\\ude00\\"\\\\\\/\\n":{"shape":[1],"dtype":"F32","data_offsets":[0,4]}}'),
    "nested_meta": st({"w": e("F32", [1], 0, 4)}, f32[:4], meta=None, raw=b'{"__metadata__":{"a":[1,-2.5e+3,true,null,{"b":[[]]}]},"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'),
    "six_dims": st({"w": e("F32", [1, 1, 2, 1, 2, 1], 0, 16)}, f32),
    "bad_overlap": st({"a": e("F32", [2], 0, 8), "b": e("F32", [2], 4, 12)}, f32),
    "bad_dtype": st({"a": e("I32", [2], 0, 8)}, f32[:8]),
    "bad_truncated": st({"a": e("F32", [8], 0, 32)}, f32),
}
d = os.path.join(HERE, "corpus", "safetensors")
os.makedirs(d, exist_ok=True)
for k, v in S.items():
    open(os.path.join(d, k + ".safetensors"), "wb").write(v)


def npy(header, data, major=1):
    h = header.encode("latin1")
    if major == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data
    return b"\x93NUMPY" + bytes([major, 0]) + struct.pack("<I", len(h)) + h + data


def hdr(descr, shape, fortran=False):
    sh = "(%d,)" % shape[0] if len(shape) == 1 else "(" + ", ".join(str(s) for s in shape) + ")"
    return "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }\n" % (descr, fortran, sh)


N = {
    "f32_2x2": npy(hdr("<f4", [2, 2]), f32),
    "f16_4": npy(hdr("<f2", [4]), b"\x00\x3c\x00\xc0\x00\x7c\x01\x00"),
    "scalar": npy(hdr("<f4", []), f32[:4]),
    "empty": npy(hdr("<f4", [0, 5]), b""),
    "v2": npy(hdr("<f4", [4]), f32, major=2),
    "v3": npy(hdr("<f4", [1, 4]), f32, major=3),
    "dquote_nocomma": npy('{"descr": "<f4", "fortran_order": False, "shape": (4,)}', f32),
    "fortran_1d": npy(hdr("<f4", [4], True), f32),
    "bad_fortran": npy(hdr("<f4", [2, 2], True), f32),
    "bad_f8": npy(hdr("<f8", [2]), f32),
    "bad_truncated": npy(hdr("<f4", [8]), f32),
}
d = os.path.join(HERE, "corpus", "npy")
os.makedirs(d, exist_ok=True)
for k, v in N.items():
    open(os.path.join(d, k + ".npy"), "wb").write(v)

# The language: each zoo model made self-contained (blocks.sn inlined in place of its `use`,
# since the fuzz harness loads from a temp directory), a tiny model, and a few broken ones.
MODELS = os.path.join(HERE, "..", "..", "models")
d = os.path.join(HERE, "corpus", "lang")
os.makedirs(d, exist_ok=True)
L = {}
blocks = open(os.path.join(MODELS, "blocks.sn")).read()
for m in ("yolov8", "yolo11", "yolov5u"):
    src = open(os.path.join(MODELS, m + ".sn")).read()
    L[m + "_inline"] = src.replace('use "blocks.sn"', blocks)
L["tiny"] = blocks + """
model tiny {
    nc = 2
    scales { n = [0.33, 0.25, 1024] }
    layers {
        0: -1 1 Conv(64, 3, 2)
        1: -1 1 Conv(128, 3, 2)
        2: -1 1 Conv(256, 3, 2)
        3: -1 1 Conv(256, 3, 2)
        4: -1 1 Conv(256, 3, 2)
        5: [2, 3, 4] 1 Detect(nc)
    }
}
"""
L["use_missing"] = 'use "no_such_blocks.sn"\nmodel m {\n    nc = 80\n}\n'
L["bad_unclosed_call"] = "model broken {\n    nc = 80\n    layers {\n        0: -1 1 Conv(64, 3, 2\n    }\n}\n"
L["bad_unknown_block"] = ("model unknown {\n    nc = 80\n    scales { n = [0.33, 0.25, 1024] }\n"
                          "    layers {\n        0: -1 1 NoSuchBlock(64)\n    }\n}\n")
L["bad_exprs"] = "fn f(x) = x ** -2 // 0 % (1 ? 2 : 3)\nblock B(c: ch, n: rep = 1) {\n    for i in [1, 2] {\n        if not i in [3] and true or none { return f(i) }\n    }\n}\n"
for k, v in L.items():
    open(os.path.join(d, k + ".sn"), "w").write(v)
print("wrote %d + %d + %d seeds" % (len(S), len(N), len(L)))
