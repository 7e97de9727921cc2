"""A province, generated one county at a time from the city generator.

>>> county_code(0), county_code(9), county_code(10)
('320121', '320130', '320221')

Each county is :func:`geo.demo.generate` run with the province's per-county scale
and a seed of its own, then given its own division code and its own place, so that
a province of any size is made (and loaded, ``layers.demo.load_province``) one
county at a time in bounded memory, and county ``k`` is the same whatever the
number of counties asked for (a re-run that asks for more resumes).

Why the generator's output is moved rather than generated in place: ``generate``
lays every demo out around ``hierarchy.CENTRE`` with the codes of county 320282;
taking its output as it is keeps the province whatever the generator gains (a new
frame, a new column). A county

- moves, in the Gauss-Krüger plane it was drawn in, to the centre of its own cell
  of a lattice (:data:`COLUMNS` cells a row, west to east, then north to south,
  from :data:`NORTH_WEST`): counties side by side, never overlapping, inside
  China for every allowed number of them (:data:`MAX_COUNTIES`);
- replaces the prefix 320282 of every grid code, and of the camera codes made from
  them, by its county code (:func:`county_code`);
- puts its county code into the identifiers the generator numbers from 1 in every
  demo: household external ids (``H`` + county + 7 digits) and incident codes
  (``SJ`` + county + date + 4 digits; the codes the application gives new
  incidents are ``SJ`` + date + 4 digits and cannot meet these).

Staff, events and tracks take their ids from the database's sequences.
"""

import dataclasses
import math

import geopandas
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from geo.crs import WGS84, gk_zone_epsg
from geo.demo import generate, hierarchy, names
from geo.demo.scales import SCALES

__all__ = [
    "COLUMNS",
    "MAX_COUNTIES",
    "NORTH_WEST",
    "box",
    "cell_m",
    "county",
    "county_code",
    "county_names",
    "county_seed",
]

PROVINCE = "32"  # the division code's first two digits (a Jiangsu-like province)
PER_PREFECTURE = 10  # counties numbered 21–30 (县) in each prefecture 01, 02 …
MAX_COUNTIES = 200  # 20 prefectures; 20 rows of the lattice stay inside China
COLUMNS = 10  # lattice cells per row
NORTH_WEST = (116.6, 34.8)  # lon, lat of the lattice's corner (near Xuzhou)
GENERATED = "320282"  # the county code of everything ``generate`` makes
# A county's outline spans at most this many times the radius of the disc of the
# same area each side of its centre: the widest of 20,000 outlines drawn as
# ``hierarchy._blob`` draws them reached 1.30 (tests/unit/test_province.py)
_REACH = 1.45
_GAP_M = 500.0  # at least this between two counties' cells' contents
_PLANE = f"EPSG:{gk_zone_epsg(hierarchy.CENTRE[0])}"  # where generate draws


def county_code(k):
    """The 6-digit division code of county ``k`` (0-based): province 32, then
    prefecture ``1 + k // 10``, then county ``21 + k % 10``."""
    if not 0 <= k < MAX_COUNTIES:
        raise ValueError(f"county {k} is not in 0–{MAX_COUNTIES - 1}")
    return f"{PROVINCE}{1 + k // PER_PREFECTURE:02d}{21 + k % PER_PREFECTURE:02d}"


def county_names(seed, n):
    """The names of the first ``n`` counties (such as 石桥县), distinct, the same
    whatever ``n``: drawn for :data:`MAX_COUNTIES` counties from ``seed``."""
    rng = np.random.default_rng([int(seed), 0])
    return names.place_names(MAX_COUNTIES, rng, "县")[:n]


def county_seed(seed, k):
    """The generator's seed of county ``k``: from (seed, k), independent of the
    other counties."""
    return int(np.random.SeedSequence([int(seed), int(k) + 1]).generate_state(1)[0])


def _scale(scale):
    return SCALES[scale] if isinstance(scale, str) else scale


def cell_m(scale):
    """The side in metres of a lattice cell: room for the widest county of
    ``scale`` (its area drawn up to 10 % over ``towns * town_km2``) and a gap."""
    scale = _scale(scale)
    radius = math.sqrt(1.1 * scale.towns * scale.town_km2 * 1e6 / math.pi)
    return 2 * (_REACH * radius + _GAP_M)


