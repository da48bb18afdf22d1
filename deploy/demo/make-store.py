#!/usr/bin/env python3
"""make-store.py - the demo's photo store: real JPEG photos, generated.

    make-store.py STORE N [DECOY...]

Writes STORE/patients/PNNNNNN/<date>-preop/{front,side,oblique}.jpg and the
same three views in a <date>-postop series six weeks later, for patients
P000001..PNNNNNN and for each DECOY patient id.  The pictures are drawn
here (a plain silhouette on a studio background; post-op in warmer light)
and encoded by cjpeg (libjpeg-turbo-progs); each file then gets a JPEG
comment naming its patient, series and view, so no two files are equal and
any copied file tells whose it is.  No real person is pictured.
"""
import datetime
import os
import subprocess
import sys

W, H = 240, 320
VIEWS = ("front", "side", "oblique")


def draw(view, postop):
    """A P6 PPM of a silhouette: head and torso, turned by view."""
    # How far the figure is turned: its width shrinks, its centre moves.
    turn = {"front": 1.0, "oblique": 0.75, "side": 0.5}[view]
    shift = {"front": 0, "oblique": 12, "side": 24}[view]
    cx = W // 2 + shift
    bg_top = (70, 80, 96) if not postop else (96, 84, 72)
    bg_bot = (30, 34, 44) if not postop else (48, 40, 34)
    skin = (214, 170, 140) if not postop else (226, 178, 146)
    px = bytearray()
    for y in range(H):
        t = y / (H - 1)
        bg = tuple(int(a + (b - a) * t) for a, b in zip(bg_top, bg_bot))
        for x in range(W):
            dx = (x - cx) / turn
            head = (dx / 34.0) ** 2 + ((y - 84) / 44.0) ** 2 <= 1.0
            neck = abs(dx) <= 14 and 120 <= y <= 150
            body = y > 140 and (dx / (62.0 + (y - 140) * 0.35)) ** 2 + ((y - 330) / 190.0) ** 2 <= 1.0
            if head or neck or body:
                shade = 1.0 - 0.25 * max(0.0, dx / 80.0)
                px += bytes(max(0, min(255, int(c * shade))) for c in skin)
            else:
                px += bytes(bg)
    return b"P6\n%d %d\n255\n" % (W, H) + bytes(px)


def encode(ppm):
    out = subprocess.run(["cjpeg", "-quality", "85", "-optimize"], input=ppm,
                         stdout=subprocess.PIPE, check=True)
    return out.stdout


def with_comment(jpeg, text):
    """The JPEG with a COM segment after SOI and the JFIF APP0 segment."""
    data = text.encode()
    seg = b"\xff\xfe" + (len(data) + 2).to_bytes(2, "big") + data
    at = 2
    if jpeg[2:4] == b"\xff\xe0":
        at = 4 + int.from_bytes(jpeg[4:6], "big")
    return jpeg[:at] + seg + jpeg[at:]


def main():
    if len(sys.argv) < 3 or not sys.argv[2].isdigit():
        sys.stderr.write(__doc__)
        return 2
    store, n = sys.argv[1], int(sys.argv[2])
    base = {(v, p): encode(draw(v, p)) for v in VIEWS for p in (False, True)}
    ids = ["P%06d" % i for i in range(1, n + 1)] + sys.argv[3:]
    start = datetime.date(2026, 1, 5)
    for i, pid in enumerate(ids):
        pre = start + datetime.timedelta(days=(i * 7) % 240)
        post = pre + datetime.timedelta(weeks=6)
        for day, kind, postop in ((pre, "preop", False), (post, "postop", True)):
            series = "%s-%s" % (day.isoformat(), kind)
            d = os.path.join(store, "patients", pid, series)
            os.makedirs(d, exist_ok=True)
            for v in VIEWS:
                note = "photoguard demo photo - patient %s - %s - %s view - not a real person" % (pid, series, v)
                with open(os.path.join(d, v + ".jpg"), "wb") as f:
                    f.write(with_comment(base[(v, postop)], note))
        os.makedirs(os.path.join(store, "patients", pid, "incoming"), exist_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
