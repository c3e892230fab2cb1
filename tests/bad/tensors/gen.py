#!/usr/bin/python3
"""Regenerates the bad tensor files in this folder and the EXPECT manifest.

Each file must be rejected by Sinter with an error that names the file's path and contains the
substring listed for it in EXPECT (tab-separated: file, substring). tests/tensorio checks this
in-process; the CLI test runs `sinter` on them. Run from anywhere: python3 gen.py
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
cases = []  # (filename, bytes, expected substring)


def st(header, data=b"", hlen=None, raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":")).encode()
    n = len(h) if hlen is None else hlen
    return struct.pack("<Q", n) + h + data


def add(name, blob, expect):
    cases.append((name, blob, expect))


W = "model.0.conv.weight"
ok_entry = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}

# --- safetensors: framing
add("st_empty.safetensors", b"", "shorter than the 8-byte header length")
add("st_short.safetensors", b"\x05\x00\x00", "shorter than the 8-byte header length")
add("st_huge_header_len.safetensors", struct.pack("<Q", 1 << 63) + b"{}", "exceeds the 100 MB limit")
add("st_header_past_eof.safetensors", struct.pack("<Q", 1000) + b'{"a":1}', "truncated safetensors file")
add("st_not_object.safetensors", st(None, raw_header=b"[1,2]   "), "does not start with '{'")
add("st_garbage.safetensors", bytes(range(256)) * 3, "exceeds the 100 MB limit")
add("st_zero_header.safetensors", struct.pack("<Q", 0), "does not start with '{'")
# --- safetensors: JSON syntax
add("st_trailing_comma.safetensors", st(None, raw_header=b'{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},}'),
    "expected a string")
add("st_unterminated.safetensors", st(None, raw_header=b'{"model.0.conv.weight'), "unterminated string")
add("st_bad_utf8.safetensors", st(None, raw_header=b'{"caf\xc3\x28":{}}'), "invalid UTF-8")
add("st_overlong_utf8.safetensors", st(None, raw_header=b'{"\xc0\xaf":{}}'), "invalid UTF-8")
add("st_control_char.safetensors", st(None, raw_header=b'{"a\x01b":{}}'), "control character")
add("st_lone_surrogate.safetensors", st(None, raw_header=b'{"\\ud800x":{}}'), "unpaired high surrogate")
add("st_nul_name.safetensors", st(None, raw_header=b'{"a\\u0000b":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}', data=b"\0" * 4),
    "U+0000")
add("st_trailing_bytes.safetensors", st(None, raw_header=b'{}x'), "unexpected bytes after the top-level object")
add("st_deep_metadata.safetensors", st(None, raw_header=b'{"__metadata__":{"a":' + b"[" * 100 + b"]" * 100 + b"}}"),
    "nesting deeper than 64")
add("st_metadata_not_object.safetensors", st({"__metadata__": "pt"}), "__metadata__ must be an object")
add("st_dup_metadata.safetensors", st(None, raw_header=b'{"__metadata__":{},"__metadata__":{}}'), "duplicate key '__metadata__'")
add("st_leading_zero.safetensors", st(None, raw_header=b'{"' + W.encode() + b'":{"dtype":"F32","shape":[02],"data_offsets":[0,8]}}', data=b"\0" * 8),
    "leading zero")
# --- safetensors: entries
add("st_dtype_i32.safetensors", st({W: {"dtype": "I32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8),
    "tensor 'model.0.conv.weight' has dtype I32")
add("st_dtype_unknown.safetensors", st({W: {"dtype": "Q9", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8),
    "unknown dtype 'Q9'")
add("st_i64_not_counter.safetensors", st({"model.0.bn.running_mean": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}}, b"\0" * 16),
    "tensor 'model.0.bn.running_mean' has dtype I64")
add("st_out_of_bounds.safetensors", st({W: {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8),
    "tensor 'model.0.conv.weight' ends at data byte 16")
add("st_size_mismatch.safetensors", st({W: {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),
    "tensor 'model.0.conv.weight': data_offsets [0,8] do not hold shape [3]")
add("st_begin_after_end.safetensors", st({W: {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, b"\0" * 8),
    "do not hold shape [2]")
add("st_overlap.safetensors", st({"a.weight": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                  "b.weight": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12),
    "tensors 'a.weight' and 'b.weight' overlap")
add("st_duplicate_name.safetensors", st(None, raw_header=('{"%s":%s,"%s":%s}' % (W, json.dumps(ok_entry), W, json.dumps(ok_entry))).encode(), data=b"\0" * 8),
    "tensor 'model.0.conv.weight' appears twice")
add("st_too_many_dims.safetensors", st({W: {"dtype": "F32", "shape": [1] * 7, "data_offsets": [0, 4]}}, b"\0" * 4),
    "shape has more than 6 entries")
add("st_negative_dim.safetensors", st({W: {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4),
    "shape must be an integer")
add("st_float_dim.safetensors", st({W: {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}}, b"\0" * 8),
    "shape must be an integer")
add("st_huge_dims.safetensors", st({W: {"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 8]}}, b"\0" * 8),
    "is too large")
add("st_huge_offset.safetensors", st({W: {"dtype": "F32", "shape": [2], "data_offsets": [18446744073709551608, 18446744073709551616]}}, b"\0" * 8),
    "data_offsets must be an integer")
add("st_missing_offsets.safetensors", st({W: {"dtype": "F32", "shape": [2]}}, b"\0" * 8), "missing field 'data_offsets'")
add("st_unknown_field.safetensors", st({W: {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "stride": [1]}}, b"\0" * 8),
    "unknown field 'stride'")
add("st_entry_not_object.safetensors", st({W: [1, 2]}), "a tensor entry must be an object")
add("st_three_offsets.safetensors", st({W: {"dtype": "F32", "shape": [2], "data_offsets": [0, 4, 8]}}, b"\0" * 8),
    "data_offsets has more than 2 entries")
good = st({"__metadata__": {"format": "pt"}, W: {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 64]}}, bytes(64))
add("st_truncated_data.safetensors", good[:-10], "ends at data byte 64")
add("st_truncated_header.safetensors", good[:30], "truncated safetensors file")

# --- npy
def npy(header, data=b"", major=1, hlen=None):
    h = header.encode("latin1")
    if major == 1:
        n = len(h) if hlen is None else hlen
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", n) + h + data
    n = len(h) if hlen is None else hlen
    return b"\x93NUMPY" + bytes([major, 0]) + struct.pack("<I", n) + h + data


H = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n"
add("np_empty.npy", b"", "not a .npy file")
add("np_garbage.npy", b"PK\x03\x04 this is a zip, not npy", "not a .npy file")
add("np_bad_version.npy", b"\x93NUMPY\x04\x00" + struct.pack("<H", len(H)) + H.encode() + bytes(24), "unsupported .npy format version 4.0")
add("np_header_past_eof.npy", npy(H, hlen=4000), "truncated .npy file")
add("np_v2_truncated.npy", b"\x93NUMPY\x02\x00\x10\x00\x00", "truncated .npy file")
add("np_fortran.npy", npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n", bytes(24)), "Fortran-order")
add("np_int32.npy", npy("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }\n", bytes(24)), "dtype '<i4' is not supported")
add("np_float64.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }\n", bytes(48)), "astype(np.float32)")
add("np_big_endian.npy", npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }\n", bytes(24)), "dtype '>f4' is not supported")
add("np_structured.npy", npy("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (2,), }\n", bytes(8)), "descr must be a simple dtype")
add("np_truncated_data.npy", npy(H, bytes(20)), "truncated .npy file: shape [2,3]")
add("np_trailing_data.npy", npy(H, bytes(28)), "but 28 follow the header")
add("np_not_tuple.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3), }\n", bytes(12)), "is not a tuple")
add("np_missing_key.npy", npy("{'descr': '<f4', 'shape': (3,), }\n", bytes(12)), "missing key 'fortran_order'")
add("np_extra_key.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}\n", bytes(12)), "unexpected or repeated key 'x'")
add("np_repeated_key.npy", npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", bytes(12)), "unexpected or repeated key 'descr'")
add("np_too_many_dims.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1), }\n", bytes(4)), "more than SN_MAX_DIMS")
add("np_negative_dim.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }\n", bytes(4)), "non-negative integers")
add("np_huge_dims.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }\n", bytes(4)), "too large")
add("np_not_dict.npy", npy("['descr', '<f4']\n", bytes(4)), "the header is not a dict")
add("np_unterminated.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", bytes(24)), "expected ',' or '}'")

if __name__ == "__main__":
    for f in os.listdir(HERE):
        if f.endswith((".safetensors", ".npy")):
            os.unlink(os.path.join(HERE, f))
    with open(os.path.join(HERE, "EXPECT"), "w") as m:
        m.write("# file<TAB>substring the error must contain (besides the file's path). Generated by gen.py.\n")
        for name, blob, expect in cases:
            with open(os.path.join(HERE, name), "wb") as f:
                f.write(blob)
            m.write("%s\t%s\n" % (name, expect))
    print("wrote %d files" % len(cases))
