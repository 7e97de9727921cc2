"""Who may edit which grids: an edit stays inside the user's jurisdiction.

A user bound to a grid (``Principal.grid_code``, whatever the role: a planner,
or an administrator of one village) edits the grids strictly below it, and no
edit may reach past it: not by redrawing the root (its boundary is also its
neighbours'), not by drawing over a neighbour's grids, not through what an edit
carries along (siblings giving up ground, grids below following, re-coded
codes). Refusals are 403s naming the grids, raised inside the edit's
transaction before anything is shown. A user of the whole deployment
(``grid_code`` None) may edit everything.
"""

import shapely

from geo import edit as geo_edit
from geo.catalogue import say
from layers.errors import Forbidden

__all__ = ["check_editable", "refuse_reaching_out", "refuse_outside"]


def check_editable(principal, code, root_ok=False, field="code"):
    """Refuse (Forbidden) an edit of grid ``code`` that is not the user's to make.

    A user bound to a jurisdiction edits the grids strictly below its root: the
    root's boundary is also its neighbours' (redrawing it would take their ground
    and households, deleting or splitting it would hand ground to them), so it is
    for a planner of the level above, like every grid above the root. With
    ``root_ok`` the root itself is allowed: the edit is of its children
    (micro-grids created, proposed or adopted under a comprehensive grid). A grid
    outside the jurisdiction altogether is left to the query to report as unknown
    (404, telling nothing of grids elsewhere).
    """
    root = principal.grid_code
    if root is None or not code or not root.startswith(code) or \
            (root_ok and code == root):
        return
    if code == root:
        raise Forbidden(say("err_grid_root_jurisdiction_editing",
                            code=code), field=field)
    raise Forbidden(say("err_grid_lies_above_jurisdiction", code=code, root=root),
        field=field)


def refuse_reaching_out(conn, principal, geometry, level, field):
    """Forbidden when a drawn ``geometry`` reaches (by more than
    ``geo.edit.BORDER_DEGREES``) into grids of ``level`` outside the user's
    jurisdiction, naming them: the planner is drawing over their ground. (For a
    user of the whole deployment, what lies outside the parent is cut off.)"""
    if principal.grid_code is None:
        return
    outside = [r[0] for r in conn.execute(
        "WITH d AS (SELECT ST_GeomFromWKB(%(wkb)s, 4326) AS geom)"
        " SELECT g.code FROM grids g, d"
        " WHERE g.level = %(level)s AND g.code NOT LIKE %(scope)s"
        " AND g.geom && d.geom"
        " AND ST_Intersects(ST_Buffer(g.geom, -%(border)s), d.geom)"
        " ORDER BY g.code",
        {"wkb": shapely.to_wkb(geometry), "level": level, "scope": principal.prefix,
         "border": geo_edit.BORDER_DEGREES})]
    if outside:
        raise Forbidden(say("err_new_boundary_reaches_into", v='、'.join(outside),
                            v2=', '.join(outside)), field=field, outside=outside)


def refuse_outside(principal, edit, changed):
    """Forbidden when an edit would change, create, remove or re-code a grid that
    is not strictly below the root of the user's jurisdiction, naming them: the
    last word on every edit, whatever the route and however it got there."""
    root = principal.grid_code
    if root is None:
        return
    touched = {*changed, *edit.created, *edit.removed, *edit.successor.values(),
               *edit.recoded, *edit.recoded.values()}
    outside = sorted(c for c in touched
                     if not (c.startswith(root) and len(c) > len(root)))
    if outside:
        raise Forbidden(say("err_edit_would_change_grid", v='、'.join(outside),
                            v2=', '.join(outside)), field="code", outside=outside)
