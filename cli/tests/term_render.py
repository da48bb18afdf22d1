#!/usr/bin/env python3
"""term_render.py - draws what a terminal shows for captured output.

    term_render.py THEME IN OUT.pgm

Reads IN (what a program wrote to its terminal), lays it out on a grid of
character cells as a terminal with colour theme THEME ('light' or 'dark')
would, and writes the picture as a grey-scale PGM for zbarimg to read.
Cells are 4 pixels wide and 8 high; the half-block glyphs fill their top
or bottom half in the foreground colour, other text is left out (only the
blocks and spaces make a QR code).  SGR colours handled: 0, 30-37, 39,
40-47, 49, 38;5;N and 48;5;N (N = 16 or 231, or 0-7), 7 (reverse).
"""
import re
import sys

# Grey levels of the default colours and of the eight basic ones: a light
# theme as xterm's, a dark one as GNOME's Tango (whose black is grey).
THEMES = {
    "light": {"fg": 0, "bg": 255, "basic": [0, 76, 76, 150, 60, 90, 140, 229]},
    "dark": {"fg": 211, "bg": 30, "basic": [52, 110, 120, 170, 90, 110, 140, 211]},
}
CUBE = {16: 0, 231: 255}
GLYPH = {" ": (0, 0), "\u2584": (0, 1), "\u2580": (1, 0), "\u2588": (1, 1)}
CELL_W, HALF_H = 4, 4
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def colour(theme, n):
    if n < 8:
        return theme["basic"][n]
    if n in CUBE:
        return CUBE[n]
    raise SystemExit("term_render: colour %d not modelled" % n)


def apply_sgr(theme, state, params):
    p = [int(x) if x else 0 for x in params.split(";")] if params else [0]
    i = 0
    while i < len(p):
        c = p[i]
        if c == 0:
            state.update(fg=theme["fg"], bg=theme["bg"], rev=False)
        elif c == 7:
            state["rev"] = True
        elif 30 <= c <= 37:
            state["fg"] = colour(theme, c - 30)
        elif 40 <= c <= 47:
            state["bg"] = colour(theme, c - 40)
        elif c == 39:
            state["fg"] = theme["fg"]
        elif c == 49:
            state["bg"] = theme["bg"]
        elif c in (38, 48) and i + 2 < len(p) and p[i + 1] == 5:
            state["fg" if c == 38 else "bg"] = colour(theme, p[i + 2])
            i += 2
        else:
            raise SystemExit("term_render: SGR %d not modelled" % c)
        i += 1


def render(theme, text):
    state = {"fg": theme["fg"], "bg": theme["bg"], "rev": False}
    rows = []
    for line in text.replace("\r", "").split("\n"):
        cells = []
        pos = 0
        for m in list(SGR.finditer(line)) + [None]:
            end = m.start() if m else len(line)
            for ch in line[pos:end]:
                fg, bg = state["fg"], state["bg"]
                if state["rev"]:
                    fg, bg = bg, fg
                top, bottom = GLYPH.get(ch, (0, 0))
                cells.append((fg if top else bg, fg if bottom else bg))
            if m:
                apply_sgr(theme, state, m.group(1))
                pos = m.end()
        rows.append(cells)
    return rows


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in THEMES:
        raise SystemExit("usage: term_render.py light|dark IN OUT.pgm")
    theme = THEMES[sys.argv[1]]
    with open(sys.argv[2], encoding="utf-8") as f:
        rows = render(theme, f.read())
    margin = 8
    width = max(len(r) for r in rows) * CELL_W + 2 * margin
    height = len(rows) * 2 * HALF_H + 2 * margin
    px = bytearray([theme["bg"]]) * (width * height)
    for y, cells in enumerate(rows):
        for x, halves in enumerate(cells):
            for h, grey in enumerate(halves):
                top = margin + (2 * y + h) * HALF_H
                left = margin + x * CELL_W
                for dy in range(HALF_H):
                    o = (top + dy) * width + left
                    px[o:o + CELL_W] = bytes([grey]) * CELL_W
    with open(sys.argv[3], "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (width, height))
        f.write(px)


if __name__ == "__main__":
    main()
