"""The Flask application factory."""

from flask import Flask

import api
from web import assets, views

__all__ = ["create_app"]


def create_app(test_config=None):
    """Build the application; nothing is built at import time.

    Configuration comes from defaults, then ``GRIDGOV_*`` environment variables
    (``GRIDGOV_DATABASE_URL``…), then ``test_config``.
    """
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        DATABASE_URL=None,
        DATABASE_POOL_SIZE=8,
        # An online basemap is an option, never a requirement (isolated networks):
        # a Leaflet tile URL template, e.g. a tile server inside the government network.
        BASEMAP_URL=None,
        BASEMAP_ATTRIBUTION="",
        JSON_AS_ASCII=False,
    )
    app.config.from_prefixed_env("GRIDGOV")
    if test_config:
        app.config.update(test_config)
    if not app.config["DATABASE_URL"]:
        raise RuntimeError("DATABASE_URL is not configured (set GRIDGOV_DATABASE_URL)")
    app.json.ensure_ascii = False
    api.init_app(app)
    app.register_blueprint(assets.bp)
    app.register_blueprint(views.bp)
    return app
