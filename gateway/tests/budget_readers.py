#!/usr/bin/python3
"""budget_readers.py - many readers of one user spread over several gateways.

Run as root.  Forks --readers processes; reader i runs as --uid/--gid (no
other groups) on mount i % len(--mount).  All start together (a pipe is
the starting gun), then each opens and reads whole files of FILE... in
turn, from its own offset, until --stop-after refusals in a row or --tries
attempts, --pace milliseconds apart (0: at once).  A read counts as served when the whole file came back.

Prints one JSON object: served (total), served_by_mount,
refused_by_mount, bytes, patients
(distinct patients served), refused (by errno name), served_paths, and
first_ms/last_ms: when the first and the last attempt ended, in
milliseconds from the start.
"""
import argparse
import errno
import json
import os
import sys
import time


def reader(i, a, go_r, out_w):
    os.setgroups([])
    os.setgid(a.gid)
    os.setuid(a.uid)
    os.read(go_r, 1)
    t0 = time.monotonic()
    mount = a.mount[i % len(a.mount)]
    res = []
    refused_in_row = 0
    for t in range(a.tries):
        if t > 0 and a.pace > 0:
            time.sleep(a.pace / 1000)
        rel = a.files[(i * 7 + t) % len(a.files)]
        try:
            fd = os.open(os.path.join(mount, rel), os.O_RDONLY)
            try:
                n = 0
                while True:
                    b = os.read(fd, 1 << 16)
                    if not b:
                        break
                    n += len(b)
            finally:
                os.close(fd)
            res.append([i % len(a.mount), rel, "ok", n, ms(t0)])
            refused_in_row = 0
        except OSError as e:
            res.append([i % len(a.mount), rel, errno.errorcode.get(e.errno, str(e.errno)), 0, ms(t0)])
            refused_in_row += 1
            if refused_in_row >= a.stop_after:
                break
    os.write(out_w, (json.dumps(res) + "\n").encode())
    os._exit(0)


def ms(t0):
    return round((time.monotonic() - t0) * 1000, 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--uid", type=int, required=True)
    p.add_argument("--gid", type=int, required=True)
    p.add_argument("--mount", action="append", required=True)
    p.add_argument("--readers", type=int, default=32)
    p.add_argument("--tries", type=int, default=30)
    p.add_argument("--stop-after", type=int, default=8)
    p.add_argument("--pace", type=int, default=0)
    p.add_argument("files", nargs="+")
    a = p.parse_args()
    go_r, go_w = os.pipe()
    kids = []
    outs = []
    for i in range(a.readers):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(go_w)
            os.close(r)
            reader(i, a, go_r, w)
        os.close(w)
        kids.append(pid)
        outs.append(r)
    os.close(go_r)
    os.write(go_w, b"g" * a.readers)  # one byte each: all start at once
    os.close(go_w)
    rows = []
    for r in outs:
        data = b""
        while True:
            b = os.read(r, 1 << 20)
            if not b:
                break
            data += b
        os.close(r)
        if data:
            rows.extend(json.loads(data))
    bad = 0
    for pid in kids:
        _, st = os.waitpid(pid, 0)
        if st != 0:
            bad += 1
    served = [x for x in rows if x[2] == "ok"]
    by_mount = [0] * len(a.mount)
    for x in served:
        by_mount[x[0]] += 1
    refused = {}
    refused_by_mount = [0] * len(a.mount)
    for x in rows:
        if x[2] != "ok":
            refused[x[2]] = refused.get(x[2], 0) + 1
            refused_by_mount[x[0]] += 1
    print(json.dumps({
        "served": len(served),
        "served_by_mount": by_mount,
        "refused_by_mount": refused_by_mount,
        "bytes": sum(x[3] for x in served),
        "patients": sorted({x[1].split("/")[1] for x in served}),
        "refused": refused,
        "attempts": len(rows),
        "readers_failed": bad,
        "served_paths": [x[1] for x in served],
        "first_ms": min((x[4] for x in rows), default=0),
        "last_ms": max((x[4] for x in rows), default=0),
    }))


if __name__ == "__main__":
    sys.exit(main())
