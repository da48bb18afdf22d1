#!/usr/bin/env python3
"""tamper_collect.py - test helper: one change to a copy of a collector's
file (RFC 5424 lines of photoguard's audit messages), as someone with
write access to the collector could make it.

usage: tamper_collect.py MODE HOST IN OUT
  edit      change a byte in the payload of HOST's first record message
  forge     the same, and recompute the hash parameter to match
  droppart  remove part 2 of HOST's first split record
  dropmsg   remove HOST's second single-part record message
  reorder   swap HOST's second and third single-part record messages
  duppart   repeat part 2 of HOST's first split record
  badpart   repeat part 2 of HOST's first split record, one byte changed
  badsd     break the structured data of HOST's first record message
  beat      change the signature of HOST's last heartbeat (hash made to
            match, so only the signature can tell)
"""
import hashlib
import re
import sys

mode, host, src, dst = sys.argv[1:5]
lines = open(src, encoding="ascii").read().split("\n")[:-1]
ours = 'host="%s" kind="record"' % host


def idx(pred, nth=0):
    hits = [i for i, l in enumerate(lines) if ours in l and pred(l)]
    return hits[nth]


def payload_at(line):
    return line.index("] ") + 2


single = lambda l: 'parts="1"' in l
part2 = lambda l: re.search(r' part="2" parts="[2-9]', l) is not None

if mode in ("edit", "forge"):
    i = idx(single)
    l = lines[i]
    p = payload_at(l)
    body = l[p:].replace('"decision":"allow"', '"decision":"deny"', 1)
    assert body != l[p:]
    l = l[:p] + body
    if mode == "forge":
        h = hashlib.blake2b(body.encode(), digest_size=32).hexdigest()
        l = re.sub(r'hash="[0-9a-f]{64}"', 'hash="%s"' % h, l)
    lines[i] = l
elif mode == "droppart":
    del lines[idx(part2)]
elif mode == "dropmsg":
    del lines[idx(single, 1)]
elif mode == "reorder":
    a, b = idx(single, 1), idx(single, 2)
    lines[a], lines[b] = lines[b], lines[a]
elif mode == "duppart":
    i = idx(part2)
    lines.insert(i + 1, lines[i])
elif mode == "badpart":
    i = idx(part2)
    l = lines[i]
    p = payload_at(l) + 10
    lines.insert(i + 1, l[:p] + ("x" if l[p] != "x" else "y") + l[p + 1:])
elif mode == "badsd":
    i = idx(single)
    lines[i] = lines[i].replace(' part="1"', ' part="one"', 1)
elif mode == "beat":
    i = [i for i, l in enumerate(lines)
         if 'host="%s" kind="heartbeat"' % host in l][-1]
    l = lines[i]
    p = payload_at(l)
    body = l[p:]
    k = body.index('"sig":"') + 7
    body = body[:k] + ("0" if body[k] != "0" else "1") + body[k + 1:]
    h = hashlib.blake2b(body.encode(), digest_size=32).hexdigest()
    lines[i] = re.sub(r'hash="[0-9a-f]{64}"', 'hash="%s"' % h, l[:p]) + body
else:
    sys.exit("unknown mode " + mode)
open(dst, "w", encoding="ascii").write("\n".join(lines) + "\n")
