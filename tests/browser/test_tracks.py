"""The patrol tracks page in a real headless Chromium, on the demo town's patrols:
pick a worker and two days, see one line per leg on the map and the day's
distance in the table, nothing loaded from another host, no console error."""

import re
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
    # a leg's start or end says its time in China time, labelled (not a bare
    # clock)
    page.locator(".leaflet-overlay-pane path.tracks-start").first.hover(force=True)
    tip = page.locator(".leaflet-tooltip").last.inner_text()
    assert re.fullmatch(r"(起点|终点) \d{4}-\d\d-\d\d \d\d:\d\d 北京时间", tip), tip

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


def _attribution_is_plain(page, selector):
    """Leaflet's prefix as plain text: no flag icon, no link out."""
    box = page.locator(f"{selector} .leaflet-control-attribution")
    assert box.count() == 1
    assert "Leaflet" in box.inner_text()
    assert box.locator("svg, img, a[href*='leafletjs']").count() == 0


@pytest.mark.parametrize("width,height", [(1280, 800), (1920, 1080)])
def test_the_map_opens_fitted_to_the_tracks_and_fully_drawn(
        browser, live_server, passwords, artifacts, width, height):
    """Opened at a desktop width, the map shows the week's tracks whole: no
    zoom animation left Chromium's lower part of the map unpainted (it was,
    over-zoomed, until the map was panned)."""
    from io import BytesIO

    from PIL import Image

    context = browser.new_context(viewport={"width": width, "height": height},
                                  locale="zh-CN")
    page = context.new_page()
    try:
        seen = open_page(page, live_server, "/tracks", "leader", passwords["leader"],
                         "#tracks[data-state=loaded]")
        page.wait_for_timeout(1000)
        fitted = page.evaluate("""() => {
            const t = window.gridgovTracks, box = t.map.getContainer();
            return {inside: t.map.getBounds().contains(t.lines.getBounds()),
                    size: [t.map.getSize().x, t.map.getSize().y],
                    box: [box.clientWidth, box.clientHeight]}; }""")
        assert fitted["inside"] and fitted["size"] == fitted["box"], fitted
        # the page as the user sees it (a screenshot of the map element alone
        # has Chromium paint it again, which hid the fault)
        shot = page.screenshot(path=str(artifacts / f"tracks-open-{width}.png"))
        box = page.locator("#tracks-map").bounding_box()
        pixels = np.asarray(Image.open(BytesIO(shot)).convert("RGB")).astype(int)
        pixels = pixels[int(box["y"]):int(box["y"] + box["height"]),
                        int(box["x"]):int(box["x"] + box["width"])]
        background = np.array([0xee, 0xf0, 0xea])  # tracks.css's .tracks-map
        lower = pixels[pixels.shape[0] // 2:]
        blank = (np.abs(lower - background).sum(axis=2) <= 6).mean()
        assert blank < 0.8, f"{blank:.0%} of the map's lower half is blank"
        _attribution_is_plain(page, "#tracks-map")
        assert seen["errors"] == []
    finally:
        context.close()


def test_a_day_is_replayed_with_a_time_slider(
        page, live_server, passwords, demo_url, demo_town, artifacts):
    """轨迹回放: the marker stands where the worker was at the slider's time, the
    time shown in China time and labelled; play moves it on."""
    staff = int(demo_town.tracks.staff.max())
    code = demo_town.staff.grid_code.iloc[staff]
    with psycopg.connect(demo_url) as conn:
        (worker,) = conn.execute(
            "SELECT id FROM grid_staff WHERE grid_code = %s AND role = 'full_time'",
            (code,)).fetchone()
    fixes = demo_town.tracks[demo_town.tracks.staff == staff].sort_values("time")
    day = sorted(local_day(fixes["time"]).astype(str).unique())[0]
    fixes = fixes[local_day(fixes["time"]).astype(str) == day]

    open_page(page, live_server, f"/tracks?worker={worker}&from={day}&to={day}",
              "leader", passwords["leader"], "#tracks[data-state=loaded]")
    assert page.get_attribute("#tracks", "data-replay") == day
    assert page.is_visible("#replay-slider")
    assert page.locator(".leaflet-overlay-pane path.tracks-replay").count() == 1
    # the slider's time of a fix a third into the day: the marker on that fix
    fix = fixes.iloc[len(fixes) // 3]
    seconds = (fix["time"] - fixes["time"].iloc[0]).total_seconds()
    page.eval_on_selector("#replay-slider", """(s, v) => {
        s.value = String(v); s.dispatchEvent(new Event('input')); }""", seconds)
    china = fix["time"].tz_convert("Asia/Shanghai")
    # labelled by gg.time as every time on the pages, not a label of its own
    want = f"{china:%Y-%m-%d %H:%M:%S} 北京时间"
    assert page.inner_text("#replay-time").startswith(want)
    assert page.get_attribute("#replay-time", "data-time") == \
        f"{china:%Y-%m-%d %H:%M:%S}"
    lat, lon = page.evaluate(
        "() => { const p = window.gridgovTracks.replay.marker.getLatLng();"
        " return [p.lat, p.lng]; }")
    _, _, off = Geod(ellps="WGS84").inv(lon, lat, fix.geometry.x, fix.geometry.y)
    assert off < 15, f"the marker is {off:.1f} m from the fix at {want}"
    assert page.inner_text(".tracks-replay-tip") == f"{china:%H:%M:%S}"
    page.screenshot(path=str(artifacts / "tracks-replay.png"))

    # play: the slider and the marker move on, pause stops them
    page.click("#replay-play")
    page.wait_for_function(
        "v => Number(document.getElementById('replay-slider').value) > v",
        arg=seconds + 60)
    page.click("#replay-play")
    stopped = page.input_value("#replay-slider")
    page.wait_for_timeout(400)
    assert page.input_value("#replay-slider") == stopped
    assert "播放" in page.inner_text("#replay-play")


def test_the_replay_fits_a_phone(browser, live_server, passwords, artifacts):
    context = browser.new_context(viewport={"width": 375, "height": 812},
                                  is_mobile=True, has_touch=True,
                                  device_scale_factor=2, locale="zh-CN")
    page = context.new_page()
    try:
        seen = open_page(page, live_server, "/tracks", "leader", passwords["leader"],
                         "#tracks[data-state=loaded]")
        page.locator(".tracks-panel .gg-sheet-handle").tap()
        slider = page.locator("#replay-slider")
        slider.scroll_into_view_if_needed()
        box = slider.bounding_box()
        assert slider.is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= 375
        page.eval_on_selector("#replay-slider", """s => {
            s.value = String(Math.round(Number(s.max) / 2));
            s.dispatchEvent(new Event('input')); }""")
        assert "北京时间" in page.inner_text("#replay-time")
        assert page.locator("path.tracks-replay").count() == 1
        width = page.evaluate("() => [document.documentElement.scrollWidth,"
                              " window.innerWidth]")
        assert width[0] <= width[1], width
        page.screenshot(path=str(artifacts / "phone-tracks-replay.png"))
        assert seen["errors"] == []
    finally:
        context.close()
