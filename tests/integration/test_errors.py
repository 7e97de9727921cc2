"""Errors never leak stack traces or SQL; pages and API answer in their own form."""

import psycopg
import pytest

from api.auth import public
from web import create_app

pytestmark = pytest.mark.db

SECRET_SQL = "SELECT head_name, phone FROM households WHERE id = 42"


@pytest.fixture(scope="module")
def broken_app(demo_url):
    app = create_app({"DATABASE_URL": demo_url, "SECRET_KEY": "x" * 32})

    @app.get("/api/v1/boom")
    @public
    def boom():
        raise psycopg.errors.SyntaxError(f"syntax error at or near {SECRET_SQL}")

    @app.get("/boom")
    @public
    def boom_page():
        raise RuntimeError(SECRET_SQL)

    return app


def test_an_api_error_is_plain_json_without_sql(broken_app):
    r = broken_app.test_client().get("/api/v1/boom")
    assert r.status_code == 500
    assert r.get_json() == {"error": {
        "code": "internal",
        "message": "内部错误，详见服务器日志（internal error; see the server log）"}}
    assert "SELECT" not in r.get_data(as_text=True)


def test_a_page_error_shows_no_trace(broken_app):
    r = broken_app.test_client().get("/boom")
    body = r.get_data(as_text=True)
    assert r.status_code == 500
    assert "内部错误" in body and "internal error" in body
    assert "SELECT" not in body and "Traceback" not in body


def test_a_missing_secret_key_is_refused_at_start(demo_url, monkeypatch):
    monkeypatch.delenv("GRIDGOV_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY is not configured"):
        create_app({"DATABASE_URL": demo_url})
