"""/api/v1/webhooks (receivers of incident events) and /api/v1/admin/jobs (the
job queue as an administrator sees it): thin routes over layers/webhooks.py and
layers/jobs.py.

Administrators only (users:manage). A scoped administrator registers, sees and
changes the webhooks of their subtree and sees only those webhooks' deliveries
among the jobs; a global administrator sees everything, the deployment's own
jobs (the daily purge) included. Target URLs that are loopback, link-local or
cloud metadata addresses are refused unless ``WEBHOOK_ALLOW_LOOPBACK``
(``GRIDGOV_WEBHOOK_ALLOW_LOOPBACK=true``) allows them: here when registered, and
again by the worker (which reads the same variable) when each delivery is sent.
"""

from flask import Blueprint, current_app, jsonify

from api.auth import current, requires
from api.db import connection
from api.openapi import BOOLEAN, INTEGER, OBJECT, STRING, array, nullable, obj
from api.params import LIMIT, ChoiceParam, accepts, json_body
from layers import jobs, webhooks

bp = Blueprint("webhooks", __name__)

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
_WEBHOOK = obj("a webhook", required=("id",), id=INTEGER, name=STRING,
               url=STRING, events=array(STRING), grid_code=nullable(STRING),
               active=BOOLEAN)
_CREATE = obj(required=("name", "url", "events"), **_PROPS)
_CHANGE = obj(**_PROPS)


def _allow_loopback():
    return webhooks.loopback_allowed(
        current_app.config.get("WEBHOOK_ALLOW_LOOPBACK", False))


@bp.get("/webhooks")
@requires("users:manage")
@accepts(responses={200: obj("the webhooks", items=array(_WEBHOOK))})
def list_webhooks():
    """Webhooks of your jurisdiction, with delivery counts"""
    with connection() as conn:
        return jsonify({"items": webhooks.list_webhooks(conn, current())})


@bp.post("/webhooks")
@requires("users:manage")
@accepts(body=_CREATE, responses={201: _WEBHOOK})
def create_webhook():
    """Register a webhook. Each event is POSTed as JSON {delivery_id, event,
    incident, external_system, external_ref, status, grid_code, at} with
    X-Gridgov-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>,
    X-Gridgov-Delivery and X-Gridgov-Event; a 2xx within 5 s is delivered,
    anything else retried with exponential backoff, then failed (retry at
    /admin/jobs). The secret is answered this once"""
    body = json_body()
    with connection() as conn:
        created = webhooks.create(conn, current(), body, _allow_loopback())
    return jsonify(created), 201


@bp.get("/webhooks/<int:webhook_id>")
@requires("users:manage")
@accepts(responses={200: _WEBHOOK})
def get_webhook(webhook_id):
    """One webhook with its latest deliveries"""
    with connection() as conn:
        return jsonify(webhooks.get_webhook(conn, current(), webhook_id))


@bp.put("/webhooks/<int:webhook_id>")
@requires("users:manage")
@accepts(body=_CHANGE, responses={200: _WEBHOOK})
def update_webhook(webhook_id):
    """Change a webhook's fields"""
    body = json_body()
    with connection() as conn:
        return jsonify(webhooks.update(conn, current(), webhook_id, body,
                                       _allow_loopback()))


@bp.delete("/webhooks/<int:webhook_id>")
@requires("users:manage")
@accepts(responses={204: None})
def delete_webhook(webhook_id):
    """Delete a webhook and its outbox"""
    with connection() as conn:
        webhooks.delete(conn, current(), webhook_id)
    return "", 204


@bp.get("/admin/jobs")
@requires("users:manage")
@accepts(ChoiceParam("status", "任务状态", "job status", choices=tuple(jobs.STATUSES)),
         LIMIT, responses={200: obj("{items, failed}", items=array(OBJECT))})
def list_jobs(status, limit):
    """Background jobs, newest first (failed ones to retry)"""
    with connection() as conn:
        return jsonify(jobs.list_jobs(conn, current(), status=status, limit=limit))


@bp.post("/admin/jobs/<int:job_id>/retry")
@requires("users:manage")
@accepts(errors=(409,), responses={200: OBJECT})
def retry_job(job_id):
    """Run a failed job again now (one more attempt)"""
    with connection() as conn:
        return jsonify(jobs.retry_job(conn, current(), job_id))
