"""Draw the phone page's app icons (web/static/mobile/icon-{192,512}.png).

A white map pin on a 3×3 grid, on the page's dark blue: readable at 48 px on a
home screen. Run once after changing the drawing; the PNGs are committed.

    .venv/bin/python scripts/mobile_icons.py
"""

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "web" / "static" / "mobile"
BLUE, WHITE, AMBER = (11, 58, 102), (255, 255, 255), (255, 176, 0)


def draw(size):
    s = size / 512  # drawn on a 512 grid, scaled
    img = Image.new("RGB", (size, size), BLUE)
    d = ImageDraw.Draw(img)
    # the grid (kept inside the maskable safe zone, the central 80 %)
    lo, hi = 112 * s, 400 * s
    step = (hi - lo) / 3
    for i in range(4):
        v = lo + i * step
        d.line([(lo, v), (hi, v)], fill=WHITE, width=max(2, round(8 * s)))
        d.line([(v, lo), (v, hi)], fill=WHITE, width=max(2, round(8 * s)))
    # the pin in the middle cell: a circle and a point below it
    cx, cy, r = 256 * s, 222 * s, 70 * s
    d.polygon([(cx - r * 0.8, cy + r * 0.55), (cx + r * 0.8, cy + r * 0.55),
               (cx, cy + r * 2.0)], fill=AMBER)
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=AMBER)
    d.ellipse([cx - r * 0.42, cy - r * 0.42, cx + r * 0.42, cy + r * 0.42], fill=BLUE)
    return img


if __name__ == "__main__":
    for n in (192, 512):
        draw(n).save(OUT / f"icon-{n}.png", optimize=True)
        print(OUT / f"icon-{n}.png")
