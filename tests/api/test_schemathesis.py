"""Property-based fuzzing of the whole OpenAPI document, in process, as the admin.

schemathesis generates requests from ``/openapi.json`` (valid and invalid ones, in its
examples, coverage and fuzzing phases) and sends them straight to the ASGI app over the
demo district on each store. Whatever it sends, the server must answer without a 5xx,
with a status code the document declares, a body that conforms to the declared
response schema and the content type it declares (GeoJSON, OpenAPI 3.0 or a vector tile
where the route answers one, plain JSON for every refusal).

The document is covered in two parts: the REST API under /api/v1, and everything else
(OGC API - Features under /ogc, vector tiles), so a failure says which door it is in.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
REST = "^/api/v1/"

#: modest, and the same examples every run: about a minute per store
SETTINGS = settings(max_examples=25, derandomize=True, deadline=None,
                    suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def admin_headers(client, kit) -> dict[str, str]:
    return kit.login(client, "admin")


@pytest.fixture(scope="module")
def api_schema(client):
    return schemathesis.openapi.from_asgi("/openapi.json", client.app)


schema = schemathesis.pytest.from_fixture("api_schema")


def _call(case, client, kit, admin_headers, checks) -> None:
    headers = admin_headers
    if case.operation.path == "/api/v1/auth/logout":
        # logging out revokes the token it is sent with: spend a fresh one, so that the
        # admin's token stays good for every other case
        headers = kit.login(client, "admin")
    case.call_and_validate(headers={**(case.headers or {}), **headers}, checks=checks)


@SETTINGS
@schema.include(path_regex=REST).parametrize()
def test_the_rest_api_answers_as_documented(case, client, kit, admin_headers) -> None:
    _call(case, client, kit, admin_headers, [*CHECKS, content_type_conformance])


@SETTINGS
@schema.exclude(path_regex=REST).parametrize()
def test_the_rest_of_the_document_answers_as_documented(case, client, kit,
                                                        admin_headers) -> None:
    _call(case, client, kit, admin_headers, [*CHECKS, content_type_conformance])
