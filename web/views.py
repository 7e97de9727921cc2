"""The map pages: each view gathers data from layers/ and renders one map."""

from flask import Blueprint, current_app, url_for
from flask_wtf.csrf import generate_csrf

from api.auth import current, requires
from api.db import connection
from layers import cameras, grids, households
from web import assets, maps
from web.i18n import role_label, t
from web.security import add_nonce

__all__ = ["bp"]

bp = Blueprint("views", __name__)


@bp.get("/")
@requires("map:view")
def overview():
    principal = current()
    with connection() as conn:
        by_level = {lv: grids.list_grids(conn, principal, level=lv)
                    for lv in (1, 2, 3, 4)}
        positions = (households.positions(conn, principal)
                     if principal.can("households:read") else None)
        cams = cameras.list_cameras(conn, principal)
    m = maps.overview_map(
        by_level, positions, cams,
        basemap_url=current_app.config["BASEMAP_URL"],
        basemap_attribution=current_app.config["BASEMAP_ATTRIBUTION"],
        locate_url=url_for("locate.locate") if principal.can("locate") else None,
        user={"name": principal.username, "role": role_label(principal.role),
              "logout_url": url_for("auth.logout"), "csrf_token": generate_csrf(),
              "links": _nav_links(principal)},
    )
    html = add_nonce(assets.localise(m).get_root().render())
    return html, 200, {"Content-Type": "text/html; charset=utf-8"}


def _nav_links(principal):
    links = []
    if principal.can("locate"):
        links.append((t("nav_dispatch"), url_for("dispatch.dispatch")))
    if principal.can("grids:edit"):
        links.append((t("nav_plan"), url_for("plan.plan")))
    if principal.can("imports:run"):
        links.append((t("nav_import"), url_for("import_page.import_page")))
    if principal.can("audit:read"):
        links.append((t("nav_audit"), url_for("admin.audit")))
    if principal.can("users:manage"):
        links.append((t("nav_users"), url_for("admin.users_page")))
    return links
