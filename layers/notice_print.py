"""网格公示牌: a grid's public notice as one A4 portrait page, PDF or PNG (issue 17).

What every micro-grid posts at its door: the title, the grid's name and code
and its parent chain, its boundary on a map (over the offline basemap's roads,
water and place names where one is configured, ``layers/notice_basemap.py``;
always with the neighbouring grids' outlines and names, a scale bar and a north
arrow), its people with the number each chose for notices (公示电话), its
service hours, its household count, the date printed (China time, labelled) and
the centre's name. No QR code: nothing on the notice points to a server the
public cannot reach.

:func:`render` draws one page from ``layers.notices.notice``; :func:`render_many`
writes a village's notices as one PDF, a page each. The shared pieces (font,
paths, limits, scale bar, north arrow) are ``layers/print_page.py``'s.
"""

import datetime as dt
import io

import geopandas
import numpy as np
import shapely

from geo import crs as geo_crs
from geo import localtime, vocab
from geo.catalogue import CATALOGUE, pair
from layers import print_page

__all__ = ["PAGE_INCHES", "PNG_DPI", "MAP_BOX", "ROAD_COLOURS", "GRID_EDGE",
           "MAX_PEOPLE", "render", "render_many", "filename"]

PAGE_INCHES = (210 / 25.4, 297 / 25.4)  # A4 portrait
PNG_DPI = 150
# figure fractions (left, bottom, width, height)
MAP_BOX = (0.06, 0.395, 0.88, 0.425)
MAP_MARGIN = 0.12  # of the grid's larger extent: room for the neighbours
MAX_PEOPLE = 10  # rows of the people's table; more are counted
GRID_EDGE = "#b2182b"
GRID_FILL = "#fbe3e0"
NEIGHBOUR_EDGE = "#7a7a7a"
ROAD_COLOURS = {"major": "#f08c00", "minor": "#a0a0a0"}
ROAD_WIDTHS = {"major": 2.6, "minor": 1.1}
WATER_FILL = "#b9dcf5"
WATER_LINE = "#5b9bd5"

_FONT_SIZES = {"title": 30, "title_en": 11, "name": 17, "text": 10.5,
               "small": 8.5, "tiny": 7, "label": 7.5, "heading": 11.5}


def _t(key):
    return CATALOGUE[key]


def _zh_en(key):
    zh, en = CATALOGUE[key]
    return f"{zh} {en}"


def _metric(found, context):
    """The grid, its neighbours and the basemap's features in the grid's
    Gauss-Krüger zone (one CRS for all)."""
    grid = geopandas.GeoSeries([found["geometry"]], crs=geo_crs.WGS84)
    crs = geo_crs.metric_crs_for(grid)

    def to(geoms):
        if not len(geoms):
            return np.array([], dtype=object)
        return np.asarray(geopandas.GeoSeries(list(geoms), crs=geo_crs.WGS84)
                          .to_crs(crs).values, dtype=object)

    basemap = {layer: (to([g for g, _ in items]), [p for _, p in items])
               for layer, items in context.items()}
    return (to([found["geometry"]])[0],
            to([n["geometry"] for n in found["neighbours"]]), basemap)


def _draw_basemap(ax, basemap, fonts, halo):
    from matplotlib.collections import LineCollection, PathCollection

    geoms, _ = basemap.get("water", ([], []))
    polys = [g for g in geoms if g.geom_type in ("Polygon", "MultiPolygon")]
    if polys:
        paths = [p for p in print_page.paths(np.asarray(polys, dtype=object)) if p]
        ax.add_collection(PathCollection(paths, facecolors=WATER_FILL,
                                         edgecolors="none", zorder=1))
    lines = [g for g in geoms if g.geom_type in ("LineString", "MultiLineString")]
    if lines:
        ax.add_collection(LineCollection(_segments(lines), colors=WATER_LINE,
                                         linewidths=1.2, zorder=1))
    geoms, props = basemap.get("roads", ([], []))
    for kind in ("minor", "major"):
        chosen = [g for g, p in zip(geoms, props, strict=True)
                  if (p.get("kind") == "major") == (kind == "major")]
        if chosen:
            ax.add_collection(LineCollection(
                _segments(chosen), colors=ROAD_COLOURS[kind],
                linewidths=ROAD_WIDTHS[kind], capstyle="round", zorder=3))
    geoms, props = basemap.get("places", ([], []))
    for g, p in zip(geoms, props, strict=True):
        if g.geom_type == "Point" and p.get("name"):
            town = p.get("kind") == "town"
            ax.plot([g.x], [g.y], marker="s" if town else "o", markersize=3,
                    color="#333333", zorder=6)
            ax.text(g.x, g.y, f" {p['name']}", fontproperties=fonts["label"],
                    color="#333333", ha="left", va="center", zorder=6,
                    path_effects=halo, clip_on=True)


