"""The monthly ranking as one printable A4 landscape page, PDF or PNG (issue 7).

The page is what the field reports pin up and send with the reminder letters: a
title (jurisdiction, month, 综治中心 月度排名), the choropleth of the ranked grids'
scores with its legend of class breaks, the ranking table, the bottom three (末位)
marked in the table and outlined on the map, and a footer with the data period and
the time it was generated.

:func:`outlines` is the only SQL (the ranked grids' boundaries, simplified to what
the page can show); :func:`render` is pure drawing from the ranking dict of
``layers.stats.rankings`` and those geometries. Drawing uses matplotlib's object
API (``Figure`` + ``FigureCanvasAgg``), never pyplot, whose global figure state is
not safe in a threaded web server.

The colours are fixed class breaks (the page ``/rankings`` uses the same), so one
colour means one score from month to month, on a sequential ramp from viridis
(dark = low, light = high) whose lightness grows with the score: the order still
reads on a black-and-white printer, unlike a red–green ramp.
"""

import datetime as dt
import math

import numpy as np
import shapely
from psycopg import sql

from geo import crs as geo_crs
from geo import localtime, ranking, vocab
from geo.catalogue import CATALOGUE
from layers import print_page
from layers.access import like_prefix
from layers.print_page import FONT_FAMILY, FONT_PACKAGE, FontMissing

__all__ = ["SCORE_CLASSES", "NO_SCORE", "FONT_FAMILY", "FONT_PACKAGE", "PAGE_INCHES",
           "PNG_DPI", "MAP_BOX", "MAP_MARGIN", "MAX_ROWS", "FontMissing",
           "score_colour", "outlines", "render", "filename"]

# (lowest score of the class, fill, legend), best first; viridis at 1, ¾, ½, ¼, 0
SCORE_CLASSES = (
    (90, "#fde725", "≥ 90"),
    (80, "#5ec962", "80–90"),
    (70, "#21918c", "70–80"),
    (60, "#3b528b", "60–70"),
    (0, "#440154", "< 60"),
)
# hatched on the page printed: in grey this light grey is as light as "≥ 90"
NO_SCORE = "#d9d9d9"
FLAG_EDGE = "#000000"

PAGE_INCHES = (297 / 25.4, 210 / 25.4)  # A4 landscape
PNG_DPI = 150
# figure fractions (left, bottom, width, height); the map keeps its scale equal in
# x and y by widening its limits to the box's shape around the grids' centre
MAP_BOX = (0.025, 0.16, 0.42, 0.70)
MAP_MARGIN = 0.03  # of the grids' larger extent, on each side
TABLE_BOX = (0.465, 0.075, 0.515, 0.785)
MAX_ROWS = 30  # table rows that fit the page; longer rankings are cut in the middle
LABEL_LIMIT = 60  # rank numbers on the map up to this many grids
DETAIL = 4000  # outlines simplified to 1/DETAIL of the extent (~1/5 of a dot)

# the page's words, (zh, en), from the one catalogue (geo/catalogue.py): the
# weights sentence, the columns and the notes are those of /rankings and the XLSX
_TEXT = {
    "title": CATALOGUE["rank_pdf_title"],
    "title_days": CATALOGUE["rank_pdf_title_days"],
    "everywhere": CATALOGUE["rank_pdf_everywhere"],
    "map": CATALOGUE["rank_map_title"],
    "table": CATALOGUE["rank_pdf_table"],
    "legend": CATALOGUE["rank_score"],
    "no_score": CATALOGUE["rank_no_score"],
    "flagged": CATALOGUE["rank_flagged"],
    "total": CATALOGUE["total"],
    "omitted": CATALOGUE["rank_pdf_omitted"],
    "unranked": CATALOGUE["rank_pdf_unranked"],
    "period": CATALOGUE["rank_pdf_period"],
    "as_of": CATALOGUE["rank_as_of"],
    "generated": CATALOGUE["rank_pdf_generated"],
    "china_time": localtime.LABEL,
    "weights": CATALOGUE["rank_weights"],
    "coverage_unknown": CATALOGUE["rank_coverage_unknown"],
    "empty": CATALOGUE["rank_empty"],
}

