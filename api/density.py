"""GET /api/v1/heatmap and /api/v1/hotspots: incident density and Gi* hot spots.

Both read the per-day, per-cell counts of ``layers/density.py`` (never the
incidents themselves), over the user's jurisdiction.
"""

import re

from flask import Blueprint, jsonify, request

from api.auth import current, requires
from api.db import read_connection
from api.openapi import ARRAY, FEATURE_COLLECTION, INTEGER, NUMBER, OBJECT, obj
from api.params import (
    BBOX,
    CELL_M,
    FROM,
    TO,
    ChoiceParam,
    FloatParam,
    IntParam,
    Param,
    TextParam,
    accepts,
)
from geo.catalogue import say
from geo.vocab import INCIDENT_CATEGORIES
from layers import density
from layers.errors import Invalid

bp = Blueprint("density", __name__)

CATEGORY = Param("category", "事件类别，逗号分隔（默认全部）",
                 "incident categories, comma-separated (default all): "
                 + ", ".join(f"{k} {v[0]}" for k, v in INCIDENT_CATEGORIES.items()),
                 parse=lambda name: _categories(name))
_WINDOW = (FROM.but(en="first day (China time), inclusive; default: the first data"),
           TO.but(en="last day (China time), inclusive; default: the last data"),
           CATEGORY)
ZOOM = IntParam("zoom", "地图缩放级别：格子约 20 像素宽",
                "map zoom: cells about 20 pixels wide", low=0, high=22)
FORMAT = ChoiceParam("format", "compact（格子中心行）或 geojson（方格）",
                     "compact (rows [lon, lat, count, class] of the cell centres) "
                     "or geojson (squares)", default="compact",
                     choices=("compact", "geojson"))
METHOD = ChoiceParam("method", "bins（每格事件数）或 kde（核密度，每平方公里）",
                     "bins (incidents per cell) or kde (a kernel density raster on "
                     "the same cells, quartic kernel, incidents per km²: "
                     "'density')", default="bins", choices=("bins", "kde"))
BANDWIDTH_M = FloatParam("bandwidth_m", "kde 的带宽（米）", "kde's bandwidth in "
                         "metres (default three cells, at least 100 m)", low=10,
                         high=20_000)
UNIT_LEVEL = ChoiceParam("level", "1–4（该层级网格）或 cells（方格）；默认 4",
                         "1–4 (grids of that level) or cells; default 4",
                         default="4", choices=("1", "2", "3", "4", "cells"))
UNDER_GRID = TextParam("grid", "只看此网格之下的单元", "only the units under this "
                       "grid", parse=lambda name: _grid(name),
                       schema={"type": "string", "pattern": "^[0-9]{9,18}$"})
WEIGHTS = ChoiceParam("weights", "queen（默认：共角也算相邻）或 rook",
                      "queen (default: shared corners count) or rook",
                      default="queen", choices=("queen", "rook"))
BAND_M = FloatParam("band_m", "仅方格：此距离内为邻居",
                    "cells only: neighbours within this distance", low=1,
                    high=100_000)


def _window(day_from, day_to):
    if day_from and day_to and day_from > day_to:
        raise Invalid(say("err_from_after_to_days", day_from=day_from, day_to=day_to),
                      field="from")


def _categories(name):
    raw = request.args.get(name, "").strip()
    categories = None
    if raw:
        categories = sorted({c.strip() for c in raw.split(",") if c.strip()})
        unknown = [c for c in categories if c not in INCIDENT_CATEGORIES]
        if unknown:
            raise Invalid(say("err_category_param", unknown=', '.join(unknown),
                              known=', '.join(INCIDENT_CATEGORIES)), field="category")
    return categories


def _grid(name):
    grid = request.args.get(name, "").strip() or None
    if grid is not None and not re.fullmatch(r"[0-9]{9,18}", grid):
        raise Invalid(say("err_grid_param", grid=grid),
                      field="grid")
    return grid


@bp.get("/heatmap")
@requires("incidents:read")
@accepts(*_WINDOW, BBOX, ZOOM, CELL_M, FORMAT, METHOD, BANDWIDTH_M, responses={
    200: obj("{crs, cell_m, from, to, categories, total, max, breaks, fields, "
             "cells} (at most 5,000 cells: coarser when more)",
             required=("cell_m", "total"), cell_m=NUMBER, total=INTEGER,
             breaks=ARRAY, cells={"oneOf": [ARRAY, OBJECT]})})
def heatmap(from_, to, category, bbox, zoom, cell_m, format, method, bandwidth_m):
    """Incident density over a time window: counts per square cell (Gauss-Krüger
    zone of the deployment) or a kernel density raster"""
    _window(from_, to)
    with read_connection() as conn:
        answer = density.heatmap(
            conn, current(), from_, to, category, bbox=bbox, zoom=zoom,
            cell_m=cell_m, geojson=format == "geojson", method=method,
            bandwidth_m=bandwidth_m)
    return jsonify(answer)


@bp.get("/hotspots")
@requires("incidents:read")
@accepts(*_WINDOW, UNIT_LEVEL, UNDER_GRID, WEIGHTS, BAND_M, CELL_M, responses={
    200: {**FEATURE_COLLECTION, "description": "FeatureCollection; properties "
          "count, z, p, bin (+3…-3), class (hot_99 … cold_99, not_significant); "
          "legend, numberMatched"}})
def hotspots(from_, to, category, level, grid, weights, band_m, cell_m):
    """Getis-Ord Gi* hot and cold spots of incident counts per grid of a level or
    per square cell (GeoJSON); 400 with fewer than 3 units"""
    _window(from_, to)
    rook = weights == "rook"
    if band_m is not None and level != "cells":
        raise Invalid(say("err_band_cells_only"), field="band_m")
    with read_connection() as conn:
        answer = density.hotspots(
            conn, current(), level if level == "cells" else int(level),
            from_, to, category, grid=grid, cell_m=cell_m, rook=rook, band_m=band_m)
    return jsonify(answer)
