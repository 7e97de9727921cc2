"""/api/v1/warnings: the day's early warnings (预警) and acting on them."""

from flask import Blueprint, jsonify, request

from api.auth import current, requires
from api.db import connection
from api.params import int_arg, json_body, text_field
from layers import early_warning

bp = Blueprint("early_warnings", __name__)

_WARNING = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": {"enum": ["grid", "cluster"]},
        "grid_code": {"type": "string"}, "grid_name": {"type": ["string", "null"]},
        "level": {"type": ["integer", "null"]},
        "category": {"type": ["string", "null"],
                     "description": "null for a cluster: all categories"},
        "category_label": {"type": "string"},
        "first_day": {"type": "string", "format": "date"},
        "last_day": {"type": "string", "format": "date"},
        "since": {"type": "string", "format": "date",
                  "description": "when the rise began (China time)"},
        "window_days": {"type": "integer"},
        "observed": {"type": "integer"}, "expected": {"type": "number"},
        "p": {"type": "number"},
        "q": {"type": ["number", "null"],
              "description": "Benjamini-Hochberg adjusted p-value (grids)"},
        "geometry": {"type": ["object", "null"],
                     "description": "a cluster's cells, GeoJSON EPSG:4326"},
        "incidents": {"type": "array", "items": {"type": "string"},
                      "description": "codes of the incidents behind it"},
        "status": {"enum": list(early_warning.STATUSES)},
        "reason": {"type": ["string", "null"]},
        "handled_by": {"type": ["string", "null"]},
        "handled_at": {"type": ["string", "null"], "format": "date-time"},
    },
}

OPENAPI = {
    "/warnings": {"get": {
        "summary": "Early warnings of your jurisdiction: grids whose recent incidents "
                   "are unusually high, and emerging space-time clusters",
        "parameters": [
            {"name": "status", "in": "query", "schema": {
                "enum": ["live", *early_warning.STATUSES], "default": "live"}},
            {"name": "grid", "in": "query", "schema": {"type": "string"},
             "description": "a subtree"},
            {"name": "at", "in": "query", "schema": {"type": "string"},
             "description": "a grid code: the warnings of it and of every grid "
                            "above it (the dispatcher's spot)"},
            {"name": "limit", "in": "query", "schema": {
                "type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
        ],
        "responses": {"200": {"description": "the warnings", "content": {
            "application/json": {"schema": {"type": "object", "properties": {
                "items": {"type": "array", "items": _WARNING}}}}}},
            "400": {"description": "bad parameter"}},
    }},
    "/warnings/{warning_id}": {
        "get": {"summary": "One warning",
                "parameters": [{"name": "warning_id", "in": "path", "required": True,
                                "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "the warning", "content": {
                    "application/json": {"schema": _WARNING}}},
                    "404": {"description": "unknown, or outside your jurisdiction"}}},
        "post": {"summary": "Acknowledge a warning, send it to 研判 (assess), or "
                            "dismiss it with a reason; audited",
                 "parameters": [{"name": "warning_id", "in": "path", "required": True,
                                 "schema": {"type": "integer"}}],
                 "requestBody": {"required": True, "content": {"application/json": {
                     "schema": {"type": "object", "required": ["action"],
                                "properties": {
                                    "action": {"enum": list(early_warning.ACTIONS)},
                                    "reason": {"type": "string", "maxLength": 500}}}}}},
                 "responses": {"200": {"description": "the warning", "content": {
                     "application/json": {"schema": _WARNING}}},
                     "400": {"description": "bad field"},
                     "404": {"description": "unknown, or outside your jurisdiction"},
                     "409": {"description": "already dismissed"}}},
    },
}


@bp.get("/warnings")
@requires("incidents:read")
def collection():
    args = request.args
    with connection() as conn:
        items = early_warning.list_warnings(
            conn, current(), status=args.get("status") or None,
            grid=args.get("grid") or None, at=args.get("at") or None,
            limit=int_arg("limit", 1, 1000, default=100))
    return jsonify({"items": items})


@bp.get("/warnings/<int:warning_id>")
@requires("incidents:read")
def one(warning_id):
    with connection() as conn:
        return jsonify(early_warning.get(conn, current(), warning_id))


@bp.post("/warnings/<int:warning_id>")
@requires("warnings:handle")
def act(warning_id):
    body = json_body()
    with connection() as conn:
        return jsonify(early_warning.handle(
            conn, current(), warning_id, text_field(body, "action", required=True),
            text_field(body, "reason")))
