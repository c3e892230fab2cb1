#!/usr/bin/env python3
"""tests/tensorio/data/images/gen.py — writes the small image fixtures of test_tio_image.c.

Run with the oracle venv (numpy, PIL, cv2): .venv-oracle/bin/python gen.py. The files are
checked in, so the unit test needs no Python. Pixel values the test expects are stated here
and in the test; the JPEG ones are only checked approximately there (the exact bytes are
image_parity.py's business)."""
import io, os, struct, sys, zlib

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "..")))
from image_parity import exif_bytes, png_chunk, png_encode  # noqa: E402


def put(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def jpeg(rgb, **kw):
    f = io.BytesIO()
    Image.fromarray(rgb).save(f, "JPEG", **kw)
    return f.getvalue()


# 3 x 2 RGB, every pixel different (RGB order here; the decoder gives BGR)
PX = np.array([[(255, 0, 0), (0, 255, 0), (0, 0, 255)],
               [(10, 20, 30), (40, 50, 60), (70, 80, 90)]], np.uint8)
put("px3x2.png", png_encode(PX, 2, 8))
for o in range(2, 9):
    put("px3x2_o%d.png" % o, png_encode(PX, 2, 8, exif=exif_bytes(o)))
put("px3x2_i.png", png_encode(PX, 2, 8, interlace=True))
put("gray1x1.png", png_encode(np.array([[[77]]]), 0, 8))
# palette 2 x 2: indices 0 1 / 1 0, palette (1,2,3) (200,100,50), index 0 transparent
put("pal2x2_trns.png", png_encode(np.array([[[0], [1]], [[1], [0]]]), 3, 8,
                                  palette=[(1, 2, 3), (200, 100, 50)], trns=b"\x00"))
# 16-bit RGBA 2 x 1: high bytes kept
put("rgba16_2x1.png", png_encode(np.array([[(0x1234, 0xABCD, 0xFF00, 0x0001),
                                             (0x00FF, 0x0100, 0x8080, 0xFFFF)]]), 6, 16))

# 16 x 8, left half red, right half blue; and the same turned by EXIF 6 (90° clockwise)
rb = np.zeros((8, 16, 3), np.uint8)
rb[:, :8] = (255, 0, 0)
rb[:, 8:] = (0, 0, 255)
put("rb16x8.jpg", jpeg(rb, quality=95, subsampling=0))
ex = Image.Exif()
ex[0x0112] = 6
put("rb16x8_o6.jpg", jpeg(rb, quality=95, subsampling=0, exif=ex.tobytes()))
put("rb16x8_prog.jpg", jpeg(rb, quality=95, subsampling=2, progressive=True))
put("one1x1.jpg", jpeg(np.full((1, 1, 3), (30, 160, 220), np.uint8), quality=100, subsampling=0))
gray = np.full((8, 8), 90, np.uint8)
put("gray8x8.jpg", jpeg(gray, quality=100))
f = io.BytesIO()
Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(f, "JPEG", quality=100)  # pure red in CMYK
put("cmyk8x8.jpg", f.getvalue())

# hostile and broken files
j = jpeg(rb, quality=95, subsampling=0)
put("trunc.jpg", j[: len(j) // 2])
put("header_only.jpg", j[: j.index(b"\xff\xda")])  # ends just before the scan
sof = j.index(b"\xff\xc0")
huge = bytearray(j)
huge[sof + 5: sof + 9] = struct.pack(">HH", 65000, 65000)  # height, width
put("huge.jpg", bytes(huge))
p = png_encode(PX, 2, 8)
put("trunc.png", p[: len(p) * 2 // 3])
put("no_iend.png", p[: p.rindex(b"IEND") - 4])
b = bytearray(p)
b[p.index(b"IDAT") + 6] ^= 0x20
put("bad_crc.png", bytes(b))
ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
put("huge.png", b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 16))
    + png_chunk(b"IEND", b""))
ihdr = struct.pack(">IIBBBBB", 70000, 1, 8, 2, 0, 0, 0)
put("wide.png", b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 16))
    + png_chunk(b"IEND", b""))
put("garbage.bin", bytes(np.random.default_rng(1).integers(0, 256, 64, dtype=np.uint8)))
put("empty.jpg", b"")
put("gif.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

# a progressive JPEG whose one AC scan is repeated 1100 times (libjpeg only warns about the
# repeats; Sinter stops past 1000 scans)
pj = jpeg(np.full((8, 8), 128, np.uint8), quality=90, progressive=True)
segs, i = [], 2
while i < len(pj):
    assert pj[i] == 0xFF
    m = pj[i + 1]
    if m == 0xD9:
        break
    n = struct.unpack(">H", pj[i + 2: i + 4])[0]
    end = i + 2 + n
    if m == 0xDA:  # the scan data runs to the next marker that is not 0xFF00 or RSTn
        k = end
        while not (pj[k] == 0xFF and pj[k + 1] not in (0x00,) and not 0xD0 <= pj[k + 1] <= 0xD7):
            k += 1
        end = k
    segs.append(pj[i:end])
    i = end
ac = [s for s in segs if s[1] == 0xDA and s[4 + 2 * s[4] + 1] > 0][0]  # Ss > 0: an AC scan
put("scan_flood.jpg", pj[:2] + b"".join(segs) + ac * 1100 + b"\xff\xd9")
print("written to", HERE)
