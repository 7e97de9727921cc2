"""The Flask application factory."""

import datetime as dt

from flask import Flask, render_template

import api
from api.auth import current
from web import (
    admin,
    assets,
    auth_views,
    dispatch,
    import_page,
    mobile,
    plan,
    rankings,
    security,
    tiles,
    tracks,
    views,
)
from web.i18n import role_label, t
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
        SECRET_KEY=None,
        # An online basemap is an option, never a requirement (isolated networks):
        # a Leaflet tile URL template, e.g. a tile server inside the government network.
        BASEMAP_URL=None,
        BASEMAP_ATTRIBUTION="",
        # Uploads (imports) larger than this are refused with 413 before parsing.
        MAX_CONTENT_LENGTH=256 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Set GRIDGOV_SESSION_COOKIE_SECURE=true when served over HTTPS.
        SESSION_COOKIE_SECURE=False,
        SESSION_COOKIE_NAME="gridgov_session",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=8),
    )
    app.config.from_prefixed_env("GRIDGOV")
    if test_config:
        app.config.update(test_config)
    for key in ("DATABASE_URL", "SECRET_KEY"):
        if not app.config[key]:
            raise RuntimeError(f"{key} is not configured (set GRIDGOV_{key})")
    app.extensions["gridgov.page_error"] = _page_error
    api.init_app(app)
    security.init_app(app)
    app.jinja_env.globals.update(t=t, role_label=role_label)
    app.context_processor(lambda: {"principal": current()})
    for bp in (assets.bp, auth_views.bp, views.bp, plan.bp, admin.bp, import_page.bp,
               dispatch.bp, rankings.bp, tracks.bp):
        app.register_blueprint(bp)
    app.register_blueprint(tiles.bp)
    app.register_blueprint(mobile.bp)
    return app


def _page_error(status, message):
    heading = t("forbidden") if status == 403 else str(status)
    return render_template("message.html", heading=heading, message=message), status
