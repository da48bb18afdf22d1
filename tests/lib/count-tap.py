#!/usr/bin/env python3
"""Count the TAP points of every test in one or more meson build dirs.

Each meson test speaks TAP; a test that failed without reporting a failing
point (a crash, a timeout) counts as one failure.  Prints the failures by
name, then one line "N passed, N failed, N skipped" and exits 1 on any
failure or if no test ran at all.

A sanitizer report anywhere in a test's output (its stdout or stderr, as
meson kept them) fails that test too, whatever its exit status and TAP
points say: the binaries halt on the first report, but a test that
expects a tool to fail could take that halt for the failure it wanted.
"""
import json
import re
import sys

OK = re.compile(r"^ok\b")
NOT_OK = re.compile(r"^not ok\b")
SKIP = re.compile(r"#\s*skip", re.I)
TODO = re.compile(r"#\s*todo", re.I)
SANITIZER = re.compile(
    r"\S+:\d+:\d+: runtime error: |==\d+==ERROR: (Address|Leak)Sanitizer"
    r"|^SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer", re.M)


def count(build):
    passed = failed = skipped = 0
    bad = []
    try:
        with open(f"{build}/meson-logs/testlog.json") as f:
            lines = f.readlines()
    except OSError as e:
        print(f"count-tap: {build}: {e}", file=sys.stderr)
        return 0, 1, 0, [f"{build}: no test log"]
    for line in lines:
        t = json.loads(line)
        p = fl = s = 0
        for out in (t.get("stdout") or "").splitlines():
            if NOT_OK.match(out):
                if TODO.search(out):
                    continue
                fl += 1
                bad.append(f"{build.rsplit('/', 1)[-1]}: {t['name']}: {out}")
            elif OK.match(out):
                if SKIP.search(out):
                    s += 1
                else:
                    p += 1
        name = f"{build.rsplit('/', 1)[-1]}: {t['name']}"
        for key in ("stdout", "stderr"):
            hit = SANITIZER.search(t.get(key) or "")
            if hit:
                fl += 1
                line = (t.get(key) or "")[hit.start():].split("\n", 1)[0]
                bad.append(f"{name}: sanitizer report: {line[:200]}")
                break
        if t["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and fl == 0:
            fl = 1
            bad.append(f"{build.rsplit('/', 1)[-1]}: {t['name']}: {t['result']}")
        if t["result"] == "SKIP" and p + fl + s == 0:
            s = 1
        passed, failed, skipped = passed + p, failed + fl, skipped + s
    return passed, failed, skipped, bad


def main():
    tp = tf = ts = 0
    allbad = []
    args = sys.argv[1:]
    # --broken N: builds that did not build, each one failure.
    if args[:1] == ["--broken"]:
        tf = int(args[1])
        allbad += [f"{tf} build(s) did not build"] if tf else []
        args = args[2:]
    for build in args:
        p, f, s, bad = count(build)
        tp, tf, ts = tp + p, tf + f, ts + s
        allbad += bad
    for b in allbad:
        print(f"FAILED: {b}")
    line = f"{tp} passed, {tf} failed"
    if ts:
        line += f", {ts} skipped"
    print(line)
    sys.exit(1 if tf or tp == 0 else 0)


main()
