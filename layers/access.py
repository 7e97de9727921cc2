"""Who may do what, and where: the one table of role → permissions, and jurisdiction.

Every route declares the permission it needs (``api/auth.py``'s ``requires``); every
layer function that reads or changes data of the grids takes the user's
``Principal`` and restricts its SQL to the user's subtree of the grid hierarchy
(grid codes are hierarchical prefixes, so a subtree is ``code LIKE 'prefix%'``).
"""

from dataclasses import dataclass

__all__ = ["PERMISSIONS", "ROLE_PERMISSIONS", "ROLES", "Principal", "SYSTEM"]

# permission -> what it allows (documentation, and the set of valid names)
PERMISSIONS = {
    "map:view": "open the map pages and read grids, cameras and aggregates",
    "locate": "locate a point: grid chain, staff, cameras",
    "staff:contact": "see grid staff phone numbers",
    "notices:print": "print grid notices (网格公示牌: boundary, staff and their "
                     "public phone numbers, service hours)",
    "households:read": "list households (names, phones, ID numbers masked)",
    "households:personal": "see households' names, phones and ID numbers unmasked",
    "households:tags": "see households' sensitive tags (社区矫正, 精神障碍 …)",
    "households:edit": "create and change households",
    "grids:edit": "draw, split, merge and redraw grids",
    "cameras:edit": "create and change cameras",
    "incidents:read": "read incidents",
    "incidents:edit": "register and handle incidents: every action of the loop",
    "warnings:handle": "acknowledge early warnings, send them to 研判 or dismiss "
                       "them",
    "judgements:edit": "record 研判 items (meetings, decisions, follow-up tasks), "
                       "resolve and escalate them; above the town, only at the "
                       "研判 levels one sits at (layers/judgements.py)",
    "incidents:report": "report incidents, add photos, accept and report back on "
                        "the tasks assigned (the field's actions of the loop)",
    "visits:record": "record household visits (入户走访) and propose tags",
    "visits:confirm": "confirm the tags proposed by visits",
    "patrols:record": "record one's own patrol from a phone",
    "imports:run": "import files",
    "tracks:read": "read grid workers' patrol tracks and their coverage",
    "audit:read": "read the audit log",
    "users:manage": "create, disable and give tokens to users",
}

# role -> (Chinese label, permissions). The one place where roles get rights.
ROLE_PERMISSIONS = {
    "admin": ("系统管理员", frozenset(PERMISSIONS)),
    "planner": ("网格规划员", frozenset({
        "map:view", "locate", "staff:contact", "households:read", "grids:edit",
        "cameras:edit", "imports:run", "notices:print",
    })),
    "dispatcher": ("指挥调度员", frozenset({
        "map:view", "locate", "staff:contact", "households:read",
        "households:personal", "households:tags", "incidents:read",
        "incidents:edit", "incidents:report", "tracks:read", "visits:confirm",
        "warnings:handle", "judgements:edit", "notices:print",
    })),
    "leader": ("领导", frozenset({
        "map:view", "locate", "staff:contact", "households:read", "incidents:read",
        "tracks:read", "warnings:handle", "judgements:edit", "notices:print",
    })),
    "field_worker": ("网格员", frozenset({
        "map:view", "locate", "staff:contact", "households:read",
        "households:personal", "households:tags", "households:edit",
        "incidents:read", "incidents:edit", "incidents:report", "imports:run",
        "tracks:read", "visits:record", "patrols:record",
    })),
    # 网格联络员 / 志愿者: reports, patrols, works the tasks assigned (accept,
    # feedback), records visits; households masked and without tags; no imports,
    # no tracks of others (layers/incidents.py keeps the rest of the loop to
    # incidents:edit).
    "grid_liaison": ("网格联络员", frozenset({
        "map:view", "locate", "staff:contact", "households:read", "incidents:read",
        "incidents:report", "visits:record", "patrols:record",
    })),
    "viewer": ("访客", frozenset({"map:view"})),
}
ROLES = tuple(ROLE_PERMISSIONS)

for _role, (_label, _perms) in ROLE_PERMISSIONS.items():
    assert _perms <= PERMISSIONS.keys(), (_role, _perms - PERMISSIONS.keys())


@dataclass(frozen=True)
class Principal:
    """The user (or token) a request acts for.

    ``grid_code`` is the root of the user's jurisdiction; None means everywhere.
    """

    username: str
    role: str
    grid_code: str | None = None
    user_id: int | None = None

    @property
    def permissions(self):
        return ROLE_PERMISSIONS[self.role][1]

    def can(self, permission):
        if permission not in PERMISSIONS:
            raise KeyError(f"unknown permission {permission!r}")
        return permission in self.permissions

    @property
    def prefix(self):
        """A LIKE pattern matching the grid codes of the user's subtree."""
        return like_prefix(self.grid_code or "")


def like_prefix(code):
    """A LIKE pattern matching codes that start with ``code`` (wildcards escaped)."""
    return code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# For the command line and the demo loader: acts everywhere, as an administrator.
SYSTEM = Principal(username="system", role="admin")
