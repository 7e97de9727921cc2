"""The JSON/GeoJSON REST API under /api/v1: thin routes over layers/ and geo/."""

from api import (
    auth,
    check,
    coverage,
    db,
    density,
    devices,
    disputes,
    early_warnings,
    errors,
    exports,
    grid_edit,
    grids,
    health,
    households,
    imports,
    incidents,
    judgements,
    locate,
    maps,
    notices,
    ogc,
    openapi,
    params,
    patrols,
    photos,
    places,
    reports,
    search,
    staff,
    stats,
    tracks,
    visits,
    webhooks,
)

__all__ = ["PREFIX", "init_app"]

PREFIX = "/api/v1"
_MODULES = (
    health, grids, check, grid_edit, locate, households, search, imports, tracks,
    incidents, places, stats, coverage, density, devices, photos,
    visits, patrols, exports, early_warnings, disputes, judgements, reports, webhooks,
    notices,
    staff, maps,
)


def init_app(app):
    """Register the API's blueprints, its pool and its error handlers on ``app``."""
    db.init_app(app)
    errors.init_app(app)
    params.init_app(app)  # before auth: its user lookup must not meet a NUL
    auth.init_app(app)
    for module in _MODULES:
        app.register_blueprint(module.bp, url_prefix=PREFIX)
    app.register_blueprint(openapi.make_blueprint(PREFIX), url_prefix=PREFIX)
    app.register_blueprint(ogc.bp, url_prefix=ogc.PREFIX)
