"""The monthly ranking printed: GET /api/v1/rankings?format=pdf|png on the demo town.

The villages of October 2026 (the demo's last full month), as the leader of the
town sees them. The scores and the bottom three are read from the JSON answer of
the same request; which class colour a score gets, where a village lands on the
page and what the page must say are worked out here from the page's constants
(A4 landscape, 150 dpi, the map's box) and the demo's own geometries.
"""

import io
import re

import numpy as np
import pypdf
import pytest
import shapely
from PIL import Image

from geo.crs import to_metric
from layers import print_page, ranking_print

pytestmark = pytest.mark.db

TOWN = "320282105"
QUERY = f"/api/v1/rankings?grid={TOWN}&level=2&month=2026-10"
# 297 × 210 mm at 150 dpi; matplotlib truncates the canvas to whole pixels
PNG_SIZE = (int(297 / 25.4 * 150), int(210 / 25.4 * 150))
assert PNG_SIZE == (1753, 1240)
# the classes by hand: ≥ 90, 80–90, 70–80, 60–70, < 60 → viridis at 1, ¾, ½, ¼, 0
CLASS_RGB = [(90, (0xfd, 0xe7, 0x25)), (80, (0x5e, 0xc9, 0x62)),
             (70, (0x21, 0x91, 0x8c)), (60, (0x3b, 0x52, 0x8b)),
             (0, (0x44, 0x01, 0x54))]


def class_rgb(score):
    return next(rgb for low, rgb in CLASS_RGB if score >= low)


@pytest.fixture(scope="module")
def ranking(app, tokens):
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens['leader']}"
    r = c.get(QUERY)
    assert r.status_code == 200, r.get_data(as_text=True)[:400]
    return r.get_json()


def fetch(client, fmt, query=QUERY):
    r = client.get(f"{query}&format={fmt}")
    assert r.status_code == 200, r.get_data(as_text=True)[:400]
    return r


def pdf_text(body):
    reader = pypdf.PdfReader(io.BytesIO(body))
    return reader, "\n".join(p.extract_text() for p in reader.pages)


def test_the_pdf_is_one_a4_page_with_the_chinese_text_as_text(
        as_user, ranking, artifacts):
    r = fetch(as_user("leader"), "pdf")
    body = r.get_data()
    (artifacts / "ranking-print.pdf").write_bytes(body)
    assert r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"] == (
        f"attachment; filename=ranking-{TOWN}-2026-10-level2.pdf")
    assert body.startswith(b"%PDF")
    # the CJK font is embedded (subset: a tag, '+', then its PostScript name)
    assert re.search(rb"/BaseFont /[A-Z]{6}\+WenQuanYiMicroHei", body)
    reader, text = pdf_text(body)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    # A4 landscape in points: 297 mm × 72 / 25.4 by 210 mm × 72 / 25.4
    assert float(box.width) == pytest.approx(841.89, abs=0.1)
    assert float(box.height) == pytest.approx(595.28, abs=0.1)
    assert ranking["root"]["name"] + "综治中心 月度排名" in text
    assert "2026年10月" in text and "Monthly ranking" in text
    # the period and the generation time in the footer
    assert "2026-10-01 – 2026-10-31" in text
    assert re.search(r"生成时间 Generated \d{4}-\d\d-\d\d \d\d:\d\d", text)
    for header in ("排名", "得分", "化解率", "按期办结率", "视频覆盖率"):
        assert header in text
    # every village in the table; the flagged ones marked 末位 on their row
    assert len(ranking["items"]) == 8
    flagged = [g for g in ranking["items"] if g["flagged"]]
    assert len(flagged) == 3
    for g in ranking["items"]:
        assert g["name"] in text and g["code"] in text
    lines = text.splitlines()
    marked = {g["code"] for g in ranking["items"]
              if any(g["code"] in line and "末位" in line for line in lines)}
    assert marked == {g["code"] for g in flagged}


def rgb_at(image, xy):
    return image.getpixel((int(xy[0]), int(xy[1])))[:3]


def pixels(points, bounds):
    """Page pixels of metric points: the map box holds ``bounds`` with a 3 %
    margin, widened to the box's shape about its centre (equal scale)."""
    left, bottom, width, height = ranking_print.MAP_BOX
    page_w, page_h = 297 / 25.4, 210 / 25.4
    x0, y0, x1, y1 = bounds
    pad = 0.03 * max(x1 - x0, y1 - y0)
    w, h = x1 - x0 + 2 * pad, y1 - y0 + 2 * pad
    ratio = (width * page_w) / (height * page_h)
    w, h = max(w, h * ratio), max(h, w / ratio)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    fx = left + width * (points[:, 0] - (cx - w / 2)) / w
    fy = bottom + height * (points[:, 1] - (cy - h / 2)) / h
    return np.column_stack([fx * page_w * 150, (1 - fy) * page_h * 150])


def inside_points(polygon, inset_m=150, n=7):
    """A lattice of points well inside ``polygon`` (metres)."""
    core = polygon.buffer(-inset_m)
    x0, y0, x1, y1 = core.bounds
    xs, ys = np.meshgrid(np.linspace(x0, x1, n + 2)[1:-1],
                         np.linspace(y0, y1, n + 2)[1:-1])
    pts = shapely.points(xs.ravel(), ys.ravel())
    return shapely.get_coordinates(pts[shapely.contains(core, pts)])


