#!/usr/bin/env python3
"""gen-conf-man.py - writes photoguard.conf(5) from the key table of the
configuration itself (`photoguard config keys --json`), so the man page
names every key, its type, default and meaning, and never drifts.

usage: docs/gen-conf-man.py PHOTOGUARD > docs/photoguard.conf.5"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from roff import code, header, inline, line_safe  # noqa: E402

INTRO = r""".SH NAME
photoguard.conf \- configuration of photoguard
.SH SYNOPSIS
.B /etc/photoguard/photoguard.conf
.SH DESCRIPTION
One file configures the PAM module \fBpam_photoguard\fR(8), the gateway
\fBphotoguard\-gateway\fR(8) and the tool \fBphotoguard\fR(8).
The tool reads the file named by \fB\-\-config\fR, else by
\fB$PHOTOGUARD_CONFIG\fR, else \fB/etc/photoguard/photoguard.conf\fR;
the PAM module takes \fBconfig=\fR\fIFILE\fR as a module argument.
.PP
The file is an INI file: \fB[section]\fR lines, then \fIkey\fR \fB=\fR
\fIvalue\fR lines; \fB#\fR and \fB;\fR start comments.
Every key is optional unless said otherwise; a key that is absent has the
default shown.
Unknown sections or keys, bad values and missing required keys are errors:
whatever reads the file refuses to run, naming the file, the line and the
key.
A key that moved (its text says \fIformerly\fR) is still read under its
old spelling, so an installed file keeps working, with a warning from
\fBphotoguard config check\fR and in the logs; setting both spellings to
different values is an error.
Check a file with \fBphotoguard config check\fR.
List the keys with \fBphotoguard config keys\fR (\fB\-\-json\fR for a
program).
.PP
The file must be owned by root and not writable by group or others.
Files named by keys that hold secrets (the bind password, the audit
signing key, the TOTP host key) must be root's and readable by root only.
.PP
Durations take a unit: \fB500ms\fR, \fB30s\fR, \fB15m\fR, \fB1h\fR,
\fB1d\fR.
Booleans are \fByes\fR or \fBno\fR.
Paths are absolute.
"""

OUTRO = r""".SH FILES
.TP
.B /etc/photoguard/photoguard.conf
this file; \fBinstall.sh\fR installs a copy of \fBdeploy/photoguard.conf\fR
with every key commented out at its default, and never overwrites an
edited one (the shipped version goes beside it as
\fBphotoguard.conf.dist\fR).
.SH SEE ALSO
\fBphotoguard\fR(8), \fBphotoguard\-policy\fR(5),
\fBphotoguard\-gateway\fR(8), \fBpam_photoguard\fR(8)
"""


def keys(photoguard):
    env = dict(os.environ, PHOTOGUARD_CONFIG="/nonexistent")
    out = subprocess.run([photoguard, "config", "keys", "--json"],
                         check=True, capture_output=True, text=True,
                         env=env).stdout
    return [json.loads(ln) for ln in out.splitlines() if ln.strip()]


def main():
    lines = header("photoguard.conf", 5, "File Formats")
    lines += INTRO.rstrip("\n").split("\n")
    section = None
    for k in keys(sys.argv[1]):
        if k["section"] != section:
            section = k["section"]
            lines.append(".SS [%s]" % code(section))
        lines.append(".TP")
        default = k["default"]
        tag = "\\fB%s\\fR = \\fI%s\\fR" % (code(k["key"]), code(k["type"]))
        lines.append(line_safe(tag))
        lines.append(line_safe(inline(k["doc"])))
        if default is None:
            lines += [".br", "No default."]
        elif default == "":
            lines += [".br", "Default: empty."]
        elif " " in default:  # said in words, not a value to type
            lines += [".br", line_safe("Default: " + inline(default) + ".")]
        else:
            lines += [".br", line_safe("Default: \\fB%s\\fR." % code(default))]
    lines += OUTRO.rstrip("\n").split("\n")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
