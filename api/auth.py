"""Who is asking: sessions (pages) and API tokens (devices, scripts), and the check
that every route makes.

Each view declares its permission with ``@requires("...")`` or ``@public``; a test
walks every registered route and fails on one that declares nothing.
CSRF (Flask-WTF) protects every state-changing request made with a session cookie;
requests with a bearer token carry no ambient credentials and need none.

A session is a row of the database (``layers.users.start_session``); the signed
cookie carries only its random id, so logout, a password change, disabling and a
role or jurisdiction change end it on the server, whatever cookie a thief kept.
"""

import functools

from flask import current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect

from api.db import connection
from api.errors import error_response, for_a_program
from geo.catalogue import say
from layers import devices, users
from layers.access import ROLE_PERMISSIONS
from layers.errors import Forbidden, Unauthorized

__all__ = ["init_app", "requires", "public", "token_login", "prefetch",
           "prefetched", "current", "log_in", "log_out", "REALM"]

_csrf = CSRFProtect()
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building the signer for a request
    that sends no session cookie (every API call with a token: ~5 % of a locate)."""

    def open_session(self, app, request):
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def init_app(app):
    app.session_interface = _CookieSessions()
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked below, by hand
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid for the session
    _csrf.init_app(app)
    app.before_request(_identify)
    app.after_request(_offer_basic)

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return error_response(400, "csrf", say("err_csrf", reason=exc.description),
                              field="csrf_token")


def _bearer():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


# Where HTTP Basic is accepted (what QGIS's and GDAL's authentication offers): the
# user name and an API token as the password; never the login password.
_BASIC_PATHS = ("/ogc", "/tiles/")


REALM = 'Basic realm="gridgov"'


def _offer_basic(response):
    """A 401 where HTTP Basic is accepted (/ogc, /tiles) says so, so that QGIS and
    GDAL ask for the user name and API token: one place for every such route."""
    if response.status_code == 401 and request.path.startswith(_BASIC_PATHS):
        # a tile request whose credentials failed gets no new challenge: QGIS's
        # vector-tile loader answers one by sending the same ones again, for ever
        if not (request.path.startswith("/tiles/")
                and request.headers.get("Authorization")):
            response.headers["WWW-Authenticate"] = REALM
    return response


def _basic():
    """``(username, token)`` of an HTTP Basic header on /ogc or /tiles, or None."""
    if not request.path.startswith(_BASIC_PATHS):
        return None
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return None
    return auth.username or "", auth.password or ""


def _identify():
    """Resolve ``g.principal`` (None when anonymous) and check CSRF when needed."""
    g.principal = None
    view = current_app.view_functions.get(request.endpoint)
    token = _bearer()
    if token is not None:
        g.principal = _lookup(view, users.principal_for_token, token)
        if g.principal is None:
            with connection() as conn:
                if devices.was_device(conn, token):  # the phone wipes its data
                    raise devices.refused()
            raise Unauthorized(say("err_bad_token"))
        return
    basic = _basic()
    if basic is not None:
        username, token = basic
        found = _lookup(view, users.principal_for_token, token)
        if found is None or found.username != username:
            raise Unauthorized(say("auth_user_name_and_api_token"))
        g.principal = found
        return
    sid = session.get("sid")
    # CSRF protects what a cookie grants: a logged-in session, and the login form
    # itself (against logging a victim into an attacker's account). An anonymous
    # request to anything else grants nothing and gets its 401 from `requires`.
    # A public JSON login that answers a token in its body (POST /api/v1/devices,
    # ``token_login``) sets no cookie: there is nothing for CSRF to protect.
    if request.method not in _SAFE_METHODS and (
            sid is not None or getattr(view, "permission", "") is None
    ) and not getattr(view, "token_login", False):
        _csrf.protect()
    if sid is not None:
        g.principal = _lookup(view, users.principal_for_session, sid)
        if g.principal is None:  # logged out, expired, or ended by a change
            session.clear()


def _lookup(view, find, key):
    """``find(conn, key)``, with the view's :func:`prefetch` queries answered in the
    same statement (kept for :func:`prefetched`)."""
    queries = getattr(view, "prefetch", None)
    with connection() as conn:
        if not queries:
            return find(conn, key)
        principal, values = find(conn, key, also=tuple(queries.values()))
    if values is not None:
        g.prefetched = dict(zip(queries, values, strict=True))
    return principal


def prefetch(**queries):
    """Declare parameterless one-value queries a view needs, answered by the
    database with the user lookup (one statement instead of two round trips on a
    hot path); the view reads them with :func:`prefetched`."""

    def decorate(view):
        view.prefetch = queries
        return view

    return decorate


def prefetched(name):
    """The value of the view's prefetched query ``name`` (None if not fetched)."""
    return g.get("prefetched", {}).get(name)


def current():
    """The Principal of the request (after ``requires`` it is never None)."""
    return g.get("principal")


def requires(permission):
    """Declare and enforce the permission a view needs."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = g.get("principal")
            if principal is None:
                if for_a_program():
                    raise Unauthorized(say("err_login_needed"))
                return redirect(url_for("auth.login",
                                        next=request.full_path.rstrip("?")))
            if not principal.can(permission):
                raise Forbidden(say("err_role_forbidden", role=principal.role,
                                    role_zh=ROLE_PERMISSIONS[principal.role][0],
                                    permission=permission))
            return view(*args, **kwargs)

        wrapper.permission = permission
        return wrapper

    return decorate


def public(view):
    """Declare a view open to anyone (login page, assets, health)."""
    view.permission = None
    return view


def token_login(view):
    """Declare a public view that logs in and answers a token in its JSON body
    (the phone's ``POST /api/v1/devices``): no cookie, so no CSRF check."""
    view.permission = None
    view.token_login = True
    return view


def log_in(principal):
    """Open a server-side session for ``principal`` and put its id in the cookie."""
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    with connection() as conn:
        sid = users.start_session(conn, principal, lifetime, request.remote_addr)
    session.clear()
    session.permanent = True
    session["sid"] = sid


def log_out():
    """End the request's session on the server, then forget the cookie."""
    sid = session.get("sid")
    if sid is not None:
        with connection() as conn:
            users.end_session(conn, sid)
    session.clear()
