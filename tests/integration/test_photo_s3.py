"""The S3-compatible photo store (``api/photo_store.py``'s ``S3Store``) against a
real S3 endpoint from PyPI: moto's server mode on a local port, spoken to through
boto3 over HTTP like a MinIO. Real PostGIS, a writable copy of the demo town."""

import io
import socket
import uuid

import boto3
import psycopg
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from layers import users
from layers.access import SYSTEM
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

KEYS = {"PHOTO_S3_ACCESS_KEY_ID": "gridgov-test", "PHOTO_S3_SECRET_ACCESS_KEY":
        "gridgov-test-secret", "PHOTO_S3_REGION": "us-east-1"}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="gridgov-test",
                          aws_secret_access_key="gridgov-test-secret")
    client.create_bucket(Bucket="photos")
    yield endpoint, client
    server.stop()


@pytest.fixture(scope="module")
def town(databases, demo_town, s3):
    from web import create_app

    g = demo_town.grids
    village_b = sorted(g[g.level == 2].code)[1]

    def setup(c):  # a worker of the next village
        users.add_user(c, SYSTEM, "s3_outsider", "field_worker", village_b,
                       "correct-horse-battery")

    wd = writable_demo(databases, demo_town, setup)
    endpoint, _ = s3

    def app(**config):
        """An app on the town whose photo store is configured by ``config``."""
        return create_app({"DATABASE_URL": wd.url, "TESTING": True,
                           "SECRET_KEY": "x" * 32, "LOCATE_INDEX_BACKGROUND": False,
                           "PHOTO_S3_ENDPOINT": endpoint, **KEYS, **config})

    with psycopg.connect(wd.url) as c:
        grids = dict(c.execute("SELECT username, grid_code FROM users").fetchall())
        (lon, lat), = c.execute(
            "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))"
            " FROM grids WHERE level = 4 AND code LIKE %s ORDER BY code LIMIT 1",
            (grids["worker"] + "%",)).fetchall()
    wd.make_app, wd.point = app, (lon, lat)
    wd.bucket_app = app(PHOTO_S3_BUCKET="photos")
    return wd


def q(town, query, params=()):
    with psycopg.connect(town.url) as c:
        return c.execute(query, params).fetchall()


def _photos_of(town, code):
    return q(town, "SELECT count(*) FROM incident_photos p JOIN incidents i"
             " ON i.id = p.incident_id WHERE i.code = %s", (code,))[0][0]


def _client(app, token):
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return c


def _jpeg(color):
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, "JPEG")
    return out.getvalue()


def _report(town, app, who="worker"):
    lon, lat = town.point
    r = _client(app, town.tokens[who]).post("/api/v1/incidents", json={
        "category": "environment", "source": "grid_worker", "description": "S3",
        "lon": lon, "lat": lat})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["code"]


def _upload(app, token, code, data, key=None):
    return _client(app, token).post(
        f"/api/v1/incidents/{code}/photos", data={"file": (io.BytesIO(data), "p.jpg")},
        content_type="multipart/form-data",
        headers={"Idempotency-Key": key} if key else {})


def _objects(client):
    return [o["Key"] for o in client.list_objects_v2(Bucket="photos").get(
        "Contents", [])]


def test_a_photo_goes_to_the_bucket_by_its_hash_once_and_is_read_in_scope(town, s3):
    _, client = s3
    app = town.bucket_app
    from api import photo_store

    with app.app_context():
        store = photo_store.store()
    assert isinstance(store, photo_store.S3Store)
    puts = []
    store.client.meta.events.register("before-call.s3.PutObject",
                                      lambda **kw: puts.append(kw))
    before = set(_objects(client))
    code = _report(town, app)
    token = town.tokens["worker"]
    r = _upload(app, token, code, _jpeg("navy"))
    assert r.status_code == 201, r.get_json()
    photo = r.get_json()
    (sha,), = q(town, "SELECT sha256 FROM incident_photos WHERE id = %s",
                (photo["id"],))
    new = set(_objects(client)) - before
    assert new == {f"photos/{sha[:2]}/{sha[2:4]}/{sha}.jpg"}
    assert len(puts) == 1
    # read back through gridgov: the stored JPEG, private
    got = _client(app, token).get(photo["url"])
    assert got.status_code == 200 and got.content_type == "image/jpeg"
    assert got.headers["Cache-Control"].startswith("private")
    body = client.get_object(Bucket="photos", Key=new.pop())["Body"].read()
    assert got.get_data() == body and Image.open(io.BytesIO(body)).size == (40, 30)
    # a resend with its key, one without, and the same picture on another
    # incident: one object, written once
    key = str(uuid.uuid4())
    assert _upload(app, token, code, _jpeg("navy"), key).get_json() == photo
    assert _upload(app, token, code, _jpeg("navy"), key).get_json() == photo
    assert _upload(app, token, code, _jpeg("navy")).get_json() == photo
    other = _upload(app, token, _report(town, app), _jpeg("navy"))
    assert other.status_code == 201 and other.get_json()["id"] != photo["id"]
    assert len(puts) == 1 and len(set(_objects(client)) - before) == 1
    # scoping: a worker of another village reads it as a missing photo
    r = _client(app, town.tokens["s3_outsider"]).get(photo["url"])
    assert r.status_code == 404, r.get_json()
    assert _client(app, town.tokens["dispatcher"]).get(photo["url"]).get_data() == body


def test_a_missing_bucket_is_a_503_naming_it_and_records_nothing(town, s3):
    app = town.make_app(PHOTO_S3_BUCKET="no-such-bucket")
    code = _report(town, app)
    r = _upload(app, town.tokens["worker"], code, _jpeg("olive"), str(uuid.uuid4()))
    assert r.status_code == 503, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "unavailable"
    assert "照片存储暂不可用" in error["message"]
    assert "no-such-bucket" in error["message"]
    assert "the bucket does not exist" in error["message"]
    assert _photos_of(town, code) == 0
    # a photo stored before the bucket went away: its read is a 503 too
    good = town.bucket_app
    photo = _upload(good, town.tokens["worker"], _report(town, good),
                    _jpeg("teal")).get_json()["id"]
    r = _client(app, town.tokens["worker"]).get(f"/api/v1/photos/{photo}")
    assert r.status_code == 503
    assert "no-such-bucket" in r.get_json()["error"]["message"]


def test_an_endpoint_that_is_not_a_url_is_a_503_naming_the_setting(town):
    app = town.make_app(PHOTO_S3_BUCKET="photos", PHOTO_S3_ENDPOINT="minio:9000 ")
    r = _upload(app, town.tokens["worker"], _report(town, app), _jpeg("gray"))
    assert r.status_code == 503, r.get_json()
    assert "PHOTO_S3_ENDPOINT" in r.get_json()["error"]["message"]


def test_an_unreachable_store_is_a_503_not_a_500(town):
    app = town.make_app(PHOTO_S3_BUCKET="photos",
                        PHOTO_S3_ENDPOINT=f"http://127.0.0.1:{_free_port()}",
                        PHOTO_S3_TIMEOUT=1)
    code = _report(town, app)
    r = _upload(app, town.tokens["worker"], code, _jpeg("maroon"))
    assert r.status_code == 503, r.get_json()
    message = r.get_json()["error"]["message"]
    assert "照片存储暂不可用" in message and "cannot be reached" in message
    # the idempotency key of a failed upload keeps nothing: a resend runs again
    assert _photos_of(town, code) == 0
