"""Property-based run of every operation in /openapi.json with schemathesis (bounded examples,
authenticated): no 5xx, every status and body as documented, every $ref resolves."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from eobatch.api import create_app
from eobatch.settings import Settings
from eobatch.store.db import Database
from tests.api.conftest import new_caller

EXAMPLES = 8  # per operation
#: no 5xx, and every status code, content type, header and body as documented
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    data = tmp_path_factory.mktemp("schemathesis")
    app_settings = Settings(data_dir=data / "data", workers=1, tenancy="shared", token_failures_per_minute=0)
    database = Database(f"sqlite:///{data / 'eobatch.sqlite'}")
    database.migrate()
    app = create_app(app_settings, database)
    with TestClient(app) as client:
        caller = new_caller(client, database, app_settings, "fuzz")
        yield app, caller
    database.dispose()


def test_every_ref_resolves(served):
    app, _ = served
    doc = app.openapi()
    schemas = doc["components"]["schemas"]
    refs: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            refs.update(v for k, v in node.items() if k == "$ref")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    assert refs and all(r.startswith("#/components/schemas/") and r.rsplit("/", 1)[1] in schemas for r in refs)


def test_every_operation_answers_as_documented(served):
    app, caller = served
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: dict[str, str] = {}
    operations = 0
    for found in api.get_all_operations():
        operation = found.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def check(case) -> None:
            case.call_and_validate(headers=caller.headers, checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, report them all
            failures[operation.label] = str(exc)[:1500]
    assert operations >= 30
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
