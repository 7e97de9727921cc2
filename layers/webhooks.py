"""Outbound webhooks: the receivers, the outbox, and the delivery of one row.

An administrator registers a receiver (``create``): a URL (http or https; never
a loopback, link-local or cloud-metadata address unless the deployment allows
them, ``WEBHOOK_ALLOW_LOOPBACK``), a shared secret, the events wanted
(``EVENTS``) and the jurisdiction covered (a grid's subtree; a scoped
administrator's own at most). A change of an incident calls ``emit`` inside its
transaction: one outbox row per receiver that wants the event for that grid,
and its job deferred on the same connection (``layers.jobs.defer``), so a
rolled-back change sends nothing and a committed one is never lost.

A delivery (``deliver``, run by the job queue's worker) POSTs the row's body,
fixed when the change happened, with ``X-Gridgov-Signature: sha256=<hex HMAC-
SHA256 of the body with the secret>``, ``X-Gridgov-Delivery`` (the row's id: a
receiver drops a delivery it has seen) and ``X-Gridgov-Event``; a 2xx answer
within TIMEOUT_S is delivered, anything else is retried with backoff
(``layers.jobs.WEBHOOK_RETRY``) and ends 'failed', which an administrator may
retry (``layers.jobs.retry_job``). The URL is checked again when sending
(``pin``): its name resolved once more, refused (the row failed with the reason,
not retried) if it now leads to a loopback, link-local or metadata address, and
the POST sent to the very address checked, not to a fresh resolution. The
setting ``WEBHOOK_ALLOW_LOOPBACK`` (``loopback_allowed``) lifts the refusal in
both places: the web app reads it from its config, the worker from
``GRIDGOV_WEBHOOK_ALLOW_LOOPBACK``, the same variable.
"""

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
from urllib.parse import urlsplit

from psycopg import sql
from psycopg.rows import dict_row

from geo import workdays
from geo.catalogue import say
from layers import audit, jobs
from layers.errors import Conflict, Forbidden, Invalid, NotFound

__all__ = ["EVENTS", "EVENT_OF_ACTION", "TIMEOUT_S", "check_url", "pin", "create",
           "update", "delete", "list_webhooks", "get_webhook", "emit", "emit_many",
           "deliver", "sign", "loopback_allowed", "Refused", "DeliveryFailed",
           "DeliveryRefused"]

# event -> the incident action (layers/incidents.py) that makes it
EVENTS = {"registered": "register", "dispatched": "triage", "escalated": "escalate",
          "closed": "close", "evaluated": "evaluate", "reopened": "reopen"}
EVENT_OF_ACTION = {action: event for event, action in EVENTS.items()}
TIMEOUT_S = 5  # a receiver that does not answer within this is retried later
_METADATA_HOSTS = {"metadata", "metadata.google.internal", "metadata.goog",
                   "instance-data", "instance-data.ec2.internal"}
_LIMITS = {"name": 100, "url": 2000, "secret": 200}
_SECRET_MIN = 16


def sign(secret, body):
    """The signature header's value of ``body`` (bytes)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _refused_address(address):
    """True for an address a webhook may not reach (SSRF): loopback, link-local
    (cloud metadata lives at 169.254.169.254), unspecified, multicast, reserved."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip.is_loopback or ip.is_link_local or ip.is_unspecified
            or ip.is_multicast or ip.is_reserved)


def loopback_allowed(value):
    """The deployment setting ``WEBHOOK_ALLOW_LOOPBACK`` (the web app's config,
    the worker's ``GRIDGOV_WEBHOOK_ALLOW_LOOPBACK``) as a yes or no: true, 1 or
    yes allow loopback, link-local and metadata addresses both when a webhook is
    registered and when it is sent (a test receiver, a receiver on the same
    host); anything else refuses them."""
    return value is True or str(value).strip().lower() in ("1", "true", "yes")


