"""The generated OpenAPI documents checked against the running app by schemathesis.

For every operation of ``/api/v1/openapi.json`` (and of ``/ogc/openapi.json``),
schemathesis generates requests from the document (a fixed seed, a few examples
per operation) and sends them through the WSGI app as the global administrator,
in a writable copy of the demo town of its own (some requests succeed: nothing
another test reads is changed). Each answer must be:

- no server error (5xx);
- of a status the document lists for the operation;
- of the declared schema (top-level shape of JSON answers, the error body).

Path parameters get a real value of the demo half of the time (a grid code, an
incident code …), so that the answers are not all 404s.
"""

import re

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import writable_demo

pytestmark = pytest.mark.db

EXAMPLES = 4  # per operation: ~70 operations of the API, ~30 of /ogc
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Answers that render a file for seconds (a PDF or PNG page): one example
SLOW = re.compile(r"^(POST /api/v1/imports|GET /api/v1/coverage/recommend)")


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    return writable_demo(databases, demo_town)


def _real_values(url):
    with psycopg.connect(url) as c:
        grid = c.execute("SELECT code FROM grids WHERE level = 4 ORDER BY code "
                         "LIMIT 1").fetchone()[0]
        incident = c.execute("SELECT code FROM incidents ORDER BY id LIMIT 1"
                             ).fetchone()[0]
        household = c.execute("SELECT min(id) FROM households").fetchone()[0]
    return {"code": grid, "household_id": household, "cid": "grids-4",
            "fid": grid, "featureId": grid, "layer": "grids", "incident": incident}


def _run(schema, app, token, real):
    """Every operation of ``schema``: the failures found (the first two of each
    operation, one line each) and the number of requests sent."""
    failures, seen = [], 0
    headers = {"Authorization": f"Bearer {token}"}
    for result in schema.get_all_operations():
        found, sent = _operation(result.ok(), app, headers, real)
        failures += found[:2]
        seen += sent
    return failures, seen


def _operation(operation, app, headers, real):
    label = f"{operation.method.upper()} {operation.path}"
    names = re.findall(r"{([^}]+)}", operation.path)
    fixed = {n: real["incident"] if n == "code" and "/incidents/" in operation.path
             else real[n] for n in names if n in real}
    strategies = [operation.as_strategy()]
    if fixed:
        strategies.append(operation.as_strategy(path_parameters=fixed))
    found, sent = [], []

    @settings(max_examples=1 if SLOW.match(label) else EXAMPLES, derandomize=True,
              database=None, deadline=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(strategies))
    def send(case):
        response = case.call(app=app, headers=headers)
        sent.append(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (AssertionError, FailureGroup) as exc:  # schemathesis' failures
            found.append(f"{label}: {response.status_code} "
                         f"{' '.join(str(exc).split())[:400]}")

    send()
    return found, len(sent)


def test_the_api_answers_as_its_document_says(rw):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", rw.app)
    failures, seen = _run(schema, rw.app, rw.tokens["admin"], _real_values(rw.url))
    assert seen > 150  # every operation was reached
    assert not failures, f"{len(failures)} breaks:\n" + "\n".join(failures)


def test_ogc_answers_as_its_document_says(rw):
    headers = {"Authorization": f"Bearer {rw.tokens['admin']}"}
    schema = schemathesis.openapi.from_wsgi("/ogc/openapi.json", rw.app,
                                            headers=headers)
    failures, seen = _run(schema, rw.app, rw.tokens["admin"], _real_values(rw.url))
    assert seen > 50
    assert not failures, f"{len(failures)} breaks:\n" + "\n".join(failures)
