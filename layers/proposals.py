"""Micro-grid proposals for a comprehensive grid (read-only: adopting one is an
edit, ``layers.grid_edit.replace_children``)."""

import numpy as np
import shapely
from pyproj import Transformer

from geo.catalogue import say
from geo.crs import gk_zone_epsg
from geo.propose import ProposalError, compactness, propose_micro_grids
from layers.errors import NotFound, Unprocessable

__all__ = ["propose"]


def propose(conn, principal, code, target=75, low=50, high=100):
    """Propose micro-grids of ``low``–``high`` households tiling grid ``code``.

    Returns a GeoJSON FeatureCollection (EPSG:4326), one feature per proposed
    micro-grid with ``households`` and ``compactness`` (Polsby–Popper), and a
    ``summary``.
    """
    row = conn.execute(
        "SELECT level, ST_AsBinary(geom) FROM grids WHERE code = %s AND code LIKE %s",
        (code, principal.prefix)).fetchone()
    if row is None:
        raise NotFound(say("err_no_grid_code", code=code), field="code")
    if row[0] != 3:
        raise Unprocessable(say("err_propose_level3"), field="code")
    parent = shapely.from_wkb(row[1])
    points = conn.execute(
        "SELECT ST_X(geom), ST_Y(geom) FROM households WHERE grid_code LIKE %s"
        " ORDER BY id", (code + "%",)).fetchall()
    lonlat = np.array(points, dtype=float).reshape(-1, 2)
    epsg = gk_zone_epsg(shapely.centroid(parent).x)
    forward = Transformer.from_crs(4326, epsg, always_xy=True)
    back = Transformer.from_crs(epsg, 4326, always_xy=True)
    xy = np.column_stack(forward.transform(lonlat[:, 0], lonlat[:, 1])) \
        if len(lonlat) else lonlat

    def project(geom, t):
        return shapely.transform(geom, lambda c: np.column_stack(
            t.transform(c[:, 0], c[:, 1])))

    try:
        polygons, labels = propose_micro_grids(project(parent, forward), xy,
                                               target, low, high)
    except ProposalError as exc:
        raise Unprocessable(str(exc), field="target") from None
    counts = np.bincount(labels, minlength=len(polygons))
    scores = compactness(polygons)
    features = [
        {"type": "Feature",
         "geometry": shapely.geometry.mapping(project(p, back)),
         "properties": {"index": i + 1, "households": int(n),
                        "compactness": round(float(s), 3)}}
        for i, (p, n, s) in enumerate(zip(polygons, counts, scores, strict=True))]
    return {
        "type": "FeatureCollection",
        "features": features,
        "summary": {"households": int(len(labels)), "grids": len(polygons),
                    "min": int(counts.min()), "max": int(counts.max()),
                    "compactness": round(float(scores.mean()), 3),
                    "within_bounds": bool(counts.min() >= low and counts.max() <= high),
                    "method": "recursive coordinate bisection + Voronoi faces"},
    }
