"""geo.demo.province: a province generated one county at a time, each county the
city generator's output with its own codes and its own place.

Two counties of a tiny province (``tests.common.TINY_COUNTY``) stand in for the
province's 300,000-household counties.
"""

import dataclasses
import datetime
import doctest

import numpy as np
import pytest
import shapely
from pyproj import Geod

from geo.assign import assign_codes
from geo.demo import Scale, generate, hierarchy, province
from tests.common import TINY_COUNTY

AS_OF = datetime.date(2026, 11, 1)
SEED = 7
TINY = Scale(**TINY_COUNTY)


@pytest.fixture(scope="module")
def counties():
    return [province.county(TINY, SEED, k, AS_OF) for k in (0, 1)]


def test_doctests():
    assert doctest.testmod(province).failed == 0


def test_county_codes_are_distinct_division_codes():
    codes = [province.county_code(k) for k in range(province.MAX_COUNTIES)]
    assert len(set(codes)) == province.MAX_COUNTIES
    assert all(len(c) == 6 and c.isdigit() and c.startswith("32") for c in codes)
    # counties 21–30 of prefectures 01–20: 320121 … 322030
    assert codes[0] == "320121" and codes[-1] == "322030"
    with pytest.raises(ValueError, match="not in 0–199"):
        province.county_code(province.MAX_COUNTIES)


def test_county_names_are_distinct_and_do_not_depend_on_how_many():
    all_names = province.county_names(SEED, province.MAX_COUNTIES)
    assert len(set(all_names)) == province.MAX_COUNTIES
    assert all(n.endswith("县") and len(n) == 3 for n in all_names)
    assert list(province.county_names(SEED, 3)) == list(all_names[:3])


def test_a_county_fits_its_cell():
    # The widest county outline, measured as hierarchy._blob draws them (the
    # vertex counts of 1–5 towns), as a multiple of the radius of the disc of the
    # same area: the cell leaves room for province._REACH of it. 20,000 outlines
    # gave 1.30 at most; 4,000 here.
    rng = np.random.default_rng(3)
    worst = 0.0
    for i in range(4000):
        area = 1e6 * rng.uniform(1, 400)
        blob = hierarchy._blob((0.0, 0.0), area, 40 + 8 * (1 + i % 5), rng)
        x0, y0, x1, y1 = blob.bounds
        worst = max(worst, max(x1 - x0, y1 - y0) / 2 / np.sqrt(area / np.pi))
    assert 1.1 < worst < province._REACH


def _identifiers(demo):
    return {
        "grids": set(demo.grids.code),
        "cameras": set(demo.cameras.code),
        "incidents": set(demo.incidents.code),
        "households": set(demo.households.external_id),
    }


def test_two_counties_never_share_a_code_or_an_id(counties):
    first, second = (_identifiers(c) for c in counties)
    for kind in first:
        assert first[kind] and second[kind]
        assert not first[kind] & second[kind], kind
    for k, demo in enumerate(counties):
        code = province.county_code(k)
        # unique within the county too, and each names its county
        assert demo.grids.code.is_unique and demo.cameras.code.is_unique
        assert demo.incidents.code.is_unique and demo.households.external_id.is_unique
        for column in (demo.grids.code, demo.cameras.code, demo.households.grid_code,
                       demo.staff.grid_code, demo.incidents.grid_code):
            assert column.str.startswith(code).all()
        assert demo.grids.parent_code.dropna().str.startswith(code).all()
        assert demo.households.external_id.str.fullmatch(f"H{code}\\d{{7}}").all()
        assert demo.incidents.code.str.fullmatch(f"SJ{code}\\d{{12}}").all()
        assert set(demo.incident_events.incident_code) == set(demo.incidents.code)
        # a county's only town: the generator's 320282105, now code + 105
        assert list(demo.grids.code[demo.grids.level == 1]) == [code + "105"]


def test_each_county_lies_in_its_own_box(counties):
    boxes = [province.box(k, TINY) for k in (0, 1)]
    assert shapely.area(shapely.intersection(*boxes)) == 0  # side by side
    for k, demo in enumerate(counties):
        grids = shapely.union_all(demo.grids.geometry.values)
        assert boxes[k].contains(grids)
        assert not boxes[1 - k].intersects(grids)
        for frame in (demo.households, demo.staff, demo.cameras, demo.incidents,
                      demo.tracks):
            assert len(frame) and boxes[k].contains(
                shapely.multipoints(frame.geometry.values))
        assert demo.grids.crs == demo.households.crs == "EPSG:4326"
        # inside China, north-west corner first
        lon0, lat0, lon1, lat1 = grids.bounds
        assert 116 < lon0 < lon1 < 118 and 34 < lat0 < lat1 < 35


def test_a_county_is_the_generated_one_moved_whole(counties):
    # the same grids, households and incidents as generate makes for the
    # county's seed, moved: every grid valid, every household still in the
    # micro-grid it names, areas the same within the projection's scale (0.5 %)
    plain = generate(dataclasses.replace(TINY, counties=1),
                     seed=province.county_seed(SEED, 1), as_of=AS_OF)
    moved = counties[1]
    assert moved.counts() == plain.counts()
    assert shapely.is_valid(moved.grids.geometry.values).all()
    level4 = moved.grids[moved.grids.level == 4]
    found = assign_codes(moved.households.geometry.values,
                         level4.geometry.values, level4.code.to_numpy())
    assert (found == moved.households.grid_code.to_numpy()).all()
    geod = Geod(ellps="GRS80")
    before = np.array([abs(geod.geometry_area_perimeter(g)[0])
                       for g in plain.grids.geometry.values])
    after = np.array([abs(geod.geometry_area_perimeter(g)[0])
                      for g in moved.grids.geometry.values])
    assert np.allclose(after, before, rtol=0.005)
    assert (moved.households.address.to_numpy()
            == plain.households.address.to_numpy()).all()


def test_a_county_depends_on_the_seed_and_its_number_only(counties):
    again = province.county(TINY, SEED, 1, AS_OF)
    assert (again.households.geometry.values
            == counties[1].households.geometry.values).all()
    assert list(again.incidents.code) == list(counties[1].incidents.code)
    other = province.county(TINY, SEED + 1, 1, AS_OF)
    assert not (other.households.geometry.values[:10]
                == counties[1].households.geometry.values[:10]).all()