def _segments(geoms):
    out = []
    for g in geoms:
        for part in getattr(g, "geoms", [g]):
            out.append(shapely.get_coordinates(part))
    return out


def _map(fig, found, context, fonts):
    from matplotlib import patheffects
    from matplotlib.collections import PathCollection

    ax = fig.add_axes(MAP_BOX)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor("#555555")
        spine.set_linewidth(0.8)
    fig.text(MAP_BOX[0], MAP_BOX[1] + MAP_BOX[3] + 0.006, _zh_en("notice_map"),
             fontproperties=fonts["heading"], va="bottom")
    grid, neighbours, basemap = _metric(found, context)
    halo = [patheffects.withStroke(linewidth=2.2, foreground="white")]
    box_ratio = (MAP_BOX[2] * PAGE_INCHES[0]) / (MAP_BOX[3] * PAGE_INCHES[1])
    xlim, ylim = print_page.limits(grid.bounds, box_ratio, MAP_MARGIN)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    (grid_path,) = print_page.paths(np.asarray([grid], dtype=object))
    ax.add_collection(PathCollection([grid_path], facecolors=GRID_FILL,
                                     edgecolors="none", zorder=2))
    _draw_basemap(ax, basemap, fonts, halo)
    if len(neighbours):
        paths = print_page.paths(neighbours)
        kept = [i for i, p in enumerate(paths) if p is not None]
        ax.add_collection(PathCollection(
            [paths[i] for i in kept], facecolors="none", edgecolors=NEIGHBOUR_EDGE,
            linewidths=0.9, linestyles="--", zorder=4))
        spots = shapely.point_on_surface(neighbours[kept])
        x0, x1, y0, y1 = *xlim, *ylim
        for i, spot in zip(kept, spots, strict=True):
            # a neighbour's name where its inside is on the map
            clipped = shapely.clip_by_rect(neighbours[i], x0, y0, x1, y1)
            if clipped.is_empty:
                continue
            spot = shapely.point_on_surface(clipped) if not (
                x0 < spot.x < x1 and y0 < spot.y < y1) else spot
            ax.text(spot.x, spot.y, found["neighbours"][i]["name"],
                    fontproperties=fonts["label"], color="#555555", ha="center",
                    va="center", zorder=6, path_effects=halo, clip_on=True)
    ax.add_collection(PathCollection([grid_path], facecolors="none",
                                     edgecolors=GRID_EDGE, linewidths=2.4,
                                     zorder=5))
    spot = shapely.point_on_surface(grid)
    ax.text(spot.x, spot.y, found["name"], fontproperties=fonts["text"],
            color=GRID_EDGE, ha="center", va="center", zorder=7, path_effects=halo)
    print_page.scale_bar(ax, xlim, ylim, fonts["tiny"])
    print_page.north_arrow(ax, xlim, ylim, fonts["small"])
    _map_legend(fig, fonts, bool(context.get("roads")), bool(context.get("water")))


