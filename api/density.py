"""GET /api/v1/heatmap and /api/v1/hotspots: incident density and Gi* hot spots.

Both read the per-day, per-cell counts of ``layers/density.py`` (never the
incidents themselves), over the user's jurisdiction.
"""

import re

from flask import Blueprint, jsonify, request

from api.auth import current, requires
from api.db import connection
from api.params import bbox_arg, date_arg, float_arg, int_arg
from geo.catalogue import say
from geo.vocab import INCIDENT_CATEGORIES
from layers import density
from layers.errors import Invalid

bp = Blueprint("density", __name__)

_WINDOW = [
    {"name": "from", "in": "query", "required": False,
     "description": "first day (China time), inclusive; default: the first data",
     "schema": {"type": "string", "format": "date"}},
    {"name": "to", "in": "query", "required": False,
     "description": "last day (China time), inclusive; default: the last data",
     "schema": {"type": "string", "format": "date"}},
    {"name": "category", "in": "query", "required": False,
     "description": "incident categories, comma-separated (default all): "
                    + ", ".join(f"{k} {v[0]}" for k, v in INCIDENT_CATEGORIES.items()),
     "schema": {"type": "string"}},
]
_CELL_M = {"name": "cell_m", "in": "query", "required": False,
           "description": "cell size in metres, a multiple of 50",
           "schema": {"type": "integer", "minimum": 50, "maximum": 51200}}

OPENAPI = {
    "/heatmap": {
        "get": {
            "summary": "Incident density over a time window: counts per square "
                       "cell (Gauss-Krüger zone of the deployment) or a kernel "
                       "density raster",
            "parameters": _WINDOW + [
                {"name": "bbox", "in": "query", "required": False,
                 "description": "min_lon,min_lat,max_lon,max_lat (WGS-84)",
                 "schema": {"type": "string"}},
                {"name": "zoom", "in": "query", "required": False,
                 "description": "map zoom: cells about 20 pixels wide",
                 "schema": {"type": "integer", "minimum": 0, "maximum": 22}},
                _CELL_M,
                {"name": "format", "in": "query", "required": False,
                 "description": "compact (rows [lon, lat, count, class] of the "
                                "cell centres) or geojson (squares)",
                 "schema": {"type": "string", "enum": ["compact", "geojson"]}},
                {"name": "method", "in": "query", "required": False,
                 "description": "bins (incidents per cell) or kde (a kernel "
                                "density raster on the same cells, quartic "
                                "kernel, incidents per km²: 'density')",
                 "schema": {"type": "string", "enum": ["bins", "kde"],
                            "default": "bins"}},
                {"name": "bandwidth_m", "in": "query", "required": False,
                 "description": "kde's bandwidth in metres (default three cells, "
                                "at least 100 m)",
                 "schema": {"type": "number", "minimum": 10, "maximum": 20000}},
            ],
            "responses": {
                "200": {"description": "{crs, cell_m, from, to, categories, total, "
                                       "max, breaks, fields, cells} (at most 5,000 "
                                       "cells: coarser when more)"},
                "400": {"description": "bad parameter (named in error.field)"}},
        }
    },
    "/hotspots": {
        "get": {
            "summary": "Getis-Ord Gi* hot and cold spots of incident counts per "
                       "grid of a level or per square cell (GeoJSON)",
            "parameters": _WINDOW + [
                {"name": "level", "in": "query", "required": False,
                 "description": "1–4 (grids of that level) or cells; default 4",
                 "schema": {"type": "string", "enum": ["1", "2", "3", "4", "cells"]}},
                {"name": "grid", "in": "query", "required": False,
                 "description": "only the units under this grid",
                 "schema": {"type": "string"}},
                {"name": "weights", "in": "query", "required": False,
                 "description": "queen (default: shared corners count) or rook",
                 "schema": {"type": "string", "enum": ["queen", "rook"]}},
                {"name": "band_m", "in": "query", "required": False,
                 "description": "cells only: neighbours within this distance",
                 "schema": {"type": "number", "minimum": 1, "maximum": 100000}},
                _CELL_M,
            ],
            "responses": {
                "200": {"description": "FeatureCollection; properties count, z, p, "
                                       "bin (+3…-3), class (hot_99 … cold_99, "
                                       "not_significant); legend, numberMatched"},
                "400": {"description": "bad parameter, or fewer than 3 units"},
                "404": {"description": "grid unknown or not yours"}},
        }
    },
}


def _window():
    day_from, day_to = date_arg("from"), date_arg("to")
    if day_from and day_to and day_from > day_to:
        raise Invalid(say("err_from_after_to_days", day_from=day_from, day_to=day_to),
                      field="from")
    raw = request.args.get("category", "").strip()
    categories = None
    if raw:
        categories = sorted({c.strip() for c in raw.split(",") if c.strip()})
        unknown = [c for c in categories if c not in INCIDENT_CATEGORIES]
        if unknown:
            raise Invalid(say("err_category_param", unknown=', '.join(unknown),
                              known=', '.join(INCIDENT_CATEGORIES)), field="category")
    return day_from, day_to, categories


def _choice(name, allowed, default):
    raw = request.args.get(name, "").strip() or default
    if raw not in allowed:
        raise Invalid(say("err_param_one_of", name=name, allowed=', '.join(allowed),
                          raw=raw), field=name)
    return raw


@bp.get("/heatmap")
@requires("incidents:read")
def heatmap():
    day_from, day_to, categories = _window()
    geojson = _choice("format", ("compact", "geojson"), "compact") == "geojson"
    with connection() as conn:
        answer = density.heatmap(
            conn, current(), day_from, day_to, categories, bbox=bbox_arg(),
            zoom=int_arg("zoom", 0, 22), cell_m=int_arg("cell_m", 50, 51200),
            geojson=geojson, method=_choice("method", ("bins", "kde"), "bins"),
            bandwidth_m=float_arg("bandwidth_m", 10, 20_000, required=False))
    return jsonify(answer)


@bp.get("/hotspots")
@requires("incidents:read")
def hotspots():
    day_from, day_to, categories = _window()
    level = _choice("level", ("1", "2", "3", "4", "cells"), "4")
    grid = request.args.get("grid", "").strip() or None
    if grid is not None and not re.fullmatch(r"[0-9]{9,18}", grid):
        raise Invalid(say("err_grid_param", grid=grid),
                      field="grid")
    rook = _choice("weights", ("queen", "rook"), "queen") == "rook"
    band_m = float_arg("band_m", 1, 100_000, required=False)
    if band_m is not None and level != "cells":
        raise Invalid(say("err_band_cells_only"), field="band_m")
    with connection() as conn:
        answer = density.hotspots(
            conn, current(), level if level == "cells" else int(level),
            day_from, day_to, categories, grid=grid,
            cell_m=int_arg("cell_m", 50, 51200), rook=rook, band_m=band_m)
    return jsonify(answer)
