"""Incident photos: rows of ``incident_photos`` (migration 0023); the JPEG itself
lives in the photo store under its sha256 (``api/photo_store.py``).

A photo belongs to its incident and is read within the incident's scope: a photo
of an incident outside the user's jurisdiction is NotFound, like a missing one.
"""

from psycopg.rows import dict_row

from geo.catalogue import say
from layers import audit
from layers.errors import NotFound

__all__ = ["URL", "url", "add", "get", "of_incidents", "incident_id"]

URL = "/api/v1/photos/{}"


def url(photo_id):
    return URL.format(photo_id)


def incident_id(conn, principal, code):
    """The id of incident ``code`` (its code or numeric id) of the user's
    jurisdiction, or NotFound."""
    is_id = isinstance(code, int) or (isinstance(code, str) and code.isdigit()
                                       and len(code) < 19)  # a bigint
    row = conn.execute(
        "SELECT id FROM incidents WHERE (id = %s OR code = %s) AND grid_code LIKE %s",
        (int(code) if is_id else None, None if is_id else code, principal.prefix)
    ).fetchone()
    if row is None:
        raise NotFound(say("err_no_incident", code=code),
                       field="code")
    return row[0]


def add(conn, principal, incident, sha256, width, height, size):
    """Record the photo ``sha256`` of incident id ``incident``; the same picture
    of the same incident is recorded once. Returns ``({"id", "url"}, created)``."""
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO incident_photos (incident_id, sha256, width, height, bytes,"
            " created_by) VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (incident_id, sha256) DO NOTHING RETURNING id",
            (incident, sha256, width, height, size, principal.username)).fetchone()
        created = row is not None
        if not created:
            row = conn.execute(
                "SELECT id FROM incident_photos WHERE incident_id = %s"
                " AND sha256 = %s", (incident, sha256)).fetchone()
        else:
            code, grid = conn.execute(
                "SELECT code, grid_code FROM incidents WHERE id = %s",
                (incident,)).fetchone()
            audit.record(conn, principal, "create", "incident_photos", row[0],
                         after={"incident": code, "sha256": sha256,
                                "width": width, "height": height, "bytes": size},
                         grid_code=grid)
    return {"id": row[0], "url": url(row[0])}, created


def get(conn, principal, photo_id):
    """The photo ``photo_id`` of an incident of the user's jurisdiction."""
    row = conn.cursor(row_factory=dict_row).execute(
        "SELECT p.id, p.sha256, p.bytes, p.created_at, i.code AS incident"
        " FROM incident_photos p JOIN incidents i ON i.id = p.incident_id"
        " WHERE p.id = %s AND i.grid_code LIKE %s",
        (photo_id, principal.prefix)).fetchone()
    if row is None:
        raise NotFound(say("err_photo", photo_id=photo_id),
                       field="id")
    return row


def of_incidents(conn, incident_ids):
    """``{incident id: [{"id", "url", "created_at", "created_by"}, ...]}``
    (oldest first) of the incidents (the caller has scoped them); the time and
    sender put each photo in the incident's timeline."""
    found = {}
    for incident, photo, at, by in conn.execute(
            "SELECT incident_id, id, created_at, created_by FROM incident_photos"
            " WHERE incident_id = ANY(%s) ORDER BY incident_id, id",
            (list(incident_ids),)):
        found.setdefault(incident, []).append(
            {"id": photo, "url": url(photo), "created_at": at, "created_by": by})
    return found