def _map_legend(fig, fonts, roads, water):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=GRID_FILL, edgecolor=GRID_EDGE, linewidth=1.6),
               Line2D([], [], color=NEIGHBOUR_EDGE, linestyle="--", linewidth=0.9)]
    labels = [_zh_en("notice_map"), _zh_en("notice_neighbours")]
    if roads:
        handles.append(Line2D([], [], color=ROAD_COLOURS["major"],
                              linewidth=ROAD_WIDTHS["major"]))
        labels.append(_zh_en("notice_roads"))
    if water:
        handles.append(Patch(facecolor=WATER_FILL, edgecolor=WATER_LINE))
        labels.append(_zh_en("notice_water"))
    fig.legend(handles, labels, loc="upper left", ncols=len(handles),
               bbox_to_anchor=(MAP_BOX[0], MAP_BOX[1] - 0.004), frameon=False,
               prop=fonts["small"], handlelength=1.8, borderaxespad=0)


def _header(fig, found, fonts):
    from matplotlib.lines import Line2D

    zh, en = _t("notice_title")
    fig.text(0.5, 0.952, zh, fontproperties=fonts["title"], ha="center",
             va="center", color=GRID_EDGE)
    fig.text(0.5, 0.921, en, fontproperties=fonts["title_en"], ha="center",
             va="center", color="#555555")
    fig.add_artist(Line2D([0.06, 0.94], [0.905, 0.905], color=GRID_EDGE,
                          linewidth=1.6, transform=fig.transFigure))
    level_zh, level_en = vocab.GRID_LEVELS[found["level"]]
    fig.text(0.06, 0.882, f"{found['name']}", fontproperties=fonts["name"],
             va="center")
    fig.text(0.94, 0.882, f"{_t('code')[0]} {found['code']}",
             fontproperties=fonts["text"], va="center", ha="right")
    chain = " › ".join(g["name"] for g in found["chain"])
    fig.text(0.06, 0.855, f"{chain} · {level_zh} {level_en}",
             fontproperties=fonts["small"], va="center", color="#333333")


def _heading(fig, x, y, key, fonts):
    """A column's heading: Chinese, the English smaller below it."""
    zh, en = _t(key)
    fig.text(x, y, zh, fontproperties=fonts["heading"], va="center")
    fig.text(x, y - 0.017, en, fontproperties=fonts["tiny"], va="center",
             color="#555555")


def _people(fig, found, fonts):
    """The people's table under the map: role, name, 公示电话."""
    top = MAP_BOX[1] - 0.045
    _heading(fig, 0.06, top, "notice_people", fonts)
    top -= 0.012
    staff = found["staff"]
    if not staff:
        fig.text(0.06, top - 0.03, _zh_en("notice_no_staff"),
                 fontproperties=fonts["text"], va="center")
        return
    step = 0.021
    y = top - 0.03
    for person in staff[:MAX_PEOPLE]:
        role = vocab.STAFF_ROLES.get(person["role"], (person["role"], ""))[0]
        fig.text(0.06, y, role, fontproperties=fonts["small"], va="center",
                 color="#333333")
        fig.text(0.20, y, person["name"], fontproperties=fonts["text"], va="center")
        fig.text(0.34, y, person["shown_phone"] or "—",
                 fontproperties=fonts["text"], va="center")
        y -= step
    if len(staff) > MAX_PEOPLE:
        zh, en = pair("notice_more_staff", n=len(staff) - MAX_PEOPLE)
        fig.text(0.06, y, f"{zh} ({en})", fontproperties=fonts["small"],
                 va="center", color="#333333")


def _facts(fig, found, fonts):
    """Service hours and households, the right column under the map."""
    from matplotlib.patches import FancyBboxPatch

    left, top = 0.56, MAP_BOX[1] - 0.045
    _heading(fig, left, top, "notice_hours", fonts)
    top -= 0.012
    hours = found["service_hours"] or _zh_en("notice_hours_unset")
    lines = [line for part in hours.splitlines()
             for line in print_page.wrap(part, 20)][:8]
    for k, line in enumerate(lines):
        fig.text(left + 0.01, top - 0.03 - 0.022 * k, line,
                 fontproperties=fonts["text"], va="center")
    bottom = top - 0.03 - 0.022 * 8
    fig.add_artist(FancyBboxPatch(
        (left - 0.01, bottom), 0.39, top - bottom - 0.016,
        boxstyle="round,pad=0.004", facecolor="none", edgecolor="#999999",
        linewidth=0.6, transform=fig.transFigure))
    fig.text(left, bottom - 0.03,
             f"{_zh_en('household_count')}: {found['households']}",
             fontproperties=fonts["heading"], va="center")


