#!/usr/bin/env python3
"""md2man.py - turns the Markdown of policy/LANGUAGE.md into the man page
photoguard-policy(5), so the two never disagree.

usage: docs/md2man.py policy/LANGUAGE.md > docs/photoguard-policy.5

It knows the Markdown that file uses: ## and ### headings, paragraphs,
`code`, **bold**, *italic*, indented code blocks, "- " and "1. " lists
(with continuation lines) and two-column tables."""
import re
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from roff import code, header, inline, line_safe  # noqa: E402

NAME = "photoguard-policy"
SUMMARY = "the photoguard policy language"


def table(rows, out):
    """Two-column tables as tagged paragraphs: the first cell the tag."""
    for r in rows[2:]:  # header and rule first
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", r.strip("|"))]
        cells = [c.replace("\\|", "|") for c in cells]
        out.append(".TP")
        out.append(line_safe(inline(cells[0])))
        out.append(line_safe(inline(" ".join(cells[1:]))))


def flush(para, out):
    if para:
        out.append(".PP")
        out.extend(line_safe(inline(p)) for p in para)
        para.clear()


def convert(lines):
    out = header(NAME, 5, "File Formats")
    out += [".SH NAME", "photoguard-policy \\- " + SUMMARY]
    para, i, first = [], 0, True
    while i < len(lines):
        ln = lines[i].rstrip("\n")
        if ln.startswith("# "):
            i += 1
            continue
        if ln.startswith("## ") or ln.startswith("### "):
            flush(para, out)
            title = inline(ln.lstrip("#").strip())
            out.append((".SH " if ln.startswith("## ") else ".SS ") +
                       (title.upper() if ln.startswith("## ") else title))
            i += 1
            continue
        if first and ln.strip():
            out.append(".SH DESCRIPTION")
            first = False
        if ln.startswith("|"):
            flush(para, out)
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i].rstrip("\n"))
                i += 1
            table(rows, out)
            out.append(".PP")
            continue
        if ln.startswith("    "):
            flush(para, out)
            out += [".PP", ".RS 4", ".nf"]
            while i < len(lines) and (lines[i].startswith("    ") or
                                      (not lines[i].strip() and i + 1 < len(lines)
                                       and lines[i + 1].startswith("    "))):
                out.append(line_safe(code(lines[i].rstrip("\n")[4:])))
                i += 1
            out += [".fi", ".RE"]
            continue
        m = re.match(r"^(- |\d+\. )(.*)", ln)
        if m:
            flush(para, out)
            tag = "\\(bu" if m.group(1) == "- " else m.group(1).strip()
            out.append('.IP "%s" 4' % tag)
            out.append(line_safe(inline(m.group(2))))
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and \
                    lines[i].strip():
                out.append(line_safe(inline(lines[i].strip())))
                i += 1
            continue
        if not ln.strip():
            flush(para, out)
        else:
            para.append(ln.strip())
        i += 1
    flush(para, out)
    out += [".SH SEE ALSO", "\\fBphotoguard\\fR(8), \\fBphotoguard.conf\\fR(5),",
            "\\fBphotoguard\\-gateway\\fR(8), \\fBpam_photoguard\\fR(8),",
            "\\fBfnmatch\\fR(3)"]
    # A list item ends where the next block starts.
    return "\n".join(out) + "\n"


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read().replace(
            " (the basis of the\nphotoguard-policy(5) manual page)", "")
    sys.stdout.write(convert(text.splitlines(keepends=True)))


if __name__ == "__main__":
    main()