# (zh header, en header, width in inches, right-aligned, value of an item)
_COLUMNS = (
    (*CATALOGUE["rank_rank"], 0.62, False, lambda g: "—" if g["rank"] is None
     else str(g["rank"])),
    (*CATALOGUE["rank_name"], 1.25, False, lambda g: _short(g["name"])),
    (*CATALOGUE["rank_code"], 1.0, False, lambda g: g["code"]),
    (*CATALOGUE["rank_score"], 0.5, True, lambda g: _num(g["score"], "{:.1f}")),
    (*CATALOGUE["rank_resolution"], 0.55, True, lambda g: _pct(g["resolution_rate"])),
    (*CATALOGUE["rank_timeliness"], 0.62, True, lambda g: _pct(g["timeliness"])),
    (*CATALOGUE["rank_coverage"], 0.62, True, lambda g: _pct(g["coverage"])),
    (*CATALOGUE["rank_visit_rate"], 0.6, True, lambda g: _pct(g["visit_rate"])),
    (*CATALOGUE["rank_received"], 0.5, True, lambda g: str(g["received"])),
    (*CATALOGUE["overdue_open"], 0.5, True, lambda g: str(g["overdue"])),
)


def score_colour(score):
    """The fill of a score's class (``NO_SCORE`` for None or NaN).

    >>> score_colour(90), score_colour(59.99), score_colour(None)
    ('#fde725', '#440154', '#d9d9d9')
    """
    if score is None or not math.isfinite(score):
        return NO_SCORE
    return next(colour for low, colour, _ in SCORE_CLASSES if score >= low)


# -- SQL -----------------------------------------------------------------------

_OUTLINES = sql.SQL("""
WITH g AS (
    SELECT code, geom FROM grids
    WHERE level = %(level)s AND code LIKE %(root)s AND code LIKE %(scope)s
),
e AS (SELECT ST_Extent(geom) AS box FROM g)
SELECT g.code, ST_AsBinary(ST_SimplifyPreserveTopology(g.geom,
    greatest(ST_XMax(e.box) - ST_XMin(e.box), ST_YMax(e.box) - ST_YMin(e.box))
    / %(detail)s))
FROM g, e
""")


def outlines(conn, principal, found):
    """The boundaries of the grids ``found`` ranks (``layers.stats.rankings``), as
    ``{code: shapely geometry}`` in EPSG:4326, simplified below what the page shows.

    The same grids as the ranking's (its level under its root), bounded by the
    user's jurisdiction like every layer's SQL.
    """
    root = found["root"]["code"] if found["root"] else ""
    rows = conn.execute(_OUTLINES, {
        "level": found["level"], "root": like_prefix(root),
        "scope": principal.prefix, "detail": DETAIL}).fetchall()
    if not rows:
        return {}
    geoms = shapely.from_wkb([bytes(wkb) for _, wkb in rows])
    return dict(zip((code for code, _ in rows), geoms, strict=True))


# -- fonts ---------------------------------------------------------------------

def _fonts():
    """The page's text sizes (``layers.print_page.fonts``)."""
    return print_page.fonts({"title": 17, "subtitle": 10, "heading": 10,
                             "text": 7.2, "small": 6.2, "tiny": 5.6, "label": 6.5})


# -- drawing -------------------------------------------------------------------

def _zh_en(key):
    zh, en = _TEXT[key]
    return f"{zh} {en}"


def _pct(share):
    return "—" if share is None else f"{share * 100:.1f}%"


def _num(value, form):
    return "—" if value is None else form.format(value)


def _short(name, width=12):
    """``name`` cut to about ``width`` Chinese characters (Latin ones count half)."""
    used = 0.0
    for i, ch in enumerate(name):
        used += 0.55 if ch.isascii() else 1.0
        if used > width:
            return name[:i] + "…"
    return name


