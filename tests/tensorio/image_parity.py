#!/usr/bin/env python3
"""tests/tensorio/image_parity.py — Sinter's images against cv2 and Ultralytics 8.4 itself.

Generates JPEGs (PIL and cv2 encoders: qualities 30..100, 4:4:4, 4:2:2, 4:2:0, 4:1:1, 4:4:0,
baseline, optimized, progressive, restart markers, grayscale, CMYK, EXIF orientations 1-8,
corrupt and truncated files) and PNGs (a hand-written encoder: gray 1/2/4/8/16-bit, gray +
alpha, RGB and RGBA 8/16-bit, palette 1/2/4/8-bit with and without tRNS, Adam7 interlacing,
eXIf orientations; truncated and bad-CRC files) at odd sizes (1x1, 17x640, 1000x333, ...),
then drives tests/tensorio/image_tool and checks, all exactly (byte-identical pixels,
bit-identical floats):
  - decode: against ultralytics.utils.patches.imread (what the predictor reads with:
    cv2.imdecode, IMREAD_COLOR), and cv2.imread agrees with it; a file cv2 refuses must be
    refused;
  - letterbox: against Ultralytics' LetterBox(new_shape, auto, stride)(image=...) and its
    get_params (ratio, padding), auto off and on, square and rectangular shapes;
  - tensor: against BasePredictor.preprocess([image]) (CPU, float32);
  - resize: against cv2.resize(..., INTER_LINEAR) on random arrays of many sizes, 1, 3 and 4
    channels, exact halvings included;
  - geometry: sn_io_letterbox_plan against LetterBox.get_params on random shapes.

usage: image_parity.py --tool BIN [--keep DIR] [--seed N]
Runs itself with the oracle venv's python ($SN_ORACLE_VENV, else <source>/.venv-oracle; it
needs cv2, PIL, torch and ultralytics); prints "skipped: ..." and exits 77 without it.
"""
import argparse, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CHILD = "SN_IMAGE_PARITY_CHILD"


def venv_python():
    v = os.environ.get("SN_ORACLE_VENV", os.path.join(ROOT, ".venv-oracle"))
    py = os.path.join(v, "bin", "python")
    if not os.path.exists(py):
        print("skipped: no oracle venv at %s (run scripts/oracle_venv.sh)" % v)
        sys.exit(77)
    r = subprocess.run([py, "-c", "import cv2, PIL, numpy, torch, ultralytics"], capture_output=True)
    if r.returncode != 0:
        print("skipped: the oracle venv cannot import cv2/PIL/torch/ultralytics: %s"
              % r.stderr.decode()[-300:])
        sys.exit(77)
    return py


# ---------------------------------------------------------------- image content

