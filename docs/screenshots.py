"""Retake the README's pictures from a running demo town, in Debian's Chromium.

    gridgov up --port 8123 | tee up.log          # the demo accounts are printed once
    .venv/bin/python docs/screenshots.py --base http://127.0.0.1:8123 \
        --accounts up.log [--plant] [--only overview,disputes]

``--accounts`` reads the "demo accounts" lines that ``gridgov up`` / ``gridgov
demo`` print (name, role, grid, password). ``--plant`` first adds to the demo
database (the cluster of this checkout, or ``GRIDGOV_DATABASE_URL``) what the
generated town lacks for some pictures, as the browser tests do: a burst of nine
environment reports at one spot (then the day's early warnings are run again), a
household of the worker's first micro-grid with three disputes in three days (a
recurring dispute, a visit due on the worker's phone) and one 研判 item with a
follow-up task. Run it once per demo (a second run plants again).

Pictures go to ``docs/`` (desk 1280×800, phone 375×740), each quantized with
Pillow to stay under 250 KB. Run from the checkout, under ``nice``.
"""

import argparse
import datetime as dt
import io
import os
import re
import shutil
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DOCS = ROOT / "docs"
MAX_BYTES = 250_000
DESK = {"viewport": {"width": 1280, "height": 800}, "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai"}
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True,
         "has_touch": True, "device_scale_factor": 2, "locale": "zh-CN",
         "timezone_id": "Asia/Shanghai"}
CHROMIUM = os.environ.get("GRIDGOV_CHROMIUM") or shutil.which("chromium") or \
    "/usr/bin/chromium"
# as tests/browser/conftest.py: no calls home on a closed network
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-dev-shm-usage", "--lang=zh-CN",
]


def accounts(path):
    """{name: password} from the demo accounts printed by ``gridgov up``."""
    found = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\s+(\w+)\s+(admin|planner|dispatcher|leader|field_worker|"
                     r"grid_liaison|viewer)\s+\S+(?:\s+\S+)?\s+(\S+)\s*$", line)
        if m:
            found[m.group(1)] = m.group(3)
    return found


def save(png, name):
    """Write ``docs/<name>``: as taken if small enough, else quantized to 256,
    then fewer, colours."""
    target = DOCS / name
    if len(png) > MAX_BYTES:
        image = Image.open(io.BytesIO(png)).convert("RGB")
        for colours in (256, 128, 64):
            out = io.BytesIO()
            image.quantize(colours, method=Image.Quantize.MEDIANCUT,
                           dither=Image.Dither.NONE).save(out, "PNG", optimize=True)
            png = out.getvalue()
            if len(png) <= MAX_BYTES:
                break
    target.write_bytes(png)
    print(f"{target.relative_to(ROOT)}: {len(png) // 1024} KB")


def plant():
    """What the generated town lacks for the pictures (see the module's text)."""
    import psycopg

    from layers import early_warning, incidents, judgements
    from layers.access import SYSTEM
    from layers.cluster import Cluster

    url = os.environ.get("GRIDGOV_DATABASE_URL") or Cluster.default().url
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    now = dt.datetime.now(dt.UTC)
    with psycopg.connect(url, autocommit=True) as c:
        worker_grid = c.execute(
            "SELECT grid_code FROM users WHERE username = 'worker'").fetchone()[0]
        micros = [r[0] for r in c.execute(
            "SELECT code FROM grids WHERE level = 4 AND code LIKE %s ORDER BY code",
            (worker_grid + "%",))]
        home = c.execute(
            "SELECT id, ST_X(geom), ST_Y(geom) FROM households WHERE grid_code = %s"
            " AND phone IS NOT NULL ORDER BY id DESC LIMIT 1",
            (micros[0],)).fetchone()
        for days in (3, 2, 1):
            incidents.register(
                c, SYSTEM, {"category": "dispute", "subtype": "neighbour",
                            "source": "walk_in", "description": "宅基地边界纠纷",
                            "household_id": home[0], "parties": ["甲某", "乙某"]},
                (home[1], home[2]), received_at=now - dt.timedelta(days=days))
        spot = c.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p"
            " FROM grids WHERE code = %s) s", (micros[-1],)).fetchone()
        for k in range(9):
            c.execute(
                "INSERT INTO incidents (code, category, source, description, geom,"
                " grid_code, county, created_at) VALUES (%s, 'environment',"
                " 'hotline', '河道垃圾堆积', ST_SetSRID(ST_MakePoint(%s, %s), 4326),"
                " %s, left(%s, 6), %s)",
                (f"SHOT-{today:%Y%m%d}-{k}", spot[0], spot[1], micros[-1], micros[-1],
                 now - dt.timedelta(days=1 + k % 4, hours=k)))
        print("warnings:", early_warning.run(c, today=today - dt.timedelta(days=1)))
        warning = c.execute(
            "SELECT id FROM early_warnings ORDER BY (grid_code = %s) DESC, id DESC"
            " LIMIT 1", (micros[-1],)).fetchone()
        item = judgements.create(c, SYSTEM, {
            **({"warning_id": warning[0]} if warning else
               {"incidents": [f"SHOT-{today:%Y%m%d}-0"]}),
            "title": "河道垃圾反复堆积", "participants": "镇综治中心、城管、村委会",
            "assessment": "同一河段四天内九次投诉，上游养殖户倾倒",
            "decisions": "城管牵头清理，村委会约谈养殖户"})
        judgements.add_task(c, SYSTEM, item["id"], {
            "description": "约谈上游养殖户", "owner": "leader",
            "deadline": now + dt.timedelta(days=3)})