def test_the_png_colours_each_village_by_its_class(
        as_user, ranking, demo_town, artifacts):
    r = fetch(as_user("leader"), "png")
    assert r.mimetype == "image/png"
    assert r.headers["Content-Disposition"].endswith("-2026-10-level2.png")
    (artifacts / "ranking-print.png").write_bytes(r.get_data())
    image = Image.open(io.BytesIO(r.get_data()))
    assert image.format == "PNG" and image.size == PNG_SIZE

    g = demo_town.grids
    villages = to_metric(g[g.level == 2].set_index("code").geometry)
    bounds = villages.total_bounds
    scores = {v["code"]: v["score"] for v in ranking["items"]}
    assert len(scores) == len(villages) == 8
    best, worst = ranking["items"][0], ranking["items"][-1]
    assert class_rgb(best["score"]) != class_rgb(worst["score"]), "pick others"
    for v in (best, worst):
        spots = pixels(inside_points(villages[v["code"]]), bounds)
        assert len(spots) >= 5
        colours = [rgb_at(image, p) for p in spots]
        # most of them: a rank number is printed on the village somewhere
        hits = sum(c == class_rgb(v["score"]) for c in colours)
        assert hits >= 0.7 * len(colours), (v["code"], v["score"], colours)


def outer_ring(geom):
    """The outline of the largest part (the demo's grids are MultiPolygons)."""
    return max(getattr(geom, "geoms", [geom]), key=lambda p: p.area).exterior


def test_the_bottom_three_are_outlined_on_the_map(as_user, ranking, demo_town):
    image = Image.open(io.BytesIO(fetch(as_user("leader"), "png").get_data()))
    g = demo_town.grids
    villages = to_metric(g[g.level == 2].set_index("code").geometry)
    bounds = villages.total_bounds
    flagged = [v["code"] for v in ranking["items"] if v["flagged"]]
    near = shapely.union_all(villages[flagged].values).buffer(300)

    def darkest_near(xy):
        x, y = int(xy[0]), int(xy[1])
        return min(max(image.getpixel((x + dx, y + dy))[:3])
                   for dx in range(-2, 3) for dy in range(-2, 3))

    for code in flagged:
        line = outer_ring(villages[code])
        points = shapely.get_coordinates(shapely.line_interpolate_point(
            line, np.linspace(0.05, 0.95, 9), normalized=True))
        # a black line (every channel dark) along the flagged boundary
        assert all(darkest_near(p) < 60 for p in pixels(points, bounds)), code
    top = ranking["items"][0]["code"]
    free = outer_ring(villages[top]).difference(near)
    assert not free.is_empty
    points = shapely.get_coordinates(shapely.line_interpolate_point(
        free, np.linspace(0.1, 0.9, 5), normalized=True))
    # the others have thin grey edges only
    assert all(darkest_near(p) >= 60 for p in pixels(points, bounds))


def test_a_long_ranking_keeps_the_top_and_the_bottom_on_one_page(as_user):
    query = f"/api/v1/rankings?grid={TOWN}&level=4&month=2026-10"
    found = as_user("leader").get(query).get_json()
    ranked = [g for g in found["items"] if g["rank"] is not None]
    assert len(found["items"]) == 91  # the demo's micro-grids
    reader, text = pdf_text(fetch(as_user("leader"), "pdf", query).get_data())
    assert len(reader.pages) == 1
    flagged = [g for g in ranked if g["flagged"]]
    assert 3 <= len(flagged) <= ranking_print.MAX_ROWS // 2
    head = ranked[:ranking_print.MAX_ROWS - 1 - len(flagged)]
    shown = {g["code"] for g in head + flagged}
    for g in found["items"]:
        assert (g["code"] in text) == (g["code"] in shown), g["code"]
    omitted = ranked[len(head):len(ranked) - len(flagged)]
    assert f"其余 {len(omitted)} 个（第 {omitted[0]['rank']}–{omitted[-1]['rank']} " \
        "名）从略" in text


def test_outside_the_jurisdiction_is_not_found(as_user):
    village1 = as_user("village1")  # dispatcher of village 320282105001
    for fmt in ("pdf", "png"):
        r = village1.get(f"{QUERY}&format={fmt}")
        assert r.status_code == 404
        assert r.get_json()["error"]["field"] == "grid"
        r = village1.get(f"/api/v1/rankings?grid={TOWN}002&month=2026-10"
                         f"&format={fmt}")
        assert r.status_code == 404
    # its own village prints, named after it
    r = village1.get(f"/api/v1/rankings?grid={TOWN}001&month=2026-10&format=pdf")
    assert r.status_code == 200
    assert f"ranking-{TOWN}001-2026-10-level3.pdf" in r.headers["Content-Disposition"]


@pytest.mark.parametrize("fmt", ["svg", "PDF"])
def test_a_bad_format_is_refused(client, fmt):
    r = client.get(f"{QUERY}&format={fmt}")
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["field"] == "format" and "'format'" in error["message"]


def test_a_missing_font_is_said_not_boxed(client, monkeypatch):
    monkeypatch.setattr(print_page, "FONT_FAMILY", "No Such Font Gridgov")
    print_page.font_path.cache_clear()
    try:
        r = client.get(f"{QUERY}&format=png")
    finally:
        print_page.font_path.cache_clear()
    assert r.status_code == 503
    error = r.get_json()["error"]
    assert error["code"] == "font_missing"
    assert "No Such Font Gridgov" in error["message"]
    assert "fonts-wqy-microhei" in error["message"]


def test_a_period_of_days_is_named_by_its_dates(as_user):
    query = f"/api/v1/rankings?grid={TOWN}&level=2&from=2026-10-01&to=2026-10-15"
    r = fetch(as_user("leader"), "pdf", query)
    assert r.headers["Content-Disposition"] == (
        f"attachment; filename=ranking-{TOWN}-2026-10-01_2026-10-15-level2.pdf")
    _, text = pdf_text(r.get_data())
    # not a month: "排名", not "月度排名"
    assert "综治中心 排名 · 2026-10-01 至 2026-10-15" in text
    assert "月度排名" not in text
