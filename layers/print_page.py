"""The pieces every printed page of gridgov shares (the monthly ranking,
``layers/ranking_print.py``; the grid notices, ``layers/notice_print.py``): the
Chinese font, outlines as matplotlib paths, map limits at equal scale, the scale
bar and the north arrow, times in China time, text wrapped by its width.

Drawing uses matplotlib's object API (``Figure`` + ``FigureCanvasAgg``), never
pyplot, whose global figure state is not safe in a threaded web server. Maps are
drawn in metres (the deployment's Gauss-Krüger zone, ``geo.crs.to_metric``), so
a scale bar is a length and north is up within 1.5°.
"""

import functools
import io
import math
import re
import threading
import unicodedata
from http import HTTPStatus

import numpy as np
import shapely

from geo import localtime
from geo.catalogue import say
from layers.errors import LayerError

__all__ = ["FONT_FAMILY", "FONT_PACKAGE", "FontMissing", "font_path", "fonts",
           "figure", "save", "paths", "limits", "nice_length", "scale_bar",
           "north_arrow", "china", "wrap"]

FONT_FAMILY = "WenQuanYi Micro Hei"
FONT_PACKAGE = "fonts-wqy-microhei"


class FontMissing(LayerError):
    """The server lacks the Chinese font: an installation fault the user cannot
    fix, said plainly rather than printing boxes for every character."""

    http_status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "font_missing"


_font_lock = threading.Lock()


@functools.cache
def font_path():
    """The file of ``FONT_FAMILY``; FontMissing when matplotlib cannot find it.

    A font installed after matplotlib built its font list is not in that list:
    the system's font folders are scanned once more before giving up.
    """
    from matplotlib import font_manager

    wanted = font_manager.FontProperties(family=FONT_FAMILY)
    with _font_lock:
        for attempt in range(2):
            try:
                path = font_manager.findfont(wanted, fallback_to_default=False)
            except ValueError:
                path = None
            # findfont may answer with a near family: only the one asked for has
            # every Chinese glyph
            if path and font_manager.get_font(path).family_name == FONT_FAMILY:
                return path
            if attempt == 0:
                known = {f.fname for f in font_manager.fontManager.ttflist}
                for found in font_manager.findSystemFonts():
                    if found not in known:
                        try:
                            font_manager.fontManager.addfont(found)
                        except (OSError, RuntimeError, ValueError):
                            continue  # a broken font file is not ours to fix
    raise FontMissing(
        say("err_font_missing", font=FONT_FAMILY, package=FONT_PACKAGE))


def fonts(sizes):
    """FontProperties of ``{name: points}``, all of the CJK font's file (no
    fallback: a glyph it lacks is reported by matplotlib, not silently boxed)."""
    from matplotlib.font_manager import FontProperties

    path = font_path()
    return {name: FontProperties(fname=path, size=size)
            for name, size in sizes.items()}


def figure(inches, dpi):
    """A white page of ``inches`` (width, height) with its Agg canvas."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # TrueType in the PDF (Type 3 glyph procedures would make the Chinese text
    # unsearchable and the file larger); a process-wide setting, always this value
    matplotlib.rcParams["pdf.fonttype"] = 42
    fig = Figure(figsize=inches, dpi=dpi, facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def save(fig, fmt, dpi, title):
    """``fig`` as PDF (text as text) or PNG bytes, titled ``title``."""
    if fmt not in ("pdf", "png"):
        raise ValueError(f"fmt must be 'pdf' or 'png', got {fmt!r}")
    metadata = ({"Title": title, "Creator": "gridgov"} if fmt == "pdf"
                else {"Title": title, "Software": "gridgov"})
    out = io.BytesIO()
    fig.savefig(out, format=fmt, dpi=dpi, facecolor="white", metadata=metadata)
    return out.getvalue()


def paths(geoms):
    """One matplotlib Path per (multi)polygon, holes wound the other way so the
    non-zero rule leaves them empty (None for an empty geometry)."""
    from matplotlib.path import Path

    out = []
    for geom in shapely.orient_polygons(geoms):
        verts, codes = [], []
        for poly in getattr(geom, "geoms", [geom]):
            if poly.is_empty:
                continue
            for ring in (poly.exterior, *poly.interiors):
                xy = shapely.get_coordinates(ring)
                c = np.full(len(xy), Path.LINETO, dtype=Path.code_type)
                c[0], c[-1] = Path.MOVETO, Path.CLOSEPOLY
                verts.append(xy)
                codes.append(c)
        out.append(Path(np.concatenate(verts), np.concatenate(codes)) if verts
                   else None)
    return out


def limits(bounds, box_ratio, margin):
    """x and y limits holding ``bounds`` with ``margin`` (a share of their larger
    extent) on each side, widened to the box's width/height ratio around its
    centre (equal scale in x and y)."""
    x0, y0, x1, y1 = bounds
    pad = margin * max(x1 - x0, y1 - y0)
    w, h = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
    w, h = max(w, h * box_ratio), max(h, w / box_ratio)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - w / 2, cx + w / 2), (cy - h / 2, cy + h / 2)


def nice_length(span):
    """A round scale-bar length (1, 2 or 5 × 10^k metres) of at most a fifth of
    ``span``."""
    target = span / 5
    mag = 10 ** math.floor(math.log10(target))
    return next(m * mag for m in (5, 2, 1) if m * mag <= target)


def scale_bar(ax, xlim, ylim, font):
    """A black-and-white scale bar in the lower left of a map in metres."""
    from matplotlib.patches import Rectangle

    (xlo, xhi), (ylo, yhi) = xlim, ylim
    w, h = xhi - xlo, yhi - ylo
    length = nice_length(w)
    x, y, t = xlo + 0.03 * w, ylo + 0.03 * h, 0.008 * h
    for k, fill in enumerate(("black", "white")):
        ax.add_patch(Rectangle((x + k * length / 2, y), length / 2, t,
                               facecolor=fill, edgecolor="black", linewidth=0.6,
                               zorder=5))
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    for dx, text in ((0, "0"), (length, label)):
        ax.text(x + dx, y + 2 * t, text, fontproperties=font,
                ha="center", va="bottom", zorder=5)


def north_arrow(ax, xlim, ylim, font):
    """北 N in the upper right: grid north of the Gauss-Krüger zone, within 1.5°
    of true north."""
    (xlo, xhi), (ylo, yhi) = xlim, ylim
    w, h = xhi - xlo, yhi - ylo
    ax.annotate("", xy=(xhi - 0.04 * w, yhi - 0.03 * h),
                xytext=(xhi - 0.04 * w, yhi - 0.11 * h),
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.2},
                zorder=5)
    ax.text(xhi - 0.04 * w, yhi - 0.125 * h, "北 N", fontproperties=font,
            ha="center", va="top", zorder=5)


def china(moment):
    """``moment`` as ``YYYY-MM-DD HH:MM`` in China time (the label is the
    caller's: ``geo.localtime.LABEL``)."""
    return moment.astimezone(localtime.CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def wrap(text, ems):
    """``text`` in lines of at most ``ems`` font sizes (a Chinese character is one,
    a Latin letter about half), broken at spaces where there are any."""
    lines, line, width = [], "", 0.0
    for word in re.split(r"(?<= )|(?<=[\u3000-\u9fff\uff00-\uffef])", text):
        w = sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.55
                for c in word)
        if line and width + w > ems:
            lines.append(line.rstrip())
            line, width = "", 0.0
        line, width = line + word, width + w
    return lines + [line.rstrip()] if line.strip() else lines