def _parse(url):
    """``(url stripped, its parts, host, port)``; Invalid naming ``url``."""
    if not isinstance(url, str) or not url.strip():
        raise Invalid(say("err_required", field="url"), field="url")
    url = url.strip()
    if len(url) > _LIMITS["url"]:
        raise Invalid(say("err_too_long", field="url", limit=_LIMITS["url"]),
                      field="url")
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise Invalid(say("err_webhook_url", url=url), field="url") from None
    if parts.scheme not in ("http", "https") or not host:
        raise Invalid(say("err_webhook_url", url=url), field="url")
    if parts.username or parts.password:
        raise Invalid(say("err_webhook_url_userinfo"), field="url")
    return url, parts, host, port or (443 if parts.scheme == "https" else 80)


def _addresses(host, port, resolve):
    """The addresses ``host`` resolves to, in the resolver's order, each once."""
    try:
        found = resolve(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise Invalid(say("err_webhook_url_unresolved", host=host),
                      field="url") from None
    return list(dict.fromkeys(info[4][0] for info in found))


def check_url(url, allow_loopback=False, resolve=socket.getaddrinfo):
    """The URL, stripped, when a webhook may be sent to it; else Invalid naming
    ``url``. Every address the host resolves to is checked (at registration; a
    delivery checks again and connects to the address it checked: :func:`pin`)."""
    url, _, host, port = _parse(url)
    if allow_loopback:
        return url
    if host.lower().rstrip(".") in _METADATA_HOSTS:
        raise Invalid(say("err_webhook_url_internal", host=host), field="url")
    if any(_refused_address(a) for a in _addresses(host, port, resolve)):
        raise Invalid(say("err_webhook_url_internal", host=host), field="url")
    return url


class Refused(Invalid):
    """The URL leads, now, where a webhook may not go."""

    code = "webhook_refused"


def pin(url, allow_loopback=False, resolve=socket.getaddrinfo):
    """Check ``url`` again at sending time and choose the address to connect to:
    ``(url's parts, port, address)``. The name is resolved once, here; the POST
    goes to that address (:func:`_post`), never to a second resolution that a
    DNS answer with a short TTL could point elsewhere (DNS rebinding). Refused
    when any address is loopback, link-local, metadata … (unless
    ``allow_loopback``); Invalid when the name does not resolve (for now)."""
    _, parts, host, port = _parse(url)
    if not allow_loopback and host.lower().rstrip(".") in _METADATA_HOSTS:
        raise Refused(say("err_webhook_url_internal", host=host), field="url")
    addresses = _addresses(host, port, resolve)
    bad = [a for a in addresses if _refused_address(a)]
    if bad and not allow_loopback:
        raise Refused(say("err_webhook_refused_now", host=host, address=bad[0]),
                      field="url")
    if not addresses:
        raise Invalid(say("err_webhook_url_unresolved", host=host), field="url")
    return parts, port, addresses[0]


def _text(fields, name, required):
    value = fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Invalid(say("err_required", field=name), field=name)
        return None
    if not isinstance(value, str):
        raise Invalid(say("err_must_be_text", field=name), field=name)
    if len(value) > _LIMITS[name]:
        raise Invalid(say("err_too_long", field=name, limit=_LIMITS[name]),
                      field=name)
    return value.strip()


def _events(value):
    if not isinstance(value, list) or not value:
        raise Invalid(say("err_webhook_events", choices=", ".join(EVENTS)),
                      field="events")
    for event in value:
        if event not in EVENTS:
            raise Invalid(say("err_unknown_choice", field="events", value=event,
                              choices=", ".join(EVENTS)), field="events")
    return sorted(set(value), key=list(EVENTS).index)


def _secret(value):
    if value is None:
        return secrets.token_hex(32)
    if not isinstance(value, str) or not _SECRET_MIN <= len(value) <= _LIMITS[
            "secret"]:
        raise Invalid(say("err_webhook_secret", low=_SECRET_MIN,
                          high=_LIMITS["secret"]), field="secret")
    return value


def _grid(conn, principal, value):
    """The jurisdiction a webhook covers: a grid of the user's subtree (default
    the user's root; None, everywhere, for a user of the whole deployment)."""
    if value is None or value == "":
        return principal.grid_code
    if not isinstance(value, str):
        raise Invalid(say("err_must_be_text", field="grid_code"), field="grid_code")
    if principal.grid_code is not None and not value.startswith(principal.grid_code):
        raise Forbidden(say("err_webhook_grid_outside", code=value,
                            grid_code=principal.grid_code), field="grid_code")
    if conn.execute("SELECT 1 FROM grids WHERE code = %s", (value,)).fetchone() is None:
        raise Invalid(say("err_no_grid_code", code=value), field="grid_code")
    return value


def _active(value):
    if not isinstance(value, bool):
        raise Invalid(say("err_must_be_true_false", field="active"), field="active")
    return value


_COLUMNS = """
    w.id, w.name, w.url, w.events, w.grid_code, w.active, w.created_by,
    w.created_at, right(w.secret, 4) AS secret_ends,
    (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id
      AND d.status = 'delivered') AS delivered,
    (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id
      AND d.status IN ('pending', 'retrying')) AS pending,
    (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id
      AND d.status = 'failed') AS failed
"""


def _out(row):
    return {k: (v.astimezone(workdays.CHINA_TZ).isoformat()
                if isinstance(v, dt.datetime) else v) for k, v in row.items()}


def list_webhooks(conn, principal):
    """The webhooks of the user's subtree (a global admin: all), newest first."""
    rows = conn.cursor(row_factory=dict_row).execute(
        sql.SQL(" ").join([sql.SQL("SELECT"), sql.SQL(_COLUMNS), sql.SQL(
            "FROM webhooks w WHERE (%(everywhere)s"
            " OR w.grid_code LIKE %(scope)s) ORDER BY w.id DESC")]),
        {"everywhere": principal.grid_code is None,
         "scope": principal.prefix}).fetchall()
    return [_out(r) for r in rows]


def get_webhook(conn, principal, webhook_id, deliveries=20):
    """One webhook of the user's subtree with its latest deliveries."""
    cur = conn.cursor(row_factory=dict_row)
    row = cur.execute(
        sql.SQL(" ").join([sql.SQL("SELECT"), sql.SQL(_COLUMNS), sql.SQL(
            "FROM webhooks w WHERE w.id = %(id)s AND"
            " (%(everywhere)s OR w.grid_code LIKE %(scope)s)")]),
        {"id": webhook_id, "everywhere": principal.grid_code is None,
         "scope": principal.prefix}).fetchone()
    if row is None:
        raise NotFound(say("err_no_webhook", webhook_id=webhook_id),
                       field="webhook_id")
    row["deliveries"] = [_out(d) for d in cur.execute(
        "SELECT id, event, incident_code, status, attempts, last_status, last_error,"
        " job_id, created_at, last_attempt_at, delivered_at FROM webhook_deliveries"
        " WHERE webhook_id = %s ORDER BY id DESC LIMIT %s",
        (webhook_id, deliveries)).fetchall()]
    return _out(row)


def create(conn, principal, fields, allow_loopback=False):
    """Register a webhook; returns it with its ``secret`` (given, or made here:
    shown this once)."""
    clean = {"name": _text(fields, "name", True),
             "url": check_url(fields.get("url"), allow_loopback),
             "secret": _secret(fields.get("secret")),
             "events": _events(fields.get("events")),
             "active": _active(fields.get("active", True))}
    with conn.transaction():
        clean["grid_code"] = _grid(conn, principal, fields.get("grid_code"))
        webhook_id = conn.execute(
            "INSERT INTO webhooks (name, url, secret, events, grid_code, active,"
            " created_by) VALUES (%(name)s, %(url)s, %(secret)s, %(events)s,"
            " %(grid_code)s, %(active)s, %(by)s) RETURNING id",
            clean | {"by": principal.username}).fetchone()[0]
        audit.record(conn, principal, "create", "webhooks", str(webhook_id),
                     after={k: v for k, v in clean.items() if k != "secret"},
                     grid_code=clean["grid_code"])
        created = get_webhook(conn, principal, webhook_id, deliveries=0)
    return created | {"secret": clean["secret"]}


def update(conn, principal, webhook_id, fields, allow_loopback=False):
    """Change the given fields of a webhook (name, url, secret, events,
    grid_code, active); returns it."""
    unknown = set(fields) - {"name", "url", "secret", "events", "grid_code", "active"}
    if unknown:
        name = sorted(unknown)[0]
        raise Invalid(say("err_webhook_unknown_field", name=name, fields=", ".join(
            ("name", "url", "secret", "events", "grid_code", "active"))), field=name)
    changes = {}
    if "name" in fields:
        changes["name"] = _text(fields, "name", True)
    if "url" in fields:
        changes["url"] = check_url(fields["url"], allow_loopback)
    if "secret" in fields:
        changes["secret"] = _secret(fields["secret"])
    if "events" in fields:
        changes["events"] = _events(fields["events"])
    if "active" in fields:
        changes["active"] = _active(fields["active"])
    with conn.transaction():
        before = get_webhook(conn, principal, webhook_id, deliveries=0)
        if "grid_code" in fields:
            changes["grid_code"] = _grid(conn, principal, fields["grid_code"])
        for column, value in changes.items():
            conn.execute(sql.SQL("UPDATE webhooks SET {} = %s WHERE id = %s").format(
                sql.Identifier(column)), (value, webhook_id))
        audit.record(conn, principal, "update", "webhooks", str(webhook_id),
                     before={k: before.get(k) for k in changes if k != "secret"},
                     after={k: v for k, v in changes.items() if k != "secret"},
                     grid_code=before["grid_code"])
        return get_webhook(conn, principal, webhook_id)


def delete(conn, principal, webhook_id):
    """Delete a webhook and its outbox rows (their jobs find nothing to send)."""
    with conn.transaction():
        before = get_webhook(conn, principal, webhook_id, deliveries=0)
        conn.execute("DELETE FROM webhooks WHERE id = %s", (webhook_id,))
        audit.record(conn, principal, "delete", "webhooks", str(webhook_id),
                     before={k: before[k] for k in ("name", "url", "events",
                                                    "grid_code")},
                     grid_code=before["grid_code"])


def emit(conn, action, incident, at=None):
    """Inside the transaction of an incident's change: one outbox row per active
    webhook wanting the event of ``action`` for the incident's grid, and its job.
    ``incident``: code, grid_code, status, external_system, external_ref. Returns
    the deliveries' ids."""
    return emit_many(conn, action, [incident], at)


def emit_many(conn, action, incidents, at=None):
    """:func:`emit` for many incidents of one change (an import's), the
    receivers read once; the deliveries' ids, incident by incident."""
    event = EVENT_OF_ACTION.get(action)
    if event is None or not incidents:
        return []
    at = (at or dt.datetime.now(dt.UTC)).astimezone(workdays.CHINA_TZ)
    hooks = conn.execute(
        "SELECT id, coalesce(grid_code, '') FROM webhooks"
        " WHERE active AND %s = ANY(events) ORDER BY id", (event,)).fetchall()
    ids = []
    for incident in incidents if hooks else ():
        grid = incident["grid_code"] or ""
        for webhook_id, covered in hooks:
            if grid.startswith(covered):
                ids.append(_outbox(conn, webhook_id, event, incident, at))
    return ids


def _outbox(conn, webhook_id, event, incident, at):
    """One outbox row and its job; the row's id."""
    delivery_id = conn.execute(
        "INSERT INTO webhook_deliveries (webhook_id, event, incident_code,"
        " grid_code, body) VALUES (%s, %s, %s, %s, '') RETURNING id",
        (webhook_id, event, incident["code"], incident["grid_code"])).fetchone()[0]
    body = json.dumps({
        "delivery_id": delivery_id, "event": event, "incident": incident["code"],
        "external_system": incident.get("external_system"),
        "external_ref": incident.get("external_ref"),
        "status": incident["status"], "grid_code": incident["grid_code"],
        "at": at.isoformat()}, ensure_ascii=False)
    job_id = jobs.defer(conn, jobs.DELIVER, queue="webhooks",
                        delivery_id=delivery_id)
    conn.execute("UPDATE webhook_deliveries SET body = %s, job_id = %s"
                 " WHERE id = %s", (body, job_id, delivery_id))
    return delivery_id


class _Pinned(http.client.HTTPConnection):
    """HTTP to ``address``, the name still in the Host header."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    """HTTPS to ``address``: the certificate checked against the name (SNI too)."""

    def __init__(self, host, port, address, timeout):
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def _post(target, secret, delivery_id, event, body):
    """POST ``body`` to ``target`` (:func:`pin`'s answer); ``(status or None,
    error text or None)``, 2xx with no error. No redirect is followed: a 3xx is an
    answer to retry, never a new target."""
    parts, port, address = target
    kind = _PinnedTLS if parts.scheme == "https" else _Pinned
    connection = kind(parts.hostname, port, address, TIMEOUT_S)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "gridgov-webhooks",
            "X-Gridgov-Event": event, "X-Gridgov-Delivery": str(delivery_id),
            "X-Gridgov-Signature": sign(secret, body)})
        answer = connection.getresponse()
        answer.read()
    except (OSError, http.client.HTTPException) as exc:  # refused, timed out,
        return None, (str(exc) or type(exc).__name__)[:500]  # reset, TLS, garbage
    finally:
        connection.close()
    if 200 <= answer.status < 300:
        return answer.status, None
    return answer.status, f"HTTP {answer.status}"


def deliver(conn, delivery_id, last=False, allow_loopback=False,
            resolve=socket.getaddrinfo):
    """Send one outbox row (the job's work): delivered on a 2xx; otherwise the
    attempt is recorded and DeliveryFailed raised (the queue retries it), the
    row 'failed' when ``last``. A row already delivered, or whose webhook is
    gone or disabled, sends nothing.

    The URL is checked again now (:func:`pin`, with the deployment's
    ``allow_loopback``; ``resolve`` is the resolver, a test's hook): a name that
    now resolves to a refused address fails the row at once with the reason,
    and the job with DeliveryRefused, not retried (an administrator may retry
    it); the POST goes to the address checked."""
    row = conn.cursor(row_factory=dict_row).execute(
        "SELECT d.id, d.event, d.body, d.status, w.url, w.secret, w.active"
        " FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
        " WHERE d.id = %s", (delivery_id,)).fetchone()
    if row is None or row["status"] == "delivered":
        return "nothing to send"
    if not row["active"]:  # failed at once, not retried: an admin may retry it
        conn.execute("UPDATE webhook_deliveries SET status = 'failed',"
                     " last_error = %s WHERE id = %s",
                     (say("err_webhook_disabled"), delivery_id))
        return "disabled"
    try:
        target = pin(row["url"], allow_loopback, resolve)
    except Refused as exc:
        conn.execute("UPDATE webhook_deliveries SET attempts = attempts + 1,"
                     " last_status = NULL, last_error = %s, last_attempt_at = now(),"
                     " status = 'failed' WHERE id = %s", (exc.message, delivery_id))
        raise DeliveryRefused(say("err_webhook_not_delivered",
                                  delivery_id=delivery_id, error=exc.message)) from None
    except Invalid as exc:  # no address now: retried, as a receiver that is down
        target, error = None, exc.message
    if target is not None:
        status, error = _post(target, row["secret"], row["id"], row["event"],
                              row["body"].encode())
    else:
        status = None
    ok = status is not None and 200 <= status < 300
    conn.execute(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = %s,"
        " last_error = %s, last_attempt_at = now(), status = %s,"
        " delivered_at = CASE WHEN %s THEN now() END WHERE id = %s",
        (status, error, "delivered" if ok else "failed" if last else "retrying",
         ok, delivery_id))
    if not ok:
        raise DeliveryFailed(say("err_webhook_not_delivered", delivery_id=delivery_id,
                                 error=error))
    return "delivered"


class DeliveryFailed(Conflict):
    """The receiver did not take the delivery: the queue retries it."""

    code = "webhook_not_delivered"


class DeliveryRefused(DeliveryFailed):
    """The URL now leads where a webhook may not go: failed, not retried."""

    code = "webhook_refused"
    retry = False
