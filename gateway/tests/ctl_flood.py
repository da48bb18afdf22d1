#!/usr/bin/python3
"""ctl_flood.py - hostile clients of the gateway's control socket.

  hold SOCK UID N SECONDS OUT READY
      Keeps N connections from UID open for SECONDS, each sending one byte
      ("s", never a newline) every 0.3 s; a connection the gateway ends is
      replaced 0.3 s later.  READY is created once the first N connect
      attempts are done; OUT gets one JSON object per connection: the
      order it was opened in, whether connect() succeeded, the gateway's
      answer, how long it stayed open and how many bytes it sent.
  global SOCK FIRST_UID NUIDS PER
      Opens PER connections from each of NUIDS uids from FIRST_UID (sending
      nothing), then one more from the next uid and one from root asking
      "status"; prints the two answers' first lines.

Run as root: the uids need no account (SO_PEERCRED gives the effective
uid of connect(), switched here with seteuid()).
"""
import json
import os
import select
import socket
import struct
import sys
import time


def connect(path, uid, timeout=1.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # A blocking connect() bounded by SO_SNDTIMEO waits while the
    # gateway's queue is full; a non-blocking one would fail at once.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                 struct.pack("ll", int(timeout), int(timeout % 1 * 1e6)))
    if uid != 0:
        os.seteuid(uid)
    try:
        s.connect(path)
        ok = True
    except OSError:
        ok = False
    finally:
        if uid != 0:
            os.seteuid(0)
    s.setblocking(False)
    return s, ok


def hold(path, uid, n, seconds, out, ready):
    start = time.monotonic()
    conns = {}  # socket -> record
    done, seq, pending = [], 0, []  # pending: times to reopen at
    for _ in range(n):
        pending.append(0)
    while time.monotonic() - start < seconds:
        now = time.monotonic()
        for t in [t for t in pending if t <= now]:
            if time.monotonic() - start >= seconds:
                break
            pending.remove(t)
            s, ok = connect(path, uid, 0.5)
            rec = {"seq": seq, "connected": ok, "answer": "", "open": now,
                   "at": round(now - start, 3), "sent": 0}
            seq += 1
            if ok:
                conns[s] = rec
            else:
                rec["lived"] = 0
                done.append(rec)
                s.close()
                pending.append(time.monotonic() + 0.3)
        if seq >= n and not os.path.exists(ready):
            open(ready, "w").close()
        for s, rec in list(conns.items()):
            try:
                s.send(b"s")
                rec["sent"] += 1
            except OSError:
                pass
        end = time.monotonic() + 0.3
        while time.monotonic() < end and conns:
            r, _, _ = select.select(list(conns), [], [],
                                    max(0, end - time.monotonic()))
            for s in r:
                rec = conns[s]
                try:
                    b = s.recv(4096)
                except OSError:
                    b = b""
                if b:
                    rec["answer"] += b.decode("utf-8", "replace")
                    continue
                rec["lived"] = round(time.monotonic() - rec["open"], 3)
                del conns[s]
                s.close()
                done.append(rec)
                pending.append(time.monotonic() + 0.3)
        if not conns:
            time.sleep(0.05)
    for s, rec in conns.items():
        rec["lived"] = None  # still open at the end
        done.append(rec)
        s.close()
    with open(out, "w") as f:
        for rec in sorted(done, key=lambda r: r["seq"]):
            del rec["open"]
            f.write(json.dumps(rec) + "\n")


def answer(s, timeout):
    s.setblocking(True)
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
    except OSError as e:
        return "(%s)" % e
    line = data.decode("utf-8", "replace").split("\n")[0]
    return line or "(no answer)"


def flood_all(path, first, nuids, per):
    held = []
    for u in range(first, first + nuids):
        for _ in range(per):
            s, ok = connect(path, u)
            held.append(s)
            if not ok:
                break
        if not ok:
            print("opened only %d of %d" % (len(held) - 1, nuids * per))
            break
    extra, ok = connect(path, first + nuids)
    print("next uid:", answer(extra, 1) if ok else "(connect failed)")
    t = time.monotonic()
    root, ok = connect(path, 0)
    if ok:
        root.setblocking(True)
        root.sendall(b"status\n")
    print("root:", answer(root, 3) if ok else "(connect failed)",
          "in %.2fs" % (time.monotonic() - t))
    for s in held:
        s.close()


def main():
    a = sys.argv[1:]
    if a and a[0] == "hold" and len(a) == 7:
        hold(a[1], int(a[2]), int(a[3]), float(a[4]), a[5], a[6])
    elif a and a[0] == "global" and len(a) == 5:
        flood_all(a[1], int(a[2]), int(a[3]), int(a[4]))
    else:
        sys.exit(__doc__)


main()
