#!/usr/bin/python3
"""budget_open.py - timed opens of one user, spread over gateways.

Run as root.  Forks --readers processes; reader i runs as --uid/--gid (no
other groups; --uid 0 keeps root, for native reads of the store) and
makes its share of --opens: open, read the whole file, close, over
FILE... in turn from its own offset; open t of reader i is on mount
(i + t) % len(--mount), so every reader uses every gateway.  All start
together (a pipe is the starting gun).  Each reader times its own opens
with CLOCK_MONOTONIC; the parent times the whole run from the gun to the
last reader's answer.  Any open or read that fails, or a file that comes
back empty, makes the run fail: every figure printed is of opens served.

Prints one JSON object: ok, opens, wall_s, reader_s (each reader's time),
reader_opens, bytes, errors (by errno name, or "empty").
"""
import argparse
import errno
import json
import os
import sys
import time


def reader(i, n, a, go_r, out_w):
    if a.uid != 0:
        os.setgroups([])
        os.setgid(a.gid)
        os.setuid(a.uid)
    paths = [[os.path.join(m, rel) for rel in a.files] for m in a.mount]
    os.read(go_r, 1)
    errs = {}
    nbytes = 0
    t0 = time.monotonic()
    for t in range(n):
        p = paths[(i + t) % len(paths)][(i * 7 + t) % len(a.files)]
        try:
            fd = os.open(p, os.O_RDONLY)
            try:
                got = 0
                while True:
                    b = os.read(fd, 1 << 16)
                    if not b:
                        break
                    got += len(b)
            finally:
                os.close(fd)
            if got == 0:
                errs["empty"] = errs.get("empty", 0) + 1
            nbytes += got
        except OSError as e:
            k = errno.errorcode.get(e.errno, str(e.errno))
            errs[k] = errs.get(k, 0) + 1
            break
    dt = time.monotonic() - t0
    os.write(out_w, (json.dumps({"s": dt, "n": n, "bytes": nbytes, "errors": errs}) + "\n").encode())
    os._exit(0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--uid", type=int, required=True)
    p.add_argument("--gid", type=int, required=True)
    p.add_argument("--mount", action="append", required=True)
    p.add_argument("--readers", type=int, default=1)
    p.add_argument("--opens", type=int, required=True)
    p.add_argument("files", nargs="+")
    a = p.parse_args()
    if a.readers < 1 or a.opens < a.readers:
        sys.exit("budget_open: --opens must be at least --readers >= 1")
    go_r, go_w = os.pipe()
    kids, outs = [], []
    for i in range(a.readers):
        n = a.opens // a.readers + (1 if i < a.opens % a.readers else 0)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(go_w)
            os.close(r)
            reader(i, n, a, go_r, w)
        os.close(w)
        kids.append(pid)
        outs.append(r)
    os.close(go_r)
    time.sleep(0.2)  # every reader at the gun
    t0 = time.monotonic()
    os.write(go_w, b"g" * a.readers)
    os.close(go_w)
    rows = []
    for r in outs:
        data = b""
        while True:
            b = os.read(r, 1 << 16)
            if not b:
                break
            data += b
        os.close(r)
        rows.append(json.loads(data) if data.strip() else None)
    wall = time.monotonic() - t0
    failed = 0
    for pid in kids:
        _, st = os.waitpid(pid, 0)
        failed += st != 0
    errs = {}
    for row in rows:
        for k, v in (row or {"errors": {"no answer": 1}})["errors"].items():
            errs[k] = errs.get(k, 0) + v
    ok = failed == 0 and not errs and all(rows)
    print(json.dumps({
        "ok": ok,
        "opens": a.opens,
        "wall_s": wall,
        "reader_s": [row["s"] if row else None for row in rows],
        "reader_opens": [row["n"] if row else None for row in rows],
        "bytes": sum(row["bytes"] for row in rows if row),
        "errors": errs,
    }))


if __name__ == "__main__":
    main()
