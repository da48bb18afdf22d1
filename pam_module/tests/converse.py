#!/usr/bin/env python3
"""converse.py - run a PAM client (pamtester) on a pseudo-terminal and
answer a self-service enrollment as a person with a phone would.

    converse.py [--offer y|n] [--app right|wrong|wrong-right|quit]
                [--before-app SHELL-COMMAND] ANSWER -- COMMAND...

"Verification code:" is answered with ANSWER (a token or a scratch code);
the offer to enroll with --offer (default y); "Verification code from the
new app:" with the code oathtool computes from the secret the conversation
showed (right), a code that is not it (wrong, every time), a wrong one and
then the right one (wrong-right), or end of input (quit); --before-app
runs a command first (what happens elsewhere while the user reaches for
the phone).  Prints all the
client printed and exits with its status (124 after the time limit).
"""
import os
import pty
import re
import select
import subprocess
import sys
import time

LIMIT_S = 60


def app_code(out, wrong):
    m = re.search(rb"secret=([A-Z2-7]+)", out)
    if not m:
        return b"000000"
    code = subprocess.run(["oathtool", "--totp", "-b", m.group(1).decode()],
                          capture_output=True, check=True).stdout.strip()
    if wrong:
        code = b"%06d" % ((int(code) + 500001) % 1000000)
    return code


def main():
    args = sys.argv[1:]
    offer, app, before = "y", "right", None
    while args[:1] in (["--offer"], ["--app"], ["--before-app"]) and \
            len(args) > 1:
        if args[0] == "--offer":
            offer = args[1]
        elif args[0] == "--app":
            app = args[1]
        else:
            before = args[1]
        args = args[2:]
    if len(args) < 3 or args[1] != "--":
        sys.stderr.write(__doc__)
        return 2
    answer, cmd = args[0].encode(), args[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    out = b""
    seen = {"code": 0, "offer": 0, "app": 0}
    deadline = time.monotonic() + LIMIT_S
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if not r:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
        n = len(re.findall(rb"Verification code: ", out))
        while n > seen["code"]:
            seen["code"] += 1
            os.write(fd, answer + b"\n")
        n = out.count(b"[y/N] ")
        while n > seen["offer"]:
            seen["offer"] += 1
            os.write(fd, offer.encode() + b"\n")
        n = out.count(b"Verification code from the new app: ")
        while n > seen["app"]:
            seen["app"] += 1
            if before is not None and seen["app"] == 1:
                subprocess.run(["sh", "-c", before], check=False)
            if app == "quit":
                os.write(fd, b"\x04")
                continue
            wrong = app == "wrong" or (app == "wrong-right" and
                                       seen["app"] == 1)
            os.write(fd, app_code(out, wrong) + b"\n")
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return 124


if __name__ == "__main__":
    sys.exit(main())
