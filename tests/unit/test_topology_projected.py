"""geo.topology.check_hierarchy on shapes that the metric projection breaks.

A grid left by a real edit (the demo town, seed 1: micro-grid 008003002 grown
~40 m into its sibling 008003001 along their border) is valid in EPSG:4326 but
crosses itself once projected to the Gauss-Krüger zone; the check repairs such
a shape, and the repaired shape no longer shares its neighbours' vertices. The
check must still answer (it raised a GEOS TopologyException from the coverage
union: a 500 on the save), and find the family whole.
"""

import shapely

from geo import edit as geo_edit
from geo.topology import check_hierarchy
from tests.integration.test_grid_edit import _grown

GROWN, SHRUNK = "320282105008003002", "320282105008003001"
PARENT = GROWN[:15]


def test_a_family_with_a_shape_broken_by_the_projection_is_checked(demo_town):
    grids = demo_town.grids
    by_code = grids.set_index("code").geometry
    siblings = {c: by_code[c] for c in grids.code[grids.parent_code == PARENT]}
    new, _ = _grown(by_code[GROWN], by_code[SHRUNK])
    edit = geo_edit.redraw(siblings, GROWN, new, by_code[PARENT])
    assert set(edit.changed) == {GROWN, SHRUNK}
    subtree = grids[grids.code.str.startswith(PARENT)][
        ["code", "level", "parent_code", "geometry"]].copy()
    subtree.loc[subtree.code == PARENT, "parent_code"] = None
    for code, geom in edit.changed.items():
        subtree.loc[subtree.code == code, "geometry"] = shapely.MultiPolygon(
            list(shapely.get_parts(geom)))
    report = check_hierarchy(subtree)
    assert [e for e in report["errors"] if e["kind"] != "households"] == []
