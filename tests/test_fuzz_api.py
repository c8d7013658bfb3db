"""The HTTP API fuzzed from its own OpenAPI description (schemathesis, on hypothesis).

Every operation of `/api/openapi.json` gets generated requests, valid and invalid; each answer
must match the document: the documented status codes and shapes, valid data accepted, invalid
data refused with a 4xx, never a 500. The app is the real one, reaching the stand-in internet
(sign-ins go to a stand-in entryway that refuses every password, as it would refuse a stranger's).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from server.web.openapi import spec
from tests.conftest import app_config
from tests.standins.internet import Internet

EXAMPLES = int(os.environ.get("PASSERELLE_FUZZ_EXAMPLES", "60"))  # deeper runs: set it higher


@pytest.fixture(scope="module")
def fuzz_app(internet: Internet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from server import create_app

    config = app_config(
        tmp_path_factory.mktemp("fuzz"),
        PASSERELLE_BSKY_PDS=f"https://{internet.world.appview_host}",
        PASSERELLE_RATE_LIMIT="0",
        PASSERELLE_MAX_ACCOUNTS="50",
    )
    app = create_app(config)
    yield app
    app.extensions["passerelle.resolver"].close()
    app.extensions["passerelle.cache"].close()


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Any) -> Any:
    loaded = schemathesis.openapi.from_wsgi("/api/openapi.json", fuzz_app)
    # The 2 MB body cap is not a schema keyword: a huge body, valid or not, gets 413.
    checks = loaded.config.checks
    for check in (checks.negative_data_rejection, checks.positive_data_acceptance):
        check.expected_statuses = [*check.expected_statuses, "413"]
    return loaded


DOCUMENT = spec(50, token_required=False)
# Every operation with valid data; the ones taking input with invalid data too (an operation
# without parameters or body has nothing to get wrong).
CASES = [
    (method.upper(), path, mode)
    for path, item in DOCUMENT["paths"].items()
    for method, op in item.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or op.get("parameters") or op.get("requestBody")
]
# Sign-in and authorisation reach a server the user names: when that server cannot be reached
# (the stand-in world has unresolvable hosts, as the internet does), 503 is the documented answer.
UPSTREAM = {("POST", "/api/mastodon/authorize"), ("POST", "/api/bluesky/session")}


def no_500_but_upstream(ctx: Any, response: Any, case: Any) -> bool:
    """No server error, except 503 `upstream-unavailable` naming the server that did not answer."""
    if response.status_code < 500:
        return True
    error = response.json().get("error", {})
    assert response.status_code == 503 and error.get("code") == "upstream-unavailable", (
        response.status_code,
        response.text[:300],
    )
    return True


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_every_operation_keeps_its_promises(
    api_schema: Any, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Any) -> None:
        if (method, path) in UPSTREAM:
            case.call_and_validate(
                excluded_checks=[not_a_server_error], additional_checks=[no_500_but_upstream]
            )
        else:
            case.call_and_validate()

    check()


def test_the_document_names_exactly_the_routes_served(fuzz_app: Any) -> None:
    served = {
        (method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
        for rule in fuzz_app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    client = fuzz_app.test_client()
    published = client.get("/api/openapi.json").get_json()
    documented = {(m.upper(), p) for p, item in published["paths"].items() for m in item}
    assert documented == served
    assert published["info"]["version"] == client.get("/api/health").get_json()["version"]
    accounts = published["components"]["schemas"]["ResolveRequest"]["oneOf"][1]
    assert accounts["maxItems"] == 50  # this instance's PASSERELLE_MAX_ACCOUNTS
