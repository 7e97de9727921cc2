"""One place that turns errors into JSON: ``{"error": {code, message, field}}``."""

from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from layers.errors import LayerError

__all__ = ["init_app", "error_response"]


def error_response(status, code, message, field=None, **details):
    """The JSON error body; ``details`` (e.g. the current version on a conflict,
    the gaps of a refused edit) go beside the message."""
    body = {"error": {"code": code, "message": message, **details}}
    if field is not None:
        body["error"]["field"] = field
    return jsonify(body), int(status)


def _wants_json():
    return request.path.startswith("/api/")


def init_app(app):
    """Register the handlers; pages (not under /api/) get HTML from the callable
    ``app.extensions["gridgov.page_error"](status, message)`` when there is one."""

    def page(status, message):
        render = app.extensions.get("gridgov.page_error")
        return render(status, message) if render else (message, status)

    @app.errorhandler(LayerError)
    def layer_error(exc):
        if not _wants_json():
            return page(int(exc.http_status), exc.message)
        return error_response(exc.http_status, exc.code, exc.message, exc.field,
                              **exc.details)

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if not _wants_json():
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc):
        # Never leak a stack trace or SQL: log it, answer a plain message.
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if _wants_json():
            return error_response(500, "internal", "internal error; see the server log")
        return page(500, "internal error; see the server log")
