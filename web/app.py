"""The Flask application factory."""

import datetime as dt

from flask import Flask, render_template
from werkzeug.middleware.proxy_fix import ProxyFix

import api
from api.auth import current
from geo import localtime, workdays
from geo.catalogue import say
from web import (
    admin,
    assets,
    auth_views,
    basemap,
    dispatch,
    disputes_page,
    import_page,
    judgements_page,
    maps,
    mobile,
    plan,
    rankings,
    reports_page,
    security,
    tiles,
    tracks,
    views,
)
from web.i18n import both, code_label, role_label, t
from web.json import OrjsonProvider

__all__ = ["create_app"]


def create_app(test_config=None):
    """Build the application; nothing is built at import time.

    Configuration comes from defaults, then ``GRIDGOV_*`` environment variables
    (``GRIDGOV_DATABASE_URL``, ``GRIDGOV_SECRET_KEY``…), then ``test_config``.
    """
    app = Flask(__name__, instance_relative_config=True)
    app.json = OrjsonProvider(app)
    app.config.from_mapping(
        DATABASE_URL=None,
        DATABASE_POOL_SIZE=8,
        # Seconds a request waits for a database connection before its 503
        # "数据库暂不可用（The database is unavailable）".
        DATABASE_POOL_TIMEOUT=3.0,
        SECRET_KEY=None,
        # The basemap (web/basemap.py): none (default: nothing from outside),
        # tianditu (BASEMAP_KEY required), amap, tencent, baidu, offline (a
        # PMTiles file, BASEMAP_FILE, default <data dir>/basemap.pmtiles) or
        # custom (BASEMAP_URL, a Leaflet template, in BASEMAP_CRS wgs84|gcj02|bd09;
        # a BASEMAP_URL alone still means custom).
        BASEMAP=None,
        BASEMAP_KEY=None,
        BASEMAP_FILE=None,
        BASEMAP_URL=None,
        BASEMAP_CRS="wgs84",
        BASEMAP_ATTRIBUTION="",
        # Uploads (imports) larger than this are refused with 413 before parsing.
        MAX_CONTENT_LENGTH=256 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Set GRIDGOV_SESSION_COOKIE_SECURE=true when served over HTTPS.
        SESSION_COOKIE_SECURE=False,
        SESSION_COOKIE_NAME="gridgov_session",
        # Idle lifetime of a login; use pushes it on (layers/users.py sessions).
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=8),
        # Behind N reverse proxies of your own (nginx …), set GRIDGOV_PROXY_COUNT=N:
        # the client's address then comes from X-Forwarded-For (login throttling
        # is per account and address: without it an office's proxy would share one
        # address with every attacker). Never set it without such a proxy, or any
        # client could name its own address.
        PROXY_COUNT=0,
        # `gridgov up` / `serve` says what the holiday calendar lacks once, before
        # its workers start, and sets this for them (web/cli.py): not once each
        CALENDAR_CHECKED=False,
    )
    app.config.from_prefixed_env("GRIDGOV")
    if test_config:
        app.config.update(test_config)
    for key in ("DATABASE_URL", "SECRET_KEY"):
        if not app.config[key]:
            raise RuntimeError(f"{key} is not configured (set GRIDGOV_{key})")
    app.extensions["gridgov.page_error"] = _page_error
    # the overview's view as one HTML file (api/maps.py), drawn by folium here
    app.extensions["gridgov.map_export"] = maps.overview_html
    api.init_app(app)
    basemap.init_app(app)  # before security: the CSP admits its hosts
    security.init_app(app)
    app.jinja_env.globals.update(t=t, role_label=role_label, code_label=code_label,
                                zone=localtime)
    app.jinja_env.filters["local_time"] = localtime.shown  # times as people read them
    app.context_processor(lambda: {"principal": current()})
    for bp in (assets.bp, auth_views.bp, views.bp, plan.bp, admin.bp, import_page.bp,
               dispatch.bp, rankings.bp, reports_page.bp, judgements_page.bp,
               tracks.bp, disputes_page.bp):
        app.register_blueprint(bp)
    app.register_blueprint(tiles.bp)
    app.register_blueprint(mobile.bp)
    if not app.config["CALENDAR_CHECKED"]:
        _warn_of_calendar_gaps(app)
    if app.config["PROXY_COUNT"]:
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count,
                                x_host=count)
    return app


def calendar_gaps(config):
    """Deadlines count working days: the warning to give at start-up when the
    calendar of ``config`` lacks this year's or next year's official
    arrangements (they would count weekends only); None when it has them."""
    today = dt.datetime.now(workdays.CHINA_TZ).date()
    missing = workdays.uncovered_years(api.incidents.calendar(config), today)
    if missing:
        years = "、".join(map(str, missing))
        return say("err_holiday_calendar_lacks_deadlines", years=years)
    return None


def _warn_of_calendar_gaps(app):
    gaps = calendar_gaps(app.config)
    if gaps:
        app.logger.warning(gaps)


def _page_error(status, message):
    heading = both("forbidden") if status == 403 else str(status)
    return render_template("message.html", heading=heading, message=message), status
