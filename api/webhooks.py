"""/api/v1/webhooks (receivers of incident events) and /api/v1/admin/jobs (the
job queue as an administrator sees it): thin routes over layers/webhooks.py and
layers/jobs.py.

Administrators only (users:manage). A scoped administrator registers, sees and
changes the webhooks of their subtree and sees only those webhooks' deliveries
among the jobs; a global administrator sees everything, the deployment's own
jobs (the daily purge) included. Target URLs that are loopback, link-local or
cloud metadata addresses are refused unless ``WEBHOOK_ALLOW_LOOPBACK``
(``GRIDGOV_WEBHOOK_ALLOW_LOOPBACK=true``) allows them.
"""

from flask import Blueprint, current_app, jsonify, request

from api.auth import current, requires
from api.db import connection
from api.params import int_arg, json_body
from layers import jobs, webhooks

bp = Blueprint("webhooks", __name__)

_ID = {"name": "webhook_id", "in": "path", "required": True,
       "schema": {"type": "integer"}}
_JOB_ID = {"name": "job_id", "in": "path", "required": True,
           "schema": {"type": "integer"}}
_PROPS = {
    "name": {"type": "string", "maxLength": 100},
    "url": {"type": "string", "format": "uri",
            "description": "http(s); not loopback, link-local or metadata "
                           "addresses unless the deployment allows them"},
    "secret": {"type": "string", "minLength": 16, "maxLength": 200,
               "description": "the HMAC-SHA256 key of X-Gridgov-Signature; left "
                              "out, one is made and answered once"},
    "events": {"type": "array", "minItems": 1,
               "items": {"type": "string", "enum": list(webhooks.EVENTS)}},
    "grid_code": {"type": "string",
                  "description": "the subtree covered (default: your jurisdiction)"},
    "active": {"type": "boolean", "default": True},
}
_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["name", "url", "events"], "properties": _PROPS}}}}
_DELIVERY = ("Each event is POSTed as JSON {delivery_id, event, incident, "
             "external_system, external_ref, status, grid_code, at (ISO 8601, "
             "+08:00)} with X-Gridgov-Signature: sha256=<hex HMAC-SHA256 of the "
             "body with the secret>, X-Gridgov-Delivery and X-Gridgov-Event; a 2xx "
             "within 5 s is delivered, anything else retried with exponential "
             "backoff, then failed (retry at /admin/jobs).")
_NOT_YOURS = {"404": {"description": "unknown, or outside your jurisdiction"}}

OPENAPI = {
    "/webhooks": {
        "get": {"summary": "Webhooks of your jurisdiction, with delivery counts",
                "responses": {"200": {"description": "{items}"}}},
        "post": {"summary": "Register a webhook", "description": _DELIVERY,
                 "requestBody": _BODY,
                 "responses": {"201": {"description": "the webhook, with its secret "
                                                      "(shown this once)"},
                               "400": {"description": "bad field (error.field)"},
                               "403": {"description": "grid_code outside your "
                                                      "jurisdiction"}}},
    },
    "/webhooks/{webhook_id}": {
        "get": {"summary": "One webhook with its latest deliveries",
                "parameters": [_ID],
                "responses": {"200": {"description": "the webhook"}} | _NOT_YOURS},
        "put": {"summary": "Change a webhook's fields", "parameters": [_ID],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"type": "object", "properties": _PROPS}}}},
                "responses": {"200": {"description": "the webhook"},
                              "400": {"description": "bad field"}} | _NOT_YOURS},
        "delete": {"summary": "Delete a webhook and its outbox",
                   "parameters": [_ID],
                   "responses": {"204": {"description": "deleted"}} | _NOT_YOURS},
    },
    "/admin/jobs": {
        "get": {"summary": "Background jobs, newest first (failed ones to retry)",
                "parameters": [
                    {"name": "status", "in": "query", "schema": {
                        "type": "string", "enum": list(jobs.STATUSES)}},
                    {"name": "limit", "in": "query", "schema": {
                        "type": "integer", "minimum": 1, "maximum": 1000,
                        "default": 100}}],
                "responses": {"200": {"description": "{items, failed}"}}},
    },
    "/admin/jobs/{job_id}/retry": {
        "post": {"summary": "Run a failed job again now (one more attempt)",
                 "parameters": [_JOB_ID],
                 "responses": {"200": {"description": "the job"},
                               "409": {"description": "the job has not failed"}}
                 | _NOT_YOURS},
    },
}


def _allow_loopback():
    value = current_app.config.get("WEBHOOK_ALLOW_LOOPBACK", False)
    return value is True or str(value).lower() in ("1", "true", "yes")


@bp.get("/webhooks")
@requires("users:manage")
def list_webhooks():
    with connection() as conn:
        return jsonify({"items": webhooks.list_webhooks(conn, current())})


@bp.post("/webhooks")
@requires("users:manage")
def create_webhook():
    body = json_body()
    with connection() as conn:
        created = webhooks.create(conn, current(), body, _allow_loopback())
    return jsonify(created), 201


@bp.get("/webhooks/<int:webhook_id>")
@requires("users:manage")
def get_webhook(webhook_id):
    with connection() as conn:
        return jsonify(webhooks.get_webhook(conn, current(), webhook_id))


@bp.put("/webhooks/<int:webhook_id>")
@requires("users:manage")
def update_webhook(webhook_id):
    body = json_body()
    with connection() as conn:
        return jsonify(webhooks.update(conn, current(), webhook_id, body,
                                       _allow_loopback()))


@bp.delete("/webhooks/<int:webhook_id>")
@requires("users:manage")
def delete_webhook(webhook_id):
    with connection() as conn:
        webhooks.delete(conn, current(), webhook_id)
    return "", 204


@bp.get("/admin/jobs")
@requires("users:manage")
def list_jobs():
    limit = int_arg("limit", 1, 1000, default=100)
    with connection() as conn:
        return jsonify(jobs.list_jobs(conn, current(),
                                      status=request.args.get("status") or None,
                                      limit=limit))


@bp.post("/admin/jobs/<int:job_id>/retry")
@requires("users:manage")
def retry_job(job_id):
    with connection() as conn:
        return jsonify(jobs.retry_job(conn, current(), job_id))
