#!/usr/bin/env python3
"""memscan.py PID KEYFILE: exit 0 when the first 32 bytes of the Ed25519
secret key in KEYFILE (its seed, hex in the file), raw or as hex text, are
anywhere in the readable memory of process PID; 1 when not; 2 on error.
Run as root.  Used to show that a process holds no signing key."""
import re
import sys


def main():
    pid, keyfile = sys.argv[1], sys.argv[2]
    hexkey = open(keyfile).read().strip()
    seed_hex = hexkey[:64].encode()
    seed = bytes.fromhex(hexkey[:64])
    found = False
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
        mem = open(f"/proc/{pid}/mem", "rb", 0)
    except OSError as e:
        print(f"memscan: {e}", file=sys.stderr)
        return 2
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        if not m or m.group(3)[0] != "r" or "[vvar]" in line:
            continue
        lo, hi = int(m.group(1), 16), int(m.group(2), 16)
        if hi - lo > 1 << 30:
            continue
        try:
            mem.seek(lo)
            buf = mem.read(hi - lo)
        except (OSError, ValueError, OverflowError):
            continue
        if seed in buf or seed_hex in buf:
            found = True
            break
    return 0 if found else 1


sys.exit(main())
