"""The patrol tracks page in a real headless Chromium, on the demo town's patrols:
pick a worker and two days, see one line per leg on the map and the day's
distance in the table, nothing loaded from another host, no console error."""

from urllib.parse import urlsplit

import numpy as np
import psycopg
import pytest
from pyproj import Geod

from geo.tracks import local_day
from tests.browser.conftest import open_page

pytestmark = [pytest.mark.browser, pytest.mark.db]


def _expected(demo_town, staff, days):
    """Per local day of the demo worker ``staff`` (row of the staff frame): legs
    and metres, computed here from the generated fixes — geodesic steps (pyproj),
    a new leg after a gap over 600 s (the lunch break between two patrols)."""
    fixes = demo_town.tracks[demo_town.tracks.staff == staff].sort_values("time")
    out = {}
    for day, part in fixes.groupby(local_day(fixes["time"]).astype(str)):
        if day not in days:
            continue
        t = (part["time"] - part["time"].iloc[0]).dt.total_seconds().to_numpy()
        x, y = part.geometry.x.to_numpy(), part.geometry.y.to_numpy()
        _, _, step = Geod(ellps="WGS84").inv(x[:-1], y[:-1], x[1:], y[1:])
        same = np.diff(t) <= 600
        out[day] = {"legs": int(1 + (~same).sum()), "metres": step[same].sum()}
    return out


def test_a_leader_picks_a_worker_and_days_and_sees_the_tracks(
        page, live_server, passwords, demo_url, demo_town, artifacts):
    # the demo worker of the town's last comprehensive grid (another village
    # than the first, which the page opens on)
    staff = int(demo_town.tracks.staff.max())
    code = demo_town.staff.grid_code.iloc[staff]
    with psycopg.connect(demo_url) as conn:
        (worker,) = conn.execute(
            "SELECT id FROM grid_staff WHERE grid_code = %s AND role = 'full_time'",
            (code,)).fetchone()
    days = sorted(local_day(demo_town.tracks[demo_town.tracks.staff == staff]
                            ["time"]).astype(str).unique())
    first, last = days[0], days[1]
    expected = _expected(demo_town, staff, {d for d in days if first <= d <= last})
    assert expected  # the demo has tracks on those days

    seen = open_page(page, live_server, "/tracks", "leader", passwords["leader"],
                     "#tracks[data-state=loaded]")
    assert page.locator("#tracks-worker option").count() == 4  # the demo's walkers
    page.select_option("#tracks-worker", str(worker))
    page.wait_for_selector(f"#tracks[data-state=loaded][data-range^='{worker}:']")
    page.fill("#tracks-from", first)
    page.fill("#tracks-to", last)
    page.click("#tracks-show")
    page.wait_for_selector(
        f"#tracks[data-state=loaded][data-range='{worker}:{first}/{last}']")

    legs = sum(d["legs"] for d in expected.values())
    lines = page.locator(".leaflet-overlay-pane path.tracks-line")
    assert lines.count() == legs
    assert page.locator(".leaflet-overlay-pane path.tracks-start").count() == legs
    # one colour per day
    colours = {lines.nth(i).get_attribute("stroke") for i in range(legs)}
    assert len(colours) == len(expected)
    for day, want in expected.items():
        cell = page.locator(f"#tracks-table tr[data-day='{day}'] td.distance")
        assert float(cell.inner_text()) == pytest.approx(want["metres"] / 1000,
                                                         abs=0.011)
    assert "%" in page.inner_text("#tracks-coverage")
    page.screenshot(path=str(artifacts / "tracks.png"))

    own = urlsplit(live_server).netloc
    foreign = [u for u in seen["requests"]
               if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != own]
    assert foreign == [], f"the page requested other hosts: {foreign}"
    assert seen["errors"] == []


def test_a_village_dispatcher_sees_only_its_villages_walkers(
        page, live_server, passwords):
    seen = open_page(page, live_server, "/tracks", "village1", passwords["village1"],
                     "#tracks[data-state=loaded]")
    labels = page.locator("#tracks-worker option").all_inner_texts()
    # the demo's walkers of the first village: its first three comprehensive grids
    assert len(labels) == 3 and all("大岭村" in label for label in labels)
    assert page.locator(".leaflet-overlay-pane path.tracks-line").count() >= 1
    assert seen["errors"] == []