def _centre(k, scale):
    """The centre of county ``k``'s cell in the generator's plane."""
    x0, y0 = Transformer.from_crs(WGS84, _PLANE, always_xy=True).transform(
        *NORTH_WEST)
    side = cell_m(scale)
    row, col = divmod(k, COLUMNS)
    return np.array([x0 + (col + 0.5) * side, y0 - (row + 0.5) * side])


def box(k, scale):
    """County ``k``'s cell as a polygon in EPSG:4326 (the plane's square, its
    sides densified to 1 km before they are unprojected)."""
    half = cell_m(_scale(scale)) / 2
    x, y = _centre(k, _scale(scale))
    square = shapely.segmentize(shapely.box(x - half, y - half, x + half, y + half),
                                1000.0)
    back = Transformer.from_crs(_PLANE, WGS84, always_xy=True)
    return shapely.transform(square, lambda c: np.c_[back.transform(c[:, 0],
                                                                    c[:, 1])])


def _mover(shift):
    """A function of (n, 2) lon/lat arrays moving them by ``shift`` metres in the
    generator's plane."""
    there = Transformer.from_crs(WGS84, _PLANE, always_xy=True)
    back = Transformer.from_crs(_PLANE, WGS84, always_xy=True)

    def move(coords):
        x, y = there.transform(coords[:, 0], coords[:, 1])
        return np.c_[back.transform(x + shift[0], y + shift[1])]

    return move


def _prefixed(values, code):
    """Grid-derived codes with their first 6 digits (320282) replaced by ``code``;
    None stays None."""
    values = pd.Series(values, dtype=object)
    given = values.notna()
    if not values[given].str.startswith(GENERATED).all():
        raise ValueError(f"a generated code does not start with {GENERATED}")
    out = values.copy()
    out[given] = code + values[given].str.slice(6)
    return out.to_numpy(dtype=object)


def _numbered(values, head, code):
    """``head`` + county code + what followed ``head`` (H0000001 →
    H3201210000001, SJ202611010001 → SJ320121202611010001)."""
    values = pd.Series(values, dtype=object)
    return (head + code + values.str.slice(len(head))).to_numpy(dtype=object)


def _recode(name, frame, code):
    """Rewrite, in place, the columns of ``frame`` (the demo's frame ``name``)
    that hold codes or numbered identifiers."""
    for column in frame.columns:
        if column in ("grid_code", "parent_code") or (
                column == "code" and name in ("grids", "cameras")):
            frame[column] = _prefixed(frame[column], code)
        elif column == "incident_code" or (column == "code" and name == "incidents"):
            frame[column] = _numbered(frame[column], "SJ", code)
        elif column == "external_id" and name == "households":
            frame[column] = _numbered(frame[column], "H", code)


def county(scale, seed, k, as_of):
    """County ``k`` of the province of ``seed``: a :class:`geo.demo.Demo` in
    EPSG:4326 with county ``k``'s codes and place.

    Parameters
    ----------
    scale : "province" or a :class:`geo.demo.Scale`
        The sizes of one county (``counties`` is ignored here).
    seed : int
        The province's seed; the county's own is :func:`county_seed`.
    k : int
        0-based, below :data:`MAX_COUNTIES`.
    as_of : datetime.date

    Returns
    -------
    geo.demo.Demo
    """
    scale = _scale(scale)
    code = county_code(k)
    demo = generate(dataclasses.replace(scale, counties=1),
                    seed=county_seed(seed, k), as_of=as_of)
    towns = demo.grids.geometry.values[demo.grids["level"].to_numpy() == 1]
    there = Transformer.from_crs(WGS84, _PLANE, always_xy=True)
    x0, y0, x1, y1 = shapely.total_bounds(
        shapely.transform(towns, lambda c: np.c_[there.transform(c[:, 0], c[:, 1])]))
    half = cell_m(scale) / 2 - _GAP_M
    if max(x1 - x0, y1 - y0) / 2 > half:
        raise ValueError(f"county {code} is {x1 - x0:.0f} × {y1 - y0:.0f} m, wider "
                         f"than its cell ({2 * half:.0f} m): raise _REACH")
    move = _mover(_centre(k, scale) - [(x0 + x1) / 2, (y0 + y1) / 2])
    # frame by frame, in place: one frame's geometry at a time is held twice
    for field in dataclasses.fields(demo):
        frame = getattr(demo, field.name)
        if frame is None:
            continue
        _recode(field.name, frame, code)
        if isinstance(frame, geopandas.GeoDataFrame) and len(frame):
            frame[frame.geometry.name] = shapely.transform(frame.geometry.values,
                                                           move)
    return demo