def login(page, base, name, password):
    page.goto(base + "/login")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def shoot(page, name, full=False):
    save(page.screenshot(full_page=full), name)


def desk(browser, base, pw, only):
    context = browser.new_context(**DESK)
    page = context.new_page()
    login(page, base, "leader", pw["leader"])
    if "overview" in only:
        page.goto(base + "/", wait_until="networkidle")
        page.wait_for_selector("#gg-panel[data-state=ready]")
        page.wait_for_selector("#gg-ew-box[data-state=ready]")
        shoot(page, "map-overview.png")
        page.hover(".leaflet-control-layers")
        page.get_by_text("事件热力 Incident heatmap").click()
        page.wait_for_selector(".leaflet-overlay-pane path.gg-heat-cell")
        page.mouse.move(1200, 20)  # no tooltip
        page.wait_for_timeout(800)
        shoot(page, "overview-heatmap.png")
        page.hover(".leaflet-control-layers")
        page.get_by_text("事件热力 Incident heatmap").click()
        page.mouse.move(1200, 20)
        # the planted burst's warning (else the first): zoom to it, its incidents
        rows = page.locator("#gg-ew-list li.gg-ew-item")
        row = rows.filter(has_text="环境").first if \
            rows.filter(has_text="环境").count() else rows.first
        if row.count():
            row.locator("button.gg-ew-open").click()
            page.wait_for_selector("#gg-ew-detail")
            page.wait_for_load_state("networkidle")
            for _ in range(2):  # some context around the grid
                page.click(".leaflet-control-zoom-out")
                page.wait_for_timeout(400)
            page.mouse.move(1200, 20)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(1000)
            page.locator("#gg-ew-detail").scroll_into_view_if_needed()
        shoot(page, "overview-warnings.png")
    if "judgements" in only:
        page.goto(base + "/judgements", wait_until="networkidle")
        page.wait_for_selector("#jd-list")
        shoot(page, "judgements.png")
    context.close()
    if "disputes" in only:
        context = browser.new_context(**DESK)
        page = context.new_page()
        login(page, base, "dispatcher", pw["dispatcher"])
        page.goto(base + "/disputes", wait_until="networkidle")
        page.wait_for_timeout(500)
        shoot(page, "disputes.png")
        context.close()


def phone(browser, base, pw, only):
    if "overview" in only:
        context = browser.new_context(**PHONE)
        page = context.new_page()
        login(page, base, "leader", pw["leader"])
        page.goto(base + "/", wait_until="networkidle")
        page.wait_for_selector("#gg-panel[data-state=ready]")
        page.wait_for_timeout(800)
        shoot(page, "phone-overview.png")
        context.close()
    if "tasks" in only:
        context = browser.new_context(**PHONE)
        page = context.new_page()
        page.goto(base + "/m/")
        page.wait_for_selector("#m[data-state=login]")
        page.fill("#m-username", "worker")
        page.fill("#m-password", pw["worker"])
        page.click("#m-login-go")
        page.wait_for_selector("#m[data-state=ready]")
        page.click("#m-tab-tasks")
        page.wait_for_selector("#m-tasks li")
        page.wait_for_timeout(500)
        shoot(page, "phone-visit-due.png")
        context.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--accounts", required=True,
                        help="a file holding the demo accounts gridgov printed")
    parser.add_argument("--plant", action="store_true",
                        help="add the burst, the recurring dispute and the 研判 item")
    parser.add_argument("--only", default="overview,disputes,judgements,tasks")
    args = parser.parse_args()
    pw = accounts(args.accounts)
    only = set(args.only.split(","))
    if args.plant:
        plant()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            desk(browser, args.base.rstrip("/"), pw, only)
            phone(browser, args.base.rstrip("/"), pw, only)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