def _light(colour):
    """Whether dark text reads on ``colour`` (its luma, ITU-R BT.601)."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b >= 140


def _when(period):
    if period["month"]:
        year, month = period["month"].split("-")
        return f"{year}年{int(month)}月", period["month"]
    return f"{period['from']} 至 {period['to']}", f"{period['from']} – {period['to']}"


def _title(fig, found, fonts):
    where = found["root"]["name"] if found["root"] else _TEXT["everywhere"][0]
    zh_when, en_when = _when(found["period"])
    key = "title" if found["period"]["month"] else "title_days"
    zh_level, en_level = vocab.GRID_LEVELS[found["level"]]
    fig.text(0.025, 0.955, f"{where}{_TEXT[key][0]} · {zh_when}",
             fontproperties=fonts["title"], va="center")
    ranked = sum(g["rank"] is not None for g in found["items"])
    flagged = sum(g["flagged"] for g in found["items"])
    counts = (f"{ranked} 个网格参与排名，末位 {flagged} 个标出 ({ranked} ranked, "
              f"{flagged} flagged)" if flagged else
              f"{ranked} 个网格参与排名 ({ranked} ranked)")
    fig.text(0.025, 0.915,
             f"{_TEXT[key][1]} · {en_when} · {zh_level} {en_level} · {counts}",
             fontproperties=fonts["subtitle"], va="center", color="#333333")
    from matplotlib.lines import Line2D

    fig.add_artist(Line2D([0.025, 0.98], [0.893, 0.893], color="#1f3b57",
                          linewidth=1.2, transform=fig.transFigure))


def _map(fig, found, shapes, fonts):
    import geopandas
    from matplotlib import patheffects
    from matplotlib.collections import PathCollection

    ax = fig.add_axes(MAP_BOX)
    ax.set_axis_off()
    fig.text(MAP_BOX[0], MAP_BOX[1] + MAP_BOX[3] + 0.012, _zh_en("map"),
             fontproperties=fonts["heading"], va="bottom")
    items = [g for g in found["items"] if g["code"] in shapes]
    if not items:
        ax.text(0.5, 0.5, _zh_en("empty"), fontproperties=fonts["text"],
                ha="center", va="center", transform=ax.transAxes)
        return
    series = geopandas.GeoSeries([shapes[g["code"]] for g in items], crs=geo_crs.WGS84)
    metric = geo_crs.to_metric(series).values
    geoms = np.asarray(metric, dtype=object)
    paths = print_page.paths(geoms)
    kept = [i for i, p in enumerate(paths) if p is not None]
    scored = [i for i in kept if items[i]["score"] is not None]
    unscored = [i for i in kept if items[i]["score"] is None]
    flagged = [i for i in kept if items[i]["flagged"]]
    ax.add_collection(PathCollection(
        [paths[i] for i in scored],
        facecolors=[score_colour(items[i]["score"]) for i in scored],
        edgecolors="#555555", linewidths=0.3))
    if unscored:
        ax.add_collection(PathCollection(
            [paths[i] for i in unscored], facecolors=NO_SCORE, edgecolors="#777777",
            linewidths=0.3, hatch="////"))
    # 末位: a black line on a white halo reads on the darkest and lightest fills
    for colour, width in (("#ffffff", 3.2), (FLAG_EDGE, 1.5)):
        ax.add_collection(PathCollection(
            [paths[i] for i in flagged], facecolors="none", edgecolors=colour,
            linewidths=width, zorder=3))
    box_w = MAP_BOX[2] * PAGE_INCHES[0]
    box_h = MAP_BOX[3] * PAGE_INCHES[1]
    (xlo, xhi), (ylo, yhi) = print_page.limits(shapely.total_bounds(geoms),
                                               box_w / box_h, MAP_MARGIN)
    ax.set_xlim(xlo, xhi)
    ax.set_ylim(ylo, yhi)
    halo = [patheffects.withStroke(linewidth=2, foreground="white")]
    if len(kept) <= LABEL_LIMIT:
        spots = shapely.get_coordinates(shapely.point_on_surface(geoms[kept]))
        for i, (x, y) in zip(kept, spots, strict=True):
            if items[i]["rank"] is not None:
                ax.text(x, y, str(items[i]["rank"]), fontproperties=fonts["label"],
                        ha="center", va="center", zorder=4, path_effects=halo)
    print_page.scale_bar(ax, (xlo, xhi), (ylo, yhi), fonts["tiny"])
    print_page.north_arrow(ax, (xlo, xhi), (ylo, yhi), fonts["small"])


def _legend(fig, fonts):
    """The class breaks on one row, best first; below it the no-score hatch and
    the 末位 outline (two legends: matplotlib fills its columns top to bottom)."""
    from matplotlib.patches import Patch

    classes = [Patch(facecolor=colour, edgecolor="#555555", linewidth=0.5)
               for _, colour, _ in SCORE_CLASSES]
    others = [Patch(facecolor=NO_SCORE, edgecolor="#777777", hatch="////",
                    linewidth=0.5),
              Patch(facecolor="white", edgecolor=FLAG_EDGE, linewidth=1.5)]
    common = {"loc": "upper left", "frameon": False, "prop": fonts["small"],
              "handlelength": 1.6, "columnspacing": 1.4, "borderaxespad": 0}
    fig.legend(classes, [label for _, _, label in SCORE_CLASSES],
               ncols=len(classes), bbox_to_anchor=(MAP_BOX[0], MAP_BOX[1] - 0.005),
               title=_zh_en("legend"), title_fontproperties=fonts["small"],
               alignment="left", **common)
    fig.legend(others, [_zh_en("no_score"), _zh_en("flagged")], ncols=2,
               bbox_to_anchor=(MAP_BOX[0], MAP_BOX[1] - 0.048), **common)


def _rows(items):
    """The items the table shows, with None where some are left out; the ranked
    items left out; the number of unranked items left out.

    Past ``MAX_ROWS``, the top of the ranking and its bottom (the flagged, at most
    half the table) are shown, and the unranked are only counted.
    """
    if len(items) <= MAX_ROWS:
        return list(items), [], 0
    ranked = [g for g in items if g["rank"] is not None]
    tail = [g for g in ranked if g["flagged"]][-(MAX_ROWS // 2):]
    if not tail:
        tail = ranked[-ranking.BOTTOM:]
    head = ranked[:min(MAX_ROWS - 1, len(ranked)) - len(tail)]
    omitted = ranked[len(head):len(ranked) - len(tail)]
    rows = head + ([None] if omitted else []) + tail
    return rows, omitted, len(items) - len(ranked)


class _Table:
    """The ranking table, drawn in an axes measured in inches across and in rows
    down (two for the header, one per grid)."""

    PAD = 0.04  # inches between a cell's edge and its text
    UNITS = MAX_ROWS + 2 + 1 + 3  # header, rows, total, notes

    def __init__(self, fig, fonts):
        from matplotlib.patches import Rectangle

        self.Rectangle = Rectangle
        self.fonts = fonts
        self.ax = fig.add_axes(TABLE_BOX)
        self.ax.set_axis_off()
        self.width = TABLE_BOX[2] * PAGE_INCHES[0]
        scale = self.width / sum(c[2] for c in _COLUMNS)
        self.lefts = np.concatenate([[0], np.cumsum([c[2] * scale
                                                     for c in _COLUMNS])])
        self.ax.set_xlim(0, self.width)
        self.ax.set_ylim(self.UNITS, 0)

    def cell(self, col, y, text, font="text", colour="black"):
        right = _COLUMNS[col][3]
        x = self.lefts[col + 1] - self.PAD if right else self.lefts[col] + self.PAD
        self.ax.text(x, y, text, fontproperties=self.fonts[font], color=colour,
                     ha="right" if right else "left", va="center")

    def band(self, col0, col1, y, height, fill):
        self.ax.add_patch(self.Rectangle(
            (self.lefts[col0], y), self.lefts[col1] - self.lefts[col0], height,
            facecolor=fill, edgecolor="none"))

    def rule(self, y, colour, width):
        self.ax.plot([0, self.width], [y, y], color=colour, linewidth=width)

    def header(self):
        self.band(0, len(_COLUMNS), 0, 2, "#eef1f5")
        for col, (zh, en, *_rest) in enumerate(_COLUMNS):
            self.cell(col, 0.62, zh)
            self.cell(col, 1.4, en, "tiny", "#555555")

    def row(self, g, y):
        if g["flagged"]:
            self.band(0, len(_COLUMNS), y, 1, "#f8d7da")
            # the badge of the page: dark, so it survives grey print
            self.ax.text(self.lefts[1] - self.PAD, y + 0.5, _TEXT["flagged"][0],
                         fontproperties=self.fonts["small"], color="white",
                         va="center", ha="right",
                         bbox={"boxstyle": "round,pad=0.15",
                               "facecolor": "#a4161a", "edgecolor": "none"})
        fill = score_colour(g["score"])
        self.band(3, 4, y + 0.08, 0.84, fill)
        for col, column in enumerate(_COLUMNS):
            font = "small" if col == 2 else "text"
            colour = "white" if col == 3 and not _light(fill) else "black"
            self.cell(col, y + 0.5, column[4](g), font, colour)

    def omitted(self, omitted, y):
        n, first, last = len(omitted), omitted[0]["rank"], omitted[-1]["rank"]
        # ties at the bottom can flag more grids than half a page holds
        k = sum(g["flagged"] for g in omitted)
        also = (f"，含末位 {k} 个", f", {k} of them flagged") if k else ("", "")
        self.ax.text(self.PAD, y + 0.5,
                     f"…  其余 {n} 个（第 {first}–{last} 名{also[0]}）"
                     f"{_TEXT['omitted'][0]} ({n} more, ranks {first}–{last}"
                     f"{also[1]}, {_TEXT['omitted'][1]})",
                     fontproperties=self.fonts["small"], va="center",
                     color="#333333")

    def total(self, total, y):
        self.rule(y, "#999999", 0.9)
        self.cell(0, y + 0.5, _zh_en("total"))
        for col, value in ((4, _pct(total["resolution_rate"])),
                           (5, _pct(total["timeliness"])),
                           (7, _pct(total["visit_rate"])),
                           (8, str(total["received"])), (9, str(total["overdue"]))):
            self.cell(col, y + 0.5, value)

    def notes(self, notes, y):
        lines = [line for note in notes for line in print_page.wrap(
            note, self.width * 72 / self.fonts["tiny"].get_size())]
        for k, line in enumerate(lines):
            self.ax.text(0, y + 0.85 * k, line, fontproperties=self.fonts["tiny"],
                         va="center", color="#333333")


def _table(fig, found, fonts):
    fig.text(TABLE_BOX[0], MAP_BOX[1] + MAP_BOX[3] + 0.012, _zh_en("table"),
             fontproperties=fonts["heading"], va="bottom")
    table = _Table(fig, fonts)
    if not found["items"]:
        table.ax.text(0, 1, _zh_en("empty"), fontproperties=fonts["text"], va="top")
        return
    table.header()
    rows, omitted, unranked = _rows(found["items"])
    y = 2
    for g in rows:
        if g is None:
            table.omitted(omitted, y)
        else:
            table.row(g, y)
        table.rule(y + 1, "#dddddd", 0.4)
        y += 1
    table.total(found["total"], y)
    notes = list(_TEXT["weights"])
    if not found["coverage_known"]:
        notes.append(_zh_en("coverage_unknown"))
    if unranked:
        notes.append(f"{unranked} {_TEXT['unranked'][0]} ({unranked} "
                     f"{_TEXT['unranked'][1]})")
    table.notes(notes, y + 1.6)


def _footer(fig, found, fonts, generated):
    period = found["period"]
    as_of = dt.datetime.fromisoformat(found["as_of"])
    fig.text(0.025, 0.03,
             f"{_zh_en('period')}: {period['from']} – {period['to']} "
             f"({_TEXT['china_time'][0]} {_TEXT['china_time'][1]}) · "
             f"{_zh_en('as_of')} {print_page.china(as_of)} · "
             f"{_zh_en('generated')} {print_page.china(generated)} · gridgov",
             fontproperties=fonts["small"], color="#333333", va="center")


def render(found, shapes, fmt="pdf", generated=None):
    """The ranking ``found`` as one A4 landscape page.

    Parameters
    ----------
    found : dict
        The answer of ``layers.stats.rankings``.
    shapes : dict
        ``{code: geometry}`` in EPSG:4326 (:func:`outlines`); grids without one
        are left off the map, not the table.
    fmt : {"pdf", "png"}
        PDF with the text as text (TrueType, fonttype 42), or PNG at ``PNG_DPI``.
    generated : datetime, optional
        The time printed in the footer (default now).

    Returns
    -------
    bytes

    Raises
    ------
    FontMissing
        When the server lacks ``FONT_FAMILY``.
    """
    if fmt not in ("pdf", "png"):
        raise ValueError(f"fmt must be 'pdf' or 'png', got {fmt!r}")
    fonts = _fonts()
    generated = generated or dt.datetime.now(dt.UTC)
    fig = print_page.figure(PAGE_INCHES, PNG_DPI)
    _title(fig, found, fonts)
    _map(fig, found, shapes, fonts)
    _legend(fig, fonts)
    _table(fig, found, fonts)
    _footer(fig, found, fonts, generated)
    where = found["root"]["name"] if found["root"] else _TEXT["everywhere"][0]
    title = f"{where} {_TEXT['title'][0]} {found['period']['month'] or ''}".strip()
    return print_page.save(fig, fmt, PNG_DPI, title)


def filename(found, fmt):
    """``ranking-<root code>-<month>-level<n>.<fmt>`` (``all`` for the whole
    deployment; ``<from>_<to>`` for a period that is not a month)."""
    period = found["period"]
    when = period["month"] or f"{period['from']}_{period['to']}"
    code = found["root"]["code"] if found["root"] else "all"
    return f"ranking-{code}-{when}-level{found['level']}.{fmt}"
