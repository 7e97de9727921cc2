"""Bulk assignment in SQL puts every point back into the micro-grid holding it."""

import pytest

from layers import demo
from layers.assign import reassign

pytestmark = pytest.mark.db


def test_scrambled_grid_codes_come_back(conn, demo_town):
    demo.load(conn, demo_town, {"scale": "town", "seed": 1})
    codes = sorted(demo_town.grids[demo_town.grids.level == 4].code)
    # scramble: every household to the first micro-grid, a few out of any grid
    conn.execute("UPDATE households SET grid_code = %s", (codes[0],))
    conn.execute("UPDATE households SET geom = ST_Translate(geom, 1, 0)"
                 " WHERE id <= 3")  # a degree east: outside the town
    changed = reassign(conn, "households")
    expected = dict(zip(demo_town.households.external_id,
                        demo_town.households.grid_code, strict=True))
    rows = conn.execute("SELECT id, external_id, grid_code FROM households").fetchall()
    wrong = [(e, g) for i, e, g in rows if i > 3 and g != expected[e]]
    assert wrong == []
    assert [g for i, _, g in rows if i <= 3] == [None, None, None]
    # every household changed except those rightly in the first micro-grid (the
    # three moved out of town changed too: to no grid)
    stays = sum(1 for i, e, _ in rows if i > 3 and expected[e] == codes[0])
    assert changed == len(rows) - stays


def test_only_followers_can_be_reassigned(conn):
    with pytest.raises(ValueError, match="does not follow"):
        reassign(conn, "grid_staff")
