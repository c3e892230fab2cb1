#!/usr/bin/env python3
"""tests/val/make_dataset.py — a small synthetic detection dataset in Ultralytics' layout, with
the Python standard library alone (PNG written with zlib), so the tests run anywhere:
    make_dataset.py DIR [--images N] [--nc C] [--seed S]
DIR/images/val/*.png: filled rectangles (a colour per class) on a noisy background, images of
several sizes and aspect ratios (so rectangular batches get several shapes); DIR/labels/val/*.txt:
the exact boxes, 'cls cx cy w h' normalised; DIR/data.yaml. Some images have no label file
(backgrounds) and one label file is empty."""
import argparse, os, random, struct, zlib

COLOURS = [(230, 40, 40), (40, 200, 60), (50, 80, 230), (240, 200, 30), (200, 50, 220), (30, 210, 220)]


def write_png(path, w, h, rows):
    raw = b"".join(b"\x00" + bytes(r) for r in rows)

    def chunk(t, d):
        c = struct.pack(">I", len(d)) + t + d
        return c + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--images", type=int, default=12)
    ap.add_argument("--nc", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    img_dir, lab_dir = os.path.join(a.dir, "images", "val"), os.path.join(a.dir, "labels", "val")
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(lab_dir, exist_ok=True)
    sizes = [(96, 64), (64, 96), (80, 80), (120, 60), (72, 100), (90, 90), (40, 56)]
    for i in range(a.images):
        w, h = sizes[i % len(sizes)]
        px = [[rnd.randint(90, 140) for _ in range(3 * w)] for _ in range(h)]
        boxes = []
        for _ in range(rnd.randint(1, 4)):
            c = rnd.randrange(a.nc)
            bw, bh = rnd.randint(8, w // 2), rnd.randint(8, h // 2)
            x0, y0 = rnd.randint(0, w - bw), rnd.randint(0, h - bh)
            col = COLOURS[c % len(COLOURS)]
            for y in range(y0, y0 + bh):
                for x in range(x0, x0 + bw):
                    px[y][3 * x:3 * x + 3] = col
            boxes.append((c, (x0 + bw / 2) / w, (y0 + bh / 2) / h, bw / w, bh / h))
        name = "im%03d" % i
        write_png(os.path.join(img_dir, name + ".png"), w, h, px)
        if i % 5 == 4:
            continue  # a background: no label file
        with open(os.path.join(lab_dir, name + ".txt"), "w") as f:
            if i != 2:  # im002: an empty label file
                f.writelines("%d %.6f %.6f %.6f %.6f\n" % b for b in boxes)
    names = "\n".join("  %d: shape%d" % (k, k) for k in range(a.nc))
    with open(os.path.join(a.dir, "data.yaml"), "w") as f:
        f.write("path: %s\ntrain: images/val\nval: images/val\nnames:\n%s\n" % (os.path.abspath(a.dir), names))


if __name__ == "__main__":
    main()
