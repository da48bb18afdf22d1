"""roff.py - the few roff helpers the man page generators share: escape
text, turn Markdown inline code and emphasis into fonts."""
import re

MONTH_DATE = "2026-11-22"


def esc(s):
    """Escapes S for roff: backslashes, non-ASCII, a leading dot or quote."""
    s = s.replace("\\", "\\e")
    out = []
    for ch in s:
        if ch == "\u2014":
            out.append("\\(em")
        elif ch == "\u2013":
            out.append("\\(en")
        elif ord(ch) > 126:
            out.append("\\[u%04X]" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def line_safe(s):
    """A text line must not start with a dot or a quote (a request)."""
    if s.startswith(".") or s.startswith("'"):
        return "\\&" + s
    return s


def code(s):
    """Literal text: escaped, with real minus signs for options."""
    return esc(s).replace("-", "\\-")


def inline(s):
    """Markdown inline markup (`code`, **bold**, *italic*) to roff fonts."""
    parts = re.split(r"(`[^`]*`)", s)
    out = []
    for p in parts:
        if len(p) >= 2 and p.startswith("`") and p.endswith("`"):
            out.append("\\fB" + code(p[1:-1]) + "\\fR")
            continue
        p = esc(p)
        p = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", p)
        p = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\\fI\1\\fR", p)
        out.append(p)
    return "".join(out)


def header(name, section, title):
    return [
        '.TH %s %s %s "photoguard" "%s"' % (name.upper(), section,
                                           MONTH_DATE, title),
    ]
