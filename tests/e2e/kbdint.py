#!/usr/bin/env python3
"""kbdint.py - run ssh in a pseudo-terminal and answer its
keyboard-interactive prompts, as a person would type them.

    kbdint.py [--max N] [--password-env VAR] [--app] CODE -- SSH-ARGS...

Every "Verification code:" prompt is answered with CODE (at most N times,
default 1; a further prompt gets an empty line and then end of input);
with --password-env, every "Password:" prompt is answered as often with
the value of the environment variable VAR (not an argument: arguments are
visible to every user in ps).  With --app, a self-service enrollment's
"Verification code from the new app:" is answered with the code oathtool
computes from the secret the conversation showed, as a phone would.
Prints everything ssh printed and exits with ssh's exit status (124 if it
had to be stopped after the time limit).
"""
import os
import pty
import re
import select
import subprocess
import sys
import time

LIMIT_S = int(os.environ.get("KBDINT_LIMIT_S", "30"))


def main():
    args = sys.argv[1:]
    max_answers, password, app = 1, None, False
    while args[:1] in (["--max"], ["--password-env"], ["--app"]) and len(args) > 1:
        if args[0] == "--app":
            app = True
            args = args[1:]
            continue
        if args[0] == "--max":
            max_answers = int(args[1])
        else:
            password = os.environ.get(args[1])
            if password is None:
                sys.stderr.write("kbdint.py: %s is not set\n" % args[1])
                return 2
        args = args[2:]
    if len(args) < 3 or args[1] != "--":
        sys.stderr.write(__doc__)
        return 2
    code, ssh = args[0], args[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(ssh[0], ssh)
    out, seen, answered, app_seen = b"", 0, 0, 0
    pw_seen, pw_answered = 0, 0
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
        while app and out.count(b"from the new app:") > app_seen:
            app_seen += 1
            m = re.findall(rb"secret=([A-Z2-7]+)", out)
            code = subprocess.run(
                ["oathtool", "--totp", "-b", m[-1].decode()],
                capture_output=True, check=True).stdout.strip() if m else b""
            os.write(fd, code + b"\n")
        while out.count(b"Verification code:") > seen:
            seen += 1
            answer = code if answered < max_answers else ""
            answered += 1
            os.write(fd, answer.encode() + b"\n")
        while password is not None and out.count(b"Password:") > pw_seen:
            pw_seen += 1
            answer = password if pw_answered < max_answers else ""
            pw_answered += 1
            os.write(fd, answer.encode() + b"\n")
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace"))
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return 124


if __name__ == "__main__":
    sys.exit(main())
