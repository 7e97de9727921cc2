"""One place that turns errors into JSON: ``{"error": {code, message, field}}``.

A database that cannot be reached (down, restarting, no connection free within
the pool's timeout) is a 503 "数据库暂不可用（The database is unavailable）" with
``Retry-After``, as JSON under /api/ and as a page elsewhere, not a 500.
"""

import psycopg
from flask import jsonify, request
from psycopg_pool import PoolTimeout
from werkzeug.exceptions import HTTPException

from geo.catalogue import say
from layers.errors import LayerError

__all__ = ["init_app", "error_response", "first_line", "is_unavailable",
           "RETRY_AFTER_S", "UNAVAILABLE", "PROGRAM_PATHS", "for_a_program"]

UNAVAILABLE = say("db_unavailable")
RETRY_AFTER_S = 5


def error_response(status, code, message, field=None, **details):
    """The JSON error body; ``details`` (e.g. the current version on a conflict,
    the gaps of a refused edit) go beside the message."""
    body = {"error": {"code": code, "message": message, **details}}
    if field is not None:
        body["error"]["field"] = field
    return jsonify(body), int(status)


# Where the client is a program (the JSON API, OGC API – Features, vector tiles
# for QGIS and the pages' map layers): errors are JSON, and a request without
# credentials is a 401 (api.auth), never a redirect to the login page.
PROGRAM_PATHS = ("/api/", "/ogc", "/tiles/")


def for_a_program():
    """Whether the request is a program's (:data:`PROGRAM_PATHS`)."""
    return request.path.startswith(PROGRAM_PATHS)



def first_line(exc):
    """The first line of an exception's message (psycopg's go on with context)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def is_unavailable(exc):
    """Whether ``exc`` says the database cannot be reached, rather than that a
    statement failed: no pooled connection in time, a connection lost (no
    SQLSTATE: the client noticed), refused or cut (class 08), or a server
    shutting down or starting up (57P01–57P03)."""
    if isinstance(exc, PoolTimeout):
        return True
    return isinstance(exc, psycopg.OperationalError) and (
        exc.sqlstate is None or exc.sqlstate.startswith(("08", "57P")))


def init_app(app):
    """Register the handlers; pages (not under /api/) get HTML from the callable
    ``app.extensions["gridgov.page_error"](status, message)`` when there is one."""

    def page(status, message):
        render = app.extensions.get("gridgov.page_error")
        return render(status, message) if render else (message, status)

    @app.errorhandler(LayerError)
    def layer_error(exc):
        if not for_a_program():
            return page(int(exc.http_status), exc.message)
        return error_response(exc.http_status, exc.code, exc.message, exc.field,
                              **exc.details)

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if not for_a_program():
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code, code, say(
            "err_http", status=exc.code, description=exc.description or exc.name))

    @app.errorhandler(Exception)
    def unexpected(exc):
        if is_unavailable(exc):
            app.logger.warning("database unavailable on %s %s: %s", request.method,
                               request.path, first_line(exc))
            if for_a_program():
                answer = error_response(503, "unavailable", UNAVAILABLE)
            else:
                answer = page(503, UNAVAILABLE)
            return answer[0], answer[1], {"Retry-After": str(RETRY_AFTER_S)}
        # Never leak a stack trace or SQL: log it, answer a plain message.
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if for_a_program():
            return error_response(500, "internal", say("internal"))
        return page(500, say("internal"))
