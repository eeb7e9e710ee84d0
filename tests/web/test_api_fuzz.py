"""Schema fuzzing: every operation of the app's OpenAPI schema, called in-process with cases
Schemathesis generates from it, answers without a 5xx: a few examples each, derandomized
(the same requests on every run), as an admin, against a small company whose real ids are
hinted so that requests reach past the 404. Only the ``not_a_server_error`` check runs.

Per operation: ``EXAMPLES`` cases valid by the schema with the company's ids in the path
and its account, contact, owner ... in the body and query; cases Schemathesis makes invalid
on purpose; and, with path parameters, a case with made-up ids. The test drives Schemathesis'
Hypothesis strategies itself (``APIOperation.as_strategy``) rather than its pytest plugin,
whose ``schema.parametrize()`` fails on pytest 9.2 (``'Function' object has no attribute
'_nodeid'``), and sends each request through the test's own client, so the app shares the
test's transaction and an unhandled exception is reported with where it was raised.

Select it with ``-m fuzz`` (leave it out with ``-m 'not fuzz'``); it runs on SQLite only and
takes about 25 s on a 2-core machine. A failure lists each operation that failed, with the
request and the exception (or the 5xx answer)."""

from __future__ import annotations

import base64
import contextlib
import functools
import traceback
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation
from sqlalchemy.orm import Session

from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import make_user
from tests.web.fuzz_company import Company, seed

pytestmark = pytest.mark.fuzz

EXAMPLES = {"real ids": 3, "negative": 2, "random ids": 1}
SETTINGS = settings(
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _realize(case: Any, company: Company) -> None:
    """Put real values in the body and query fields that name something."""
    for container in (case.body, case.query):
        if isinstance(container, dict):
            for key in container.keys() & company.fields.keys():
                container[key] = company.fields[key]


def _where(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/boomerang/" in f.filename]
    last = frames[-1] if frames else None
    at = f" at {last.filename.split('/src/')[-1]}:{last.lineno}" if last else ""
    return f"{type(exc).__name__}: {str(exc)[:300]}{at}"


def _fuzz(strategy: st.SearchStrategy[Any], examples: int, call: Callable[[Any], None]) -> None:
    @settings(SETTINGS, max_examples=examples)
    @given(case=strategy)
    def run(case: Any) -> None:
        call(case)

    # Unsatisfiable: an operation with nothing to get wrong has no negative case.
    with contextlib.suppress(Unsatisfiable):
        run()


def _operations(app: Any) -> list[APIOperation]:
    schema = schemathesis.openapi.from_dict(app.openapi())
    ops = [result.ok() for result in schema.get_all_operations()]
    # Deletions last, so that the other operations find the company whole.
    return sorted(ops, key=lambda op: op.method.upper() == "DELETE")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_operation_answers_a_server_error(
    app: Any, client: TestClient, session: Session
) -> None:
    admin = make_user(session, Role.admin)
    token = users_service.create_token(session=session, user=admin, name="fuzz")[1]
    bearer = {"Authorization": f"Bearer {token}"}
    company = seed(client, session, bearer, admin.email)
    basic = "Basic " + base64.b64encode(f"{company.write_key}:".encode()).decode()
    failures: dict[str, str] = {}
    ops = _operations(app)

    def call(case: Any, realize: bool) -> None:
        if realize:
            _realize(case, company)
        tracking = case.path.startswith("/v1/") and not case.path.startswith("/v1/hooks/")
        headers = {"Authorization": basic} if tracking else bearer
        kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
        kwargs.pop("cookies", None)  # none are generated; the client warns about the argument
        if isinstance(kwargs.get("data"), bytes | str):
            kwargs["content"] = kwargs.pop("data")  # raw bodies (YAML, invalid JSON) as they are
        body = case.body if isinstance(case.body, dict | list | str | bytes) else None
        request = f"{case.method} {case.formatted_path} query={case.query} body={body!r}"
        try:
            response = client.request(**kwargs)
            case.validate_response(response, checks=[not_a_server_error])
        except Exception as exc:  # the fuzz reports every kind of failure, with the request
            failures.setdefault(case.operation.label, f"{request[:600]}\n  -> {_where(exc)}")

    for op in ops:
        names = [p.name for p in op.path_parameters]
        real = company.path_parameters(op.path, names)
        runs = [
            (op.as_strategy(path_parameters=real), EXAMPLES["real ids"], True),
            (
                op.as_strategy(GenerationMode.NEGATIVE, path_parameters=real),
                EXAMPLES["negative"],
                False,
            ),
        ]
        if names:
            runs.append((op.as_strategy(), EXAMPLES["random ids"], False))
        for strategy, examples, realize in runs:
            _fuzz(strategy, examples, functools.partial(call, realize=realize))
    assert len(ops) > 100
    assert not failures, "\n\n".join(f"{label}:\n  {text}" for label, text in failures.items())
