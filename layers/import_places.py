"""Where imported rows may lie: the deployment (the union of the level-1 grids)
or, for a user with a jurisdiction, that jurisdiction, each with the margin of
:data:`geo.deployment.MARGIN_M`. The SQL that loads the polygons, composed with
the pure checks of :mod:`geo.deployment`.

Before any level-1 grid exists there is no deployment: only an administrator's
import of grids is accepted, and its level-1 grids create it.
"""

import numpy as np
import shapely

from geo.deployment import MARGIN_M, Area, compass, round_km
from layers.errors import Forbidden
from layers.import_messages import say

__all__ = ["deployment", "area_of", "no_area", "wrong_kind", "check_points",
           "far_level1", "NOT_POINT"]

# shapely type ids of the geometries a point layer takes
_POINT_TYPES = (0,)
_POLYGON_TYPES = (3, 6)
NOT_POINT = "not_point"


def deployment(conn):
    """The deployment as a :class:`geo.deployment.Area`, None before any level-1
    grid exists."""
    rows = conn.execute("SELECT ST_AsBinary(geom) FROM grids WHERE level = 1"
                        ).fetchall()
    polygons = shapely.from_wkb([bytes(r[0]) for r in rows])
    return Area(polygons) if len(polygons) else None


def area_of(conn, principal, founds_deployment=False):
    """The area an import by ``principal`` must keep to and its names for
    messages (``where``, ``where_zh``), or (None, …) before the deployment
    exists: then only an administrator's import of a target that
    ``founds_deployment`` (grids) is accepted (else Forbidden), and the rows of
    any other are refused (:func:`no_area`)."""
    if principal.grid_code is not None:
        rows = conn.execute("SELECT name, ST_AsBinary(geom) FROM grids"
                            " WHERE code = %s", (principal.grid_code,)).fetchall()
        if rows:
            code, name = principal.grid_code, rows[0][0]
            return Area(shapely.from_wkb([bytes(rows[0][1])])), {
                "scope": "jurisdiction", "where": f"{code} ({name})",
                "where_zh": f"{code} {name}"}
    found = deployment(conn)
    if found is None and founds_deployment and principal.role != "admin":
        raise Forbidden(say("deployment_admin_only"), field="layer")
    return found, {"scope": "deployment", "where": "the deployment",
                   "where_zh": "本系统"}


def no_area(frame):
    """Report entries for every row of ``frame``: no deployment to place it in
    (no level-1 grid yet)."""
    reason = say("no_deployment")
    return [{"row": int(r), "field": "geometry", "value": None, "reason": reason}
            for r in frame["row"].to_numpy()]


def wrong_kind(frame, geometry, layer, layer_zh):
    """Report entries for the rows of ``frame`` that are not of the
    ``geometry`` the layer takes ("point", or "polygon": (multi)polygons), and
    the mask of the others. The geometry's kind is the value."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    polygons = geometry == "polygon"
    ok = np.isin(shapely.get_type_id(geoms), _POLYGON_TYPES if polygons
                 else _POINT_TYPES)
    rows = frame["row"].to_numpy()
    out = []
    for i in np.flatnonzero(~ok):
        at = shapely.point_on_surface(geoms[i])
        kind = geoms[i].geom_type
        reason = (say("grid_not_polygon", kind=kind) if polygons else
                  say(NOT_POINT, kind=kind, layer=layer, layer_zh=layer_zh))
        out.append({"row": int(rows[i]), "field": "geometry", "value": kind,
                    "lon": float(at.x), "lat": float(at.y), "reason": reason})
    return out, ok


def check_points(area, where, frame):
    """Rows of ``frame`` (points) outside ``area`` with its margin: their report
    entries, the mask of those inside, and the refusal message to give when none
    is (None when some are)."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    xy = shapely.get_coordinates(geoms)
    inside = area.contains(xy[:, 0], xy[:, 1])
    out_i = np.flatnonzero(~inside)
    if not out_i.size:
        return [], inside, None
    metres, azimuth = area.away(xy[out_i, 0], xy[out_i, 1])
    rows = frame["row"].to_numpy()
    names = {"where": where["where"], "where_zh": where["where_zh"]}
    key = f"outside_{where['scope']}"
    out = []
    for k, i in enumerate(out_i):
        zh, en = compass(azimuth[k]) if np.isfinite(azimuth[k]) else ("", "")
        away = say("lies_away", km=round_km(metres[k]), dir_zh=zh, dir=en,
                   margin=round_km(MARGIN_M))
        out.append({"row": int(rows[i]), "field": "geometry", "value": None,
                    "lon": float(xy[i, 0]), "lat": float(xy[i, 1]),
                    "reason": say(key, detail=away, **names)})
    refusal = None
    if not inside.any():
        metres, (zh, en) = area.summary(xy[:, 0], xy[:, 1])
        refusal = say("outside_area_all", n=f"{len(xy):,}", km=round_km(metres),
                      dir_zh=zh, dir=en, **names)
    return out, inside, refusal


def far_level1(area, geoms):
    """For level-1 grid polygons: (metres, compass point) from the deployment of
    each, None for those within its margin."""
    out = []
    for g, gap in zip(geoms, area.distance(geoms), strict=True):
        if gap <= area.margin:
            out.append(None)
            continue
        c = shapely.point_on_surface(g)
        out.append((float(gap), area.summary([c.x], [c.y])[1]))
    return out
