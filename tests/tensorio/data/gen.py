#!/usr/bin/python3
"""Regenerates the numpy-made fixtures the tensorio tests read (needs numpy; run with
/usr/bin/python3 gen.py). The files are committed: the tests never need Python.

  f32_2x3.npy      np.save of float32 [[0.5,-1,2],[3.25,-0,1e-3]]      (byte-exact target)
  f16_5.npy        np.save of float16 [1, -2, 65504, 6e-8, 0.333]       (byte-exact target)
  f32_scalar.npy   np.save of float32 scalar 7.5                        (shape ())
  f32_empty.npy    np.save of float32 zeros((0, 3))
  f32_long0.npy    np.save of float32 zeros((123456, 0)): a 6-digit first dim (numpy's
                   growth padding) with no data
  f64_2x2.npy      np.save of float64 [[1, 2.5], [-3, 1e-300]]          (refused: float32/float16 only)
  f32_v2.npy       format 2.0 of f32_2x3's array
  f32_v3.npy       format 3.0 of f32_2x3's array
  f32_fortran1d.npy  fortran_order True, 1-D (same as C order)
  f16_cases_in.npy   float32 tricky values; f16_cases_out.npy: numpy's float16 of each
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
P = lambda n: os.path.join(HERE, n)

a = np.array([[0.5, -1, 2], [3.25, -0.0, 1e-3]], dtype=np.float32)
np.save(P("f32_2x3.npy"), a)
np.save(P("f16_5.npy"), np.array([1, -2, 65504, 6e-8, 0.333], dtype=np.float16))
np.save(P("f32_scalar.npy"), np.float32(7.5))
np.save(P("f32_empty.npy"), np.zeros((0, 3), dtype=np.float32))
np.save(P("f32_long0.npy"), np.zeros((123456, 0), dtype=np.float32))
np.save(P("f64_2x2.npy"), np.array([[1, 2.5], [-3, 1e-300]], dtype=np.float64))
for v in (2, 3):
    with open(P("f32_v%d.npy" % v), "wb") as f:
        np.lib.format.write_array(f, a, version=(v, 0))
with open(P("f32_fortran1d.npy"), "wb") as f:
    hdr = {"descr": "<f4", "fortran_order": True, "shape": (3,)}
    np.lib.format.write_array_header_1_0(f, hdr)
    f.write(np.array([1, 2, 3], dtype="<f4").tobytes())

# f32 -> f16 rounding cases (numpy rounds to nearest, ties to even)
cases = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.99, 65520.0, 65536.0, 1e9, -1e9,
         2.0 ** -14, 2.0 ** -24, 2.0 ** -25, 2.0 ** -25 * 1.0000001, 3 * 2.0 ** -25, 2.0 ** -26,
         1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 1.0 + 2.0 ** -11 + 2.0 ** -20, 0.1, 0.2, 1 / 3,
         2.0 ** -15, 2.0 ** -14 - 2.0 ** -25, 6.1e-5, 5.96e-8, 1e-10, 1e-45, 3.4e38,
         float("inf"), float("-inf"), 1234.5678, -0.000123, 2049.0, 2051.0, 4097.0, 4099.0]
rng = np.random.default_rng(1)
xs = np.concatenate([np.array(cases, dtype=np.float32),
                     rng.standard_normal(2000).astype(np.float32) * np.float32(1000),
                     (rng.standard_normal(2000) * 1e-5).astype(np.float32),
                     rng.integers(0, 2 ** 32, 4000, dtype=np.uint64).astype(np.uint32).view(np.float32)])
xs = xs[~np.isnan(xs)]
with np.errstate(over="ignore", invalid="ignore"):
    ys = xs.astype(np.float16)
np.save(P("f16_cases_in.npy"), xs)
np.save(P("f16_cases_out.npy"), ys)
print("ok")