def _footer(fig, found, fonts, printed, centre):
    from matplotlib.lines import Line2D

    fig.add_artist(Line2D([0.06, 0.94], [0.06, 0.06], color="#999999",
                          linewidth=0.6, transform=fig.transFigure))
    fig.text(0.06, 0.042, centre, fontproperties=fonts["text"], va="center")
    zh, en = localtime.LABEL
    fig.text(0.94, 0.042,
             f"{_zh_en('notice_printed')} {print_page.china(printed)} ({zh} {en})",
             fontproperties=fonts["small"], va="center", ha="right",
             color="#333333")


def centre_name(found, configured=None):
    """The centre in the footer: the configured name, else the town's
    ``{town}综治中心``."""
    if configured:
        return configured
    town = found["chain"][0]["name"] if found["chain"] else ""
    return pair("notice_centre", town=town)[0]


def _draw(fig, found, context, fonts, printed, centre):
    _header(fig, found, fonts)
    _map(fig, found, context, fonts)
    _people(fig, found, fonts)
    _facts(fig, found, fonts)
    _footer(fig, found, fonts, printed, centre_name(found, centre))


def render(found, context=None, fmt="pdf", printed=None, centre=None):
    """The notice of ``found`` (``layers.notices.notice``) as one A4 page.

    Parameters
    ----------
    found : dict
        The grid's notice data.
    context : dict, optional
        The basemap's features (``layers.notice_basemap.context``).
    fmt : {"pdf", "png"}
        PDF with the text as text, or PNG at ``PNG_DPI``.
    printed : datetime, optional
        The time printed in the footer (default now).
    centre : str, optional
        The centre's name (default: the town's 综治中心).

    Raises
    ------
    FontMissing
        When the server lacks the Chinese font.
    """
    if fmt not in ("pdf", "png"):
        raise ValueError(f"fmt must be 'pdf' or 'png', got {fmt!r}")
    fonts = print_page.fonts(_FONT_SIZES)
    fig = print_page.figure(PAGE_INCHES, PNG_DPI)
    _draw(fig, found, context or {}, fonts, printed or dt.datetime.now(dt.UTC),
          centre)
    return print_page.save(fig, fmt, PNG_DPI,
                           f"{_t('notice_title')[0]} {found['name']} {found['code']}")


def render_many(pages, title, printed=None, centre=None):
    """One PDF of many notices: ``pages`` yields ``(found, context)`` pairs, a
    page each, drawn one at a time (a village's notices never all in memory)."""
    from matplotlib.backends.backend_pdf import PdfPages

    fonts = print_page.fonts(_FONT_SIZES)
    printed = printed or dt.datetime.now(dt.UTC)
    out = io.BytesIO()
    with PdfPages(out, metadata={"Title": title, "Creator": "gridgov"}) as pdf:
        for found, context in pages:
            fig = print_page.figure(PAGE_INCHES, PNG_DPI)
            _draw(fig, found, context or {}, fonts, printed, centre)
            pdf.savefig(fig, facecolor="white")
    return out.getvalue()


def context(found, basemap_file):
    """The offline basemap's features around the grid of ``found`` (a notice of
    ``layers.notices.notice``) and its margin; none without a basemap file."""
    from layers import notice_basemap

    x0, y0, x1, y1 = found["geometry"].bounds
    pad = MAP_MARGIN * 2 * max(x1 - x0, y1 - y0)
    return notice_basemap.context(basemap_file, (x0 - pad, y0 - pad, x1 + pad,
                                                 y1 + pad))


def filename(code, fmt, many=False):
    """``notice-<code>.<fmt>``, or ``notices-<code>.pdf`` for many."""
    return f"notices-{code}.pdf" if many else f"notice-{code}.{fmt}"
