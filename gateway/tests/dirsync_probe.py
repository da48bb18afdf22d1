#!/usr/bin/python3
"""dirsync_probe.py - times a lockout and an unlock between two gateways.

Run as root.  A child process running as the user (--uid/--gid, no other
groups) makes every file operation, so each one reaches the gateways as
that user; the parent times them with CLOCK_MONOTONIC and runs the unlock
command.  Commands, one per line on stdin; one JSON object per line out:

  hold            the child opens B/HELD and reads it whole (its pages are
                  then in the page cache); the descriptor stays open
  lock MS         the child opens A/FILE... in turn until an open is
                  refused: that open crossed A's lockout threshold, and
                  the time it was sent is t0.  Then, until MS after t0, the
                  held descriptor is read (pread, one byte) until a read
                  fails, and B/PROBE is opened, which must fail too.
                  -> read_ms, open_ms: from t0 to each refusal on B
  unlock MS CMD.. runs CMD (`photoguard unlock USER` on A), then opens
                  B/PROBE until it is served, until MS after CMD started,
                  then A/FILE (A must serve again before the next round)
                  -> from_start_ms, from_exit_ms, cmd_ms
  quit

A result has "ok": false and "why" when something did not happen in time.
"""
import json
import os
import subprocess
import sys
import time


def child(uid, gid, rfd, wfd):
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    held = None
    rd = os.fdopen(rfd, "r")
    wr = os.fdopen(wfd, "w", buffering=1)
    for line in rd:
        cmd, _, arg = line.rstrip("\n").partition(" ")
        try:
            if cmd == "open":
                fd = os.open(arg, os.O_RDONLY)
                os.read(fd, 1)
                os.close(fd)
            elif cmd == "hold":
                if held is not None:
                    os.close(held)
                    held = None
                held = os.open(arg, os.O_RDONLY)
                while os.read(held, 1 << 16):
                    pass
            elif cmd == "pread":
                if len(os.pread(held, 1, 0)) != 1:
                    raise OSError(0, "short read")
            else:
                wr.write("err bad command\n")
                continue
            wr.write("ok\n")
        except OSError as e:
            wr.write("err %d %s\n" % (e.errno or 0, e.strerror))
    os._exit(0)


class Probe:
    def __init__(self, a):
        self.a = a
        c2p_r, c2p_w = os.pipe()
        p2c_r, p2c_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(c2p_r)
            os.close(p2c_w)
            child(a["uid"], a["gid"], p2c_r, c2p_w)
        os.close(c2p_w)
        os.close(p2c_r)
        self.rd = os.fdopen(c2p_r, "r")
        self.wr = os.fdopen(p2c_w, "w", buffering=1)

    def ask(self, line):
        self.wr.write(line + "\n")
        return self.rd.readline().rstrip("\n")

    def hold(self):
        r = self.ask("hold " + os.path.join(self.a["b"], self.a["held"]))
        return {"ok": r == "ok", "why": r}

    def lock(self, ms):
        t0 = None
        n = 0
        for f in self.a["files"]:
            sent = time.monotonic()
            r = self.ask("open " + os.path.join(self.a["a"], f))
            n += 1
            if r != "ok":
                t0 = sent
                break
        if t0 is None:
            return {"ok": False, "why": "A served all %d files: no lockout" % n}
        out = {"ok": False, "opens_on_a": n, "refusal_on_a": r}
        deadline = t0 + ms / 1000.0
        while time.monotonic() < deadline:
            r = self.ask("pread")
            if r != "ok":
                now = time.monotonic()
                out["read_ms"] = round((now - t0) * 1000, 1)
                out["read_error"] = r
                break
            time.sleep(0.0005)
        else:
            out["why"] = "the held file on B still reads after %d ms" % ms
            return out
        r = self.ask("open " + os.path.join(self.a["b"], self.a["probe"]))
        out["open_ms"] = round((time.monotonic() - t0) * 1000, 1)
        out["open_error"] = r
        if r == "ok":
            out["why"] = "B served a new open after the held read failed"
            return out
        out["ok"] = True
        return out

    def unlock(self, ms, cmd):
        t_start = time.monotonic()
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        t_exit = time.monotonic()
        out = {"ok": False, "cmd_ms": round((t_exit - t_start) * 1000, 1),
               "cmd_rc": p.returncode, "cmd_out": p.stdout.strip()}
        if p.returncode != 0:
            out["why"] = "the unlock command failed"
            return out
        probe = os.path.join(self.a["b"], self.a["probe"])
        while time.monotonic() < t_start + ms / 1000.0:
            r = self.ask("open " + probe)
            if r == "ok":
                now = time.monotonic()
                out["from_start_ms"] = round((now - t_start) * 1000, 1)
                out["from_exit_ms"] = round((now - t_exit) * 1000, 1)
                break
            time.sleep(0.001)
        else:
            out["why"] = "B still refuses %d ms after the unlock began" % ms
            return out
        first = os.path.join(self.a["a"], self.a["files"][0])
        until = time.monotonic() + 3
        while time.monotonic() < until:
            if self.ask("open " + first) == "ok":
                out["ok"] = True
                return out
            time.sleep(0.005)
        out["why"] = "A does not serve again after the unlock"
        return out


def main():
    a = {"files": []}
    args = sys.argv[1:]
    while args:
        k = args.pop(0)
        if k in ("--a", "--b", "--held", "--probe"):
            a[k[2:]] = args.pop(0)
        elif k in ("--uid", "--gid"):
            a[k[2:]] = int(args.pop(0))
        elif k == "--file":
            a["files"].append(args.pop(0))
        else:
            sys.exit("dirsync_probe: unknown argument " + k)
    p = Probe(a)
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        if w[0] == "hold":
            res = p.hold()
        elif w[0] == "lock":
            res = p.lock(float(w[1]))
        elif w[0] == "unlock":
            res = p.unlock(float(w[1]), w[2:])
        elif w[0] == "quit":
            break
        else:
            res = {"ok": False, "why": "bad command " + w[0]}
        print(json.dumps(res), flush=True)
    p.wr.close()
    os.waitpid(p.pid, 0)


if __name__ == "__main__":
    main()
