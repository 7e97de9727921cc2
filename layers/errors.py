"""Exceptions a layer raises; each carries its HTTP meaning, never an HTTP response.

The API maps them to JSON bodies in one place (``api/errors.py``).
"""

from http import HTTPStatus

__all__ = [
    "LayerError", "NotFound", "Invalid", "Conflict", "Unauthorized", "Forbidden",
    "TooManyRequests", "Unprocessable", "Unavailable",
]


class LayerError(Exception):
    """Base of the errors a user can act on; ``message`` is one plain sentence."""

    http_status = HTTPStatus.INTERNAL_SERVER_ERROR
    code = "error"

    def __init__(self, message, field=None, **details):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details


class NotFound(LayerError):
    http_status = HTTPStatus.NOT_FOUND
    code = "not_found"


class Invalid(LayerError):
    http_status = HTTPStatus.BAD_REQUEST
    code = "invalid"


class Conflict(LayerError):
    http_status = HTTPStatus.CONFLICT
    code = "conflict"


class Unauthorized(LayerError):
    http_status = HTTPStatus.UNAUTHORIZED
    code = "unauthorized"


class Forbidden(LayerError):
    http_status = HTTPStatus.FORBIDDEN
    code = "forbidden"


class TooManyRequests(LayerError):
    http_status = HTTPStatus.TOO_MANY_REQUESTS
    code = "too_many_requests"


class Unprocessable(LayerError):
    """Well-formed input that cannot be carried out (an edit that breaks the tiling)."""

    http_status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "unprocessable"


class Unavailable(LayerError):
    """A service gridgov needs cannot be reached now (the photo store): try again."""

    http_status = HTTPStatus.SERVICE_UNAVAILABLE
    code = "unavailable"
