"""Generated API tests: Schemathesis against the service's own OpenAPI document.

Every operation in the document gets generated requests (valid and invalid ones, from the
document's own schemas) sent to a real uvicorn server, as an admin and as a provider (both with
real credentials), half of them aimed at real object ids. Checks on every response:
- ``not_a_server_error``: no 5xx;
- ``status_code_conformance``: the status code is documented for the operation;
- ``content_type_conformance`` and ``response_headers_conformance``: as documented;
- ``response_schema_conformance``: the body matches the documented schema (errors included);
- ``negative_data_rejection``: input that breaks the document is refused with a 4xx;
- ``dutch_error_message`` (ours): every 4xx carries ``detail`` (a sentence) and ``code``.

Runs on SQLite only: the generated requests exercise the HTTP layer and the document, which do
not depend on the database; the PostgreSQL paths are covered by the other proof tests. A fixed
seed (``derandomize``) keeps CI reproducible; ``PROOF_EXAMPLES`` raises the count locally.
"""

from __future__ import annotations

import os
import re

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (  # the built-in checks, by name, from the public module
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.db import Database
from backend.main import create_app
from backend.users.models import User
from backend.users.sessions import start_session
from tests.conftest import _empty_tables, make_settings
from tests.factories import add_user, build_world
from tests.servers import running_server

pytestmark = pytest.mark.slow
EXAMPLES = int(os.environ.get("PROOF_EXAMPLES", "6"))


def dutch_error_message(ctx, response, case):  # type: ignore[no-untyped-def]
    """A refused request says why, in a sentence, with a machine code."""
    if 400 <= response.status_code < 500:
        if response.headers.get("content-type", [""])[0].startswith("text/html"):
            # A page opened from an e-mail link (the one-click "niets veranderd"): the reason
            # is a sentence on the page.
            text = re.sub(r"<[^>]+>", " ", response.text)
            assert re.search(r"\w{3,}( \w+){2,}", text), f"geen uitleg op de pagina bij {response.status_code}"
            return None
        body = response.json()
        assert isinstance(body, dict), f"foutantwoord is geen object: {body!r}"
        detail = body.get("detail")
        assert isinstance(detail, str) and len(detail) >= 5, f"geen uitleg bij {response.status_code}: {body!r}"
        assert isinstance(body.get("code"), str), f"geen code bij {response.status_code}: {body!r}"
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    dutch_error_message,
]


def _operation_labels() -> list[str]:
    doc = create_app(make_settings("sqlite://")).openapi()
    return [
        f"{method.upper()} {path}"
        for path, item in doc["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


@pytest.fixture(scope="module")
def live_api(_databases):  # type: ignore[no-untyped-def]
    url = _databases["sqlite"]
    _empty_tables(url)
    settings = make_settings(url)
    db = Database(settings)
    world = build_world(db, settings)
    # Account routes end sessions (logout, deactivation, role change, password reset): they act
    # on a spare person and a session of their own, so the admin and provider used by every
    # other generated request stay logged in.
    with db.transaction() as session:
        spare, _ = add_user(session, settings, "reserve", "viewer", None, world.region_id)
    world.users["reserve"] = spare

    def fresh_token(who: str) -> str:
        with db.transaction() as session:
            user = session.get(User, world.users[who].id)
            return start_session(session=session, user=user, settings=settings).access_token  # type: ignore[arg-type]

    world.fresh_token = fresh_token  # type: ignore[attr-defined]
    with running_server(settings) as base_url:
        schema = schemathesis.openapi.from_dict(create_app(settings).openapi())
        yield base_url, world, schema
    db.dispose()


@pytest.mark.parametrize("label", _operation_labels())
def test_operation_conforms_to_its_document(live_api, label):  # type: ignore[no-untyped-def]
    base_url, world, schema = live_api
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )
    real_ids = {
        "group_id": world.groups_a + world.groups_b,
        "provider_id": [world.provider_a, world.provider_b],
        "user_id": [world.users["reserve"].id],
    }
    protected = {u.id for name, u in world.users.items() if name != "reserve"}

    @hypothesis.given(case=cases, who=st.sampled_from(["admin", "provider_a"]), data=st.data())
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    def run(case, who, data):  # type: ignore[no-untyped-def]
        for name in list(case.path_parameters or {}):
            if name in real_ids and data.draw(st.booleans(), label=f"real {name}"):
                case.path_parameters[name] = data.draw(st.sampled_from(real_ids[name]))
        if (case.path_parameters or {}).get("user_id") in protected:
            case.path_parameters["user_id"] = world.users["reserve"].id
        headers = world.headers(who)
        if path == "/api/v1/auth/logout":
            headers = {"Authorization": f"Bearer {world.fresh_token(who)}"}
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

    run()