def content(h, w, seed):
    """A smooth picture with edges and noise, so every codec path has work (uint8 RGB)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = x * 255.0 / max(w - 1, 1)
    g = y * 255.0 / max(h - 1, 1)
    b = ((x // 8 + y // 8) % 2) * 200.0 + 20.0
    im = np.stack([r, g, b], -1) + rng.normal(0, 18, (h, w, 3))
    return np.clip(im, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- a PNG encoder

def png_chunk(kind, data):
    import struct, zlib
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_encode(samples, color_type, depth, interlace=False, palette=None, trns=None, exif=None,
               exif_after_idat=False):
    """samples: (h, w, channels) integers of the given bit depth, channels as color_type says
    (0 gray, 2 RGB, 3 palette index, 4 gray + alpha, 6 RGBA)."""
    import numpy as np, struct, zlib
    h, w, ch = samples.shape

    def raw_rows(a):
        out = bytearray()
        for row in a:
            flat = row.reshape(-1).astype(np.uint32)
            if depth == 16:
                data = flat.astype(">u2").tobytes()
            elif depth == 8:
                data = flat.astype(np.uint8).tobytes()
            else:  # pack samples MSB first
                per = 8 // depth
                pad = (-len(flat)) % per
                f = np.concatenate([flat, np.zeros(pad, np.uint32)]).reshape(-1, per)
                shifts = np.array([depth * (per - 1 - i) for i in range(per)], np.uint32)
                data = (f << shifts).sum(1).astype(np.uint8).tobytes()
            out += b"\x00" + data
        return bytes(out)

    if interlace:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
                  (0, 1, 1, 2)]
        raw = b"".join(raw_rows(samples[y0::dy, x0::dx]) for x0, y0, dx, dy in passes
                       if samples[y0::dy, x0::dx].size)
    else:
        raw = raw_rows(samples)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type,
                                                                0, 0, 1 if interlace else 0))
    if palette is not None:
        out += png_chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        out += png_chunk(b"tRNS", trns)
    if exif is not None and not exif_after_idat:
        out += png_chunk(b"eXIf", exif)
    out += png_chunk(b"IDAT", zlib.compress(raw, 6))
    if exif is not None and exif_after_idat:
        out += png_chunk(b"eXIf", exif)
    return out + png_chunk(b"IEND", b"")


def exif_bytes(orientation, big_endian=False):
    """A TIFF header with IFD0 holding a Make string and the orientation (raw eXIf data)."""
    import struct
    e = ">" if big_endian else "<"
    make = b"Sinter test\x00"
    n = 2
    ifd_off = 8
    data_off = ifd_off + 2 + 12 * n + 4
    out = (b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, ifd_off)
    out += struct.pack(e + "H", n)
    out += struct.pack(e + "HHII", 0x010F, 2, len(make), data_off)
    out += struct.pack(e + "HHI", 0x0112, 3, 1) + struct.pack(e + "HH", orientation, 0)
    out += struct.pack(e + "I", 0) + make
    return out


def tiff_ifd(entries, le=True):
    """A TIFF header and IFD0 of (tag, type, count, value) entries, value an int or 4 bytes."""
    import struct
    e = "<" if le else ">"
    out = (b"II" if le else b"MM") + struct.pack(e + "HI", 42, 8) + struct.pack(e + "H", len(entries))
    for (tag, typ, cnt, val) in entries:
        out += struct.pack(e + "HHI", tag, typ, cnt)
        out += val if isinstance(val, bytes) else struct.pack(e + "I", val)
    return out + struct.pack(e + "I", 0)


def jpeg_with_app1(jpeg, segments):
    """Inserts APP1 segments (payloads) right after SOI."""
    import struct
    extra = b"".join(b"\xff\xe1" + struct.pack(">H", len(p) + 2) + p for p in segments)
    return jpeg[:2] + extra + jpeg[2:]


# ---------------------------------------------------------------- the cases

def make_files(d, seed):
    """[(name, path)] of every test file; names say what each is."""
    import io, struct
    import numpy as np
    import cv2
    from PIL import Image
    files = []

    def put(name, data):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(data)
        files.append((name, p))

    def pil_jpeg(rgb, **kw):
        f = io.BytesIO()
        Image.fromarray(rgb).save(f, "JPEG", **kw)
        return f.getvalue()

    sizes = [(1, 1), (2, 3), (7, 5), (17, 640), (640, 17), (333, 1000), (1000, 333), (480, 640),
             (720, 1280), (31, 33)]
    k = seed
    for (h, w) in sizes:
        k += 1
        rgb = content(h, w, k)
        for q in (30, 75, 95, 100):
            for ss, ssn in ((0, "444"), (1, "422"), (2, "420")):
                if (h, w) in ((720, 1280), (480, 640)) and q not in (75, 95):
                    continue
                put("pil_%dx%d_q%d_%s.jpg" % (h, w, q, ssn), pil_jpeg(rgb, quality=q, subsampling=ss))
        put("pil_%dx%d_prog.jpg" % (h, w), pil_jpeg(rgb, quality=85, progressive=True))
        put("pil_%dx%d_prog444.jpg" % (h, w), pil_jpeg(rgb, quality=90, subsampling=0,
                                                        progressive=True, optimize=True))
        put("pil_%dx%d_opt.jpg" % (h, w), pil_jpeg(rgb, quality=80, optimize=True))
        put("pil_%dx%d_gray.jpg" % (h, w), pil_jpeg(np.ascontiguousarray(rgb[..., 1]), quality=90))
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        for sf, name in ((cv2.IMWRITE_JPEG_SAMPLING_FACTOR_411, "411"),
                         (cv2.IMWRITE_JPEG_SAMPLING_FACTOR_440, "440")):
            ok, enc = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90,
                                                 cv2.IMWRITE_JPEG_SAMPLING_FACTOR, sf])
            put("cv2_%dx%d_%s.jpg" % (h, w, name), enc.tobytes())
        ok, enc = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 70,
                                             cv2.IMWRITE_JPEG_PROGRESSIVE, 1,
                                             cv2.IMWRITE_JPEG_RST_INTERVAL, 3])
        put("cv2_%dx%d_prog_rst.jpg" % (h, w), enc.tobytes())
        ok, enc = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_RST_INTERVAL, 2])
        put("cv2_%dx%d_rst.jpg" % (h, w), enc.tobytes())
        cmyk = Image.fromarray(rgb).convert("CMYK")
        f = io.BytesIO()
        cmyk.save(f, "JPEG", quality=90)
        put("pil_%dx%d_cmyk.jpg" % (h, w), f.getvalue())

    # EXIF orientations, little and big endian, on a non-square picture
    rgb = content(37, 61, 99)
    for o in range(0, 10):
        ex = Image.Exif()
        ex[0x0112] = o
        ex[0x010F] = "Sinter"
        put("exif_pil_o%d.jpg" % o, pil_jpeg(rgb, quality=92, exif=ex.tobytes()))
        put("exif_pil_prog_o%d.jpg" % o, pil_jpeg(rgb, quality=92, exif=ex.tobytes(),
                                                   progressive=True))
        plain = pil_jpeg(rgb, quality=88)
        put("exif_mm_o%d.jpg" % o, jpeg_with_app1(plain, [b"Exif\x00\x00" + exif_bytes(o, True)]))
    plain = pil_jpeg(rgb, quality=88)
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"
    put("exif_after_xmp_o6.jpg", jpeg_with_app1(plain, [xmp, b"Exif\x00\x00" + exif_bytes(6)]))
    put("exif_before_xmp_o6.jpg", jpeg_with_app1(plain, [b"Exif\x00\x00" + exif_bytes(6), xmp]))
    put("exif_truncated_o6.jpg", jpeg_with_app1(plain, [b"Exif\x00\x00" + exif_bytes(6)[:20]]))
    # malformed EXIF: which orientation (if any) OpenCV 5.1 still takes
    E = b"Exif\x00\x00"
    O3, O6 = (0x112, 3, 1, struct.pack("<HH", 3, 0)), (0x112, 3, 1, struct.pack("<HH", 6, 0))
    quirks = {
        "only_make_then_o6": [E + tiff_ifd([(0x10F, 2, 4, b"abc\x00")]), E + tiff_ifd([O6])],
        "empty_then_o6": [E + tiff_ifd([]), E + tiff_ifd([O6])],
        "throws_o3_then_o6": [E + tiff_ifd([(0x10F, 2, 20, 100000), O3]), E + tiff_ifd([O6])],
        "o6_then_o3_segments": [E + tiff_ifd([O6]), E + tiff_ifd([O3])],
        "o9_then_o6_segments": [E + tiff_ifd([(0x112, 3, 1, struct.pack("<HH", 9, 0))]),
                                E + tiff_ifd([O6])],
        "bad_order_then_o6": [E + b"XX" + tiff_ifd([O6])[2:], E + tiff_ifd([O6])],
        "be_order_marker_xx": [E + b"XY" + tiff_ifd([O6], le=False)[2:]],
        "inline_make_o6": [E + tiff_ifd([(0x10F, 2, 4, b"abc\x00"), O6])],
        "make_oor_o6": [E + tiff_ifd([(0x10F, 2, 5, 5000), O6])],
        "unknown_oor_o6": [E + tiff_ifd([(0x9999, 2, 20, 5000), O6])],
        "xres_oor_o6": [E + tiff_ifd([(0x11A, 5, 1, 5000), O6])],
        "refbw_short_o6": [E + tiff_ifd([(0x214, 5, 6, 42), O6])],
        "o6_then_make_oor": [E + tiff_ifd([O6, (0x10F, 2, 20, 5000)])],
        "o6_count_past_end": [E + (lambda b: b[:8] + struct.pack("<H", 5) + b[10:])(tiff_ifd([O6]))],
        "exififd_oor_o6": [E + tiff_ifd([(0x8769, 4, 1, 5000), O6])],
        "o6_ascii": [E + tiff_ifd([(0x112, 2, 4, struct.pack("<HH", 6, 0))])],
        "ifd_oor": [E + (lambda b: b[:4] + struct.pack("<I", 900) + b[8:])(tiff_ifd([O6]))],
        "o3_o6_one_ifd": [E + tiff_ifd([O3, O6])],
        "bare_exif_then_o6": [E, E + tiff_ifd([O6])],
        "lowercase_prefix": [b"exif\x00\x00" + tiff_ifd([O6])],
        "no_exif_prefix": [b"Abcd\x00\x00" + tiff_ifd([O6])],
    }
    for qn, segs in quirks.items():
        put("exifq_%s.jpg" % qn, jpeg_with_app1(plain, segs))
    sos = plain.index(b"\xff\xda")
    late = E + exif_bytes(6)
    put("exifq_late_app1.jpg", plain[:sos] + b"\xff\xe1" + struct.pack(">H", len(late) + 2) + late
        + plain[sos:])

    # broken JPEGs: cv2 refuses some and recovers others
    j = pil_jpeg(content(64, 80, 5), quality=90)
    put("bad_jpeg_trunc50.jpg", j[: len(j) // 2])
    put("bad_jpeg_trunc90.jpg", j[: len(j) * 9 // 10])
    put("bad_jpeg_header.jpg", j[:100])
    put("bad_jpeg_no_eoi.jpg", j[:-2])
    put("bad_jpeg_trailing.jpg", j + b"trailing bytes")
    m = bytearray(j)
    for i in range(len(j) // 2, len(j) // 2 + 16):
        m[i] = 0xAA
    put("bad_jpeg_corrupt_mid.jpg", bytes(m))
    m = bytearray(j)
    m[len(j) * 3 // 4] ^= 0x55
    put("bad_jpeg_bitflip.jpg", bytes(m))
    jp = pil_jpeg(content(64, 80, 6), quality=90, progressive=True)
    put("bad_jpeg_prog_trunc.jpg", jp[: len(jp) * 2 // 3])
    put("bad_empty.jpg", b"")
    put("bad_garbage.jpg", bytes(np.random.default_rng(3).integers(0, 256, 500, dtype=np.uint8)))

    # PNGs
    rng = np.random.default_rng(seed + 1000)
    for (h, w) in [(1, 1), (3, 2), (7, 5), (17, 64), (33, 31), (100, 37)]:
        rgb = content(h, w, h * 1000 + w)
        for inter in (False, True):
            t = "_i" if inter else ""
            put("png_%dx%d_rgb8%s.png" % (h, w, t), png_encode(rgb, 2, 8, inter))
            rgba = np.concatenate([rgb, rng.integers(0, 256, (h, w, 1))], -1)
            put("png_%dx%d_rgba8%s.png" % (h, w, t), png_encode(rgba, 6, 8, inter))
            put("png_%dx%d_rgb16%s.png" % (h, w, t),
                png_encode(rng.integers(0, 65536, (h, w, 3)), 2, 16, inter))
            put("png_%dx%d_rgba16%s.png" % (h, w, t),
                png_encode(rng.integers(0, 65536, (h, w, 4)), 6, 16, inter))
            for depth in (1, 2, 4, 8, 16):
                put("png_%dx%d_gray%d%s.png" % (h, w, depth, t),
                    png_encode(rng.integers(0, 1 << depth, (h, w, 1)), 0, depth, inter))
            put("png_%dx%d_gray8_trns%s.png" % (h, w, t),
                png_encode(rgb[..., :1], 0, 8, inter, trns=b"\x00\x40"))
            put("png_%dx%d_ga8%s.png" % (h, w, t), png_encode(rgb[..., :2], 4, 8, inter))
            put("png_%dx%d_ga16%s.png" % (h, w, t),
                png_encode(rng.integers(0, 65536, (h, w, 2)), 4, 16, inter))
            for depth in (1, 2, 4, 8):
                n = 1 << depth
                pal = rng.integers(0, 256, (n, 3))
                idx = rng.integers(0, n, (h, w, 1))
                put("png_%dx%d_pal%d%s.png" % (h, w, depth, t), png_encode(idx, 3, depth, inter, pal))
                put("png_%dx%d_pal%d_trns%s.png" % (h, w, depth, t),
                    png_encode(idx, 3, depth, inter, pal, trns=bytes([0, 128])))
    rgb = content(37, 61, 77)
    for o in range(0, 10):
        put("png_exif_o%d.png" % o, png_encode(rgb, 2, 8, exif=exif_bytes(o)))
    put("png_exif_mm_o6.png", png_encode(rgb, 2, 8, exif=exif_bytes(6, True)))
    put("png_exif_after_idat_o6.png", png_encode(rgb, 2, 8, exif=exif_bytes(6), exif_after_idat=True))
    f = io.BytesIO()
    ex = Image.Exif()
    ex[0x0112] = 8
    Image.fromarray(rgb).save(f, "PNG", exif=ex)
    put("png_pil_exif_o8.png", f.getvalue())
    p = png_encode(content(40, 50, 8), 2, 8)
    put("bad_png_trunc.png", p[: len(p) * 2 // 3])
    put("bad_png_header.png", p[:30])
    b = bytearray(p)
    b[p.index(b"IDAT") + 10] ^= 0xFF  # IDAT data changed, CRC not
    put("bad_png_crc.png", bytes(b))
    put("bad_png_no_iend.png", p[: p.rindex(b"IEND") - 4])
    q = png_encode(rgb, 2, 8, exif=exif_bytes(6), exif_after_idat=True)
    b = bytearray(q)
    b[q.index(b"eXIf") + 8] ^= 1
    put("png_exif_bad_crc.png", bytes(b))
    put("png_exif_prefixed.png", png_encode(rgb, 2, 8, exif=b"Exif\x00\x00" + exif_bytes(6)))
    put("png_exif_before_and_after.png",
        png_encode(rgb, 2, 8, exif=exif_bytes(6))[:-12] + png_chunk(b"eXIf", exif_bytes(8))
        + png_chunk(b"IEND", b""))
    t = png_chunk(b"tEXt", b"k\x00v")
    t = t[:-1] + bytes([t[-1] ^ 1])
    idat = p.index(b"IDAT") - 4
    put("png_text_bad_crc.png", p[:idat] + t + p[idat:])
    put("png_trailing.png", p + b"garbage after IEND")
    return files


# ---------------------------------------------------------------- checks

class Report:
    def __init__(self):
        self.fails = []
        self.counts = {}

    def count(self, what, ok, msg=""):
        c = self.counts.setdefault(what, [0, 0])
        c[0] += 1
        if ok:
            c[1] += 1
        else:
            self.fails.append("%s: %s" % (what, msg))


def diff_msg(got, want):
    import numpy as np
    if got.shape != want.shape:
        return "shape %s, want %s" % (got.shape, want.shape)
    d = np.abs(got.astype(np.float64) - want.astype(np.float64))
    i = np.unravel_index(int(np.argmax(d)), d.shape)
    return "%d elements differ, max %g at %s (got %r, want %r)" % (
        int((d > 0).sum()), float(d.max()), tuple(int(x) for x in i), got[i], want[i])


def fake_predictor(imgsz, rect):
    """A BasePredictor with just what preprocess and pre_transform read (CPU, float32)."""
    import torch
    from types import SimpleNamespace
    from ultralytics.engine.predictor import BasePredictor
    p = BasePredictor.__new__(BasePredictor)
    p.imgsz = list(imgsz)
    p.args = SimpleNamespace(rect=rect)
    p.model = SimpleNamespace(format="pt", stride=32, fp16=False, dynamic=False)
    p.device = torch.device("cpu")
    return p


def run_tool(tool, d, lines):
    bf = os.path.join(d, "batch.txt")
    with open(bf, "w") as f:
        for ln in lines:
            f.write("\t".join(str(x) for x in ln) + "\n")
    r = subprocess.run([tool, "batch", bf], capture_output=True, text=True)
    if r.returncode != 0:
        print("FAIL image_tool batch: exit %d\n%s%s" % (r.returncode, r.stdout[-2000:], r.stderr[-2000:]))
        sys.exit(1)
    out = r.stdout.splitlines()
    if len(out) != len(lines):
        print("FAIL image_tool batch: %d result lines for %d commands" % (len(out), len(lines)))
        sys.exit(1)
    return out


def parse_info(line):
    w = line.split()
    return (float(w[1]),) + tuple(int(x) for x in w[2:8])


def main_child(args):
    import numpy as np
    import cv2
    from ultralytics.data.augment import LetterBox
    from ultralytics.utils.patches import imread as ul_imread

    rep = Report()
    d = args.keep or tempfile.mkdtemp(prefix="sn_image_parity_")
    os.makedirs(d, exist_ok=True)
    files = make_files(d, args.seed)

    # 1. decode, letterbox, tensor for every file
    shapes = [(640, 640, 0), (640, 640, 1), (320, 320, 0), (480, 640, 0), (384, 640, 1)]
    lines, what = [], []
    for name, path in files:
        lines.append(("decode", path, path + ".npy"))
        what.append(("decode", name, path, None))
        for (nh, nw, a) in shapes:
            if not name.startswith(("pil_", "cv2_", "exif_pil_o6", "png_3", "png_17", "png_exif_o6")) \
                    and (nh, nw, a) != (640, 640, 0):
                continue
            o = "%s.lb_%d_%d_%d.npy" % (path, nh, nw, a)
            lines.append(("letterbox", path, nh, nw, a, 32, o))
            what.append(("letterbox", name, path, (nh, nw, a, o)))
        if name.startswith(("pil_", "cv2_", "png_1", "exif_pil_o")):
            for (nh, nw, a) in ((640, 640, 0), (640, 640, 1)):
                o = "%s.t_%d_%d_%d.npy" % (path, nh, nw, a)
                lines.append(("tensor", path, nh, nw, a, 32, o))
                what.append(("tensor", name, path, (nh, nw, a, o)))
    results = run_tool(args.tool, d, lines)
    refs = {}
    for res, (kind, name, path, extra) in zip(results, what):
        if path not in refs:
            ref = ul_imread(path)
            alt = cv2.imread(path, cv2.IMREAD_COLOR)
            # cv2.imread pads a truncated JPEG with grey where imdecode refuses it: bad_ only
            if not name.startswith("bad_"):
                rep.count("cv2.imread == ultralytics imread", (ref is None and alt is None) or (
                    ref is not None and alt is not None and np.array_equal(ref, alt)), name)
            refs[path] = ref
        ref = refs[path]
        if ref is None:
            rep.count(kind + " (refused like cv2)", res.startswith("ERR"),
                      "%s: cv2 refuses it, Sinter says %r" % (name, res))
            continue
        if not res.startswith("OK"):
            rep.count(kind, False, "%s: %s" % (name, res))
            continue
        if kind == "decode":
            got = np.load(path + ".npy").astype(np.uint8)
            rep.count("decode == cv2.imdecode", got.shape == ref.shape and np.array_equal(got, ref),
                      "%s: %s" % (name, diff_msg(got, ref)))
        elif kind == "letterbox":
            nh, nw, a, o = extra
            lb = LetterBox(new_shape=(nh, nw), auto=bool(a), stride=32)
            want = lb(image=ref.copy())
            got = np.load(o).astype(np.uint8)
            rep.count("letterbox == LetterBox", got.shape == want.shape and np.array_equal(got, want),
                      "%s %s: %s" % (name, extra[:3], diff_msg(got, want)))
            p = LetterBox(new_shape=(nh, nw), auto=bool(a), stride=32).get_params({"img": ref})
            wi = (p["ratio"][0], p["new_unpad"][0], p["new_unpad"][1], p["top"], p["bottom"],
                  p["left"], p["right"])
            rep.count("letterbox info == get_params", parse_info(res) == wi,
                      "%s %s: %s, want %s" % (name, extra[:3], parse_info(res), wi))
        else:
            nh, nw, a, o = extra
            t = fake_predictor((nh, nw), bool(a)).preprocess([ref.copy()]).numpy()
            got = np.load(o)
            rep.count("tensor == BasePredictor.preprocess", got.shape == t.shape and np.array_equal(
                got.view(np.uint32), t.view(np.uint32)), "%s %s: %s" % (name, extra[:3], diff_msg(got, t)))

    # 2. cv2.resize on random arrays
    rng = np.random.default_rng(args.seed + 7)
    cases = [(1, 1, 5, 7), (1, 9, 640, 1), (9, 1, 1, 640), (2, 2, 1, 1), (3, 2, 640, 427),
             (480, 640, 479, 640), (640, 17, 640, 17 * 2), (1280, 720, 640, 360),
             (1281, 720, 640, 360), (720, 1280, 360, 640), (4, 4, 2, 2), (640, 640, 320, 320),
             (333, 1000, 213, 640), (100, 100, 640, 640), (5, 7, 3, 2), (1000, 1000, 7, 3),
             (2000, 3000, 427, 640)]
    for _ in range(60):
        sh, sw = int(rng.integers(1, 400)), int(rng.integers(1, 400))
        cases.append((sh, sw, int(rng.integers(1, 700)), int(rng.integers(1, 700))))
    for _ in range(8):
        dh, dw = int(rng.integers(1, 300)), int(rng.integers(1, 300))
        cases.append((2 * dh, 2 * dw, dh, dw))
    lines, what = [], []
    for i, (sh, sw, dh, dw) in enumerate(cases):
        for c in (3,) if i % 4 else (1, 3, 4):
            a = rng.integers(0, 256, (sh, sw, c), dtype=np.uint8)
            ip = os.path.join(d, "rs_%d_%d.npy" % (i, c))
            np.save(ip, a.astype(np.float32))
            lines.append(("resize", ip, dh, dw, ip + ".out.npy"))
            what.append((a, dh, dw, ip + ".out.npy"))
    for res, (a, dh, dw, o) in zip(run_tool(args.tool, d, lines), what):
        want = cv2.resize(a, (dw, dh), interpolation=cv2.INTER_LINEAR)
        if want.ndim == 2:
            want = want[..., None]
        tag = "%dx%dx%d -> %dx%d" % (a.shape + (dh, dw))
        if not res.startswith("OK"):
            rep.count("resize == cv2.resize", False, "%s: %s" % (tag, res))
            continue
        got = np.load(o).astype(np.uint8)
        rep.count("resize == cv2.resize", np.array_equal(got, want), "%s: %s" % (tag, diff_msg(got, want)))

    # 3. the geometry alone on random shapes
    lines, what = [], []
    for _ in range(400):
        h, w = int(rng.integers(1, 5000)), int(rng.integers(1, 5000))
        if rng.random() < 0.2:
            h = int(rng.integers(1, 4))
        nh, nw = [(640, 640), (320, 320), (480, 640), (640, 384), (1280, 1280), (33, 97)][int(rng.integers(0, 6))]
        a = int(rng.integers(0, 2))
        s = [32, 64, 1][int(rng.integers(0, 3))]
        lines.append(("plan", h, w, nh, nw, a, s))
        what.append((h, w, nh, nw, a, s))
    for res, (h, w, nh, nw, a, s) in zip(run_tool(args.tool, d, lines), what):
        p = LetterBox(new_shape=(nh, nw), auto=bool(a), stride=s).get_params(
            {"img": np.zeros((h, w, 3), np.uint8)})
        wi = (p["ratio"][0], p["new_unpad"][0], p["new_unpad"][1], p["top"], p["bottom"], p["left"],
              p["right"])
        ok = res.startswith("OK") and parse_info(res) == wi
        rep.count("plan == LetterBox.get_params", ok, "%s: %s, want %s" % ((h, w, nh, nw, a, s), res, wi))

    for k, (n, ok) in sorted(rep.counts.items()):
        print("%-40s %d/%d" % (k, ok, n))
    if rep.fails:
        print("FAIL: %d mismatches; the first ones:" % len(rep.fails))
        for f in rep.fails[:25]:
            print("  " + f)
        if not args.keep:
            print("(files kept in %s)" % d)
        return 1
    if not args.keep:
        import shutil
        shutil.rmtree(d, ignore_errors=True)
    print("image parity: all %d checks passed" % sum(n for n, _ in rep.counts.values()))
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--keep", help="write the files here and keep them")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if os.environ.get(CHILD) != "1":
        py = venv_python()
        env = dict(os.environ, **{CHILD: "1"})
        sys.exit(subprocess.run([py, os.path.abspath(__file__)] + sys.argv[1:], env=env).returncode)
    sys.exit(main_child(args))


if __name__ == "__main__":
    main()
