"""Days out of range (``boomerang.web.params.Day``): refused with a 422 naming the parameter
and the range, on every route that takes a date, before any date arithmetic overflows."""

from __future__ import annotations

import typing
from datetime import date, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from boomerang.users import service as users_service
from boomerang.users.models import Role
from boomerang.web.params import MAX_DAY, MIN_DAY, Day
from tests.factories import add_line, make_account, make_user
from tests.web.test_ui import csrf, login, soup

RANGE = "must be a day from 1900-01-01 to 2200-12-31"


@pytest.fixture
def auth(session: Session) -> dict[str, str]:
    admin = make_user(session, Role.admin)
    return {
        "Authorization": f"Bearer {users_service.create_token(session=session, user=admin, name='t')[1]}"
    }


def test_the_range_is_inclusive() -> None:
    adapter: TypeAdapter[date] = TypeAdapter(Day)
    assert adapter.validate_python(MIN_DAY.isoformat()) == date(1900, 1, 1)
    assert adapter.validate_python(MAX_DAY.isoformat()) == date(2200, 12, 31)
    for outside in ("1899-12-31", "2201-01-01", "0001-01-01", "9999-12-31"):
        with pytest.raises(ValidationError) as refused:
            adapter.validate_python(outside)
        assert refused.value.errors()[0]["type"] == "date_out_of_range"
        assert refused.value.errors()[0]["msg"] == RANGE


@pytest.mark.parametrize(
    "url", ["/api/v1/renewals/forecast?as_of=0431-11-03", "/api/v1/renewals?as_of=9999-12-31"]
)
def test_renewals_as_of_out_of_range_is_a_422(
    client: TestClient, session: Session, auth: dict[str, str], url: str
) -> None:
    account = make_account(session)
    add_line(session, account, 12_000, date(2025, 1, 1), renewal=date(2026, 6, 1))
    answer = client.get(url, headers=auth)
    assert answer.status_code == 422
    assert answer.json()["detail"] == [
        {
            "loc": ["query", "as_of"],
            "msg": RANGE,
            "type": "date_out_of_range",
        }
    ]


def _date_types(annotation: Any) -> bool:
    """Whether ``annotation`` takes a day (date, not datetime), alone or inside a union."""
    if annotation is date:
        return True
    if isinstance(annotation, type) and issubclass(annotation, datetime):
        return False
    return any(_date_types(arg) for arg in typing.get_args(annotation))


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def _refuses(annotation: Any, metadata: list[Any]) -> bool:
    adapter: TypeAdapter[Any] = TypeAdapter(
        typing.Annotated[annotation, *metadata] if metadata else annotation
    )
    try:
        adapter.validate_python("9999-12-31")
    except ValidationError as exc:
        return any(e["type"] == "date_out_of_range" for e in exc.errors())
    return False


def _unchecked(model: type[BaseModel], where: str, seen: set[type]) -> list[str]:
    if model in seen:
        return []
    seen.add(model)
    out = []
    for name, info in model.model_fields.items():
        if _date_types(info.annotation) and not _refuses(info.annotation, info.metadata):
            out.append(f"{where}: {model.__name__}.{name}")
        for inner in _models(info.annotation):
            out += _unchecked(inner, where, seen)
    return out


def _app_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """Every route with its full path, the included routers' too."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before included routers were kept lazily
        return [(r.path, r) for r in app.routes if isinstance(r, APIRoute)]
    contexts = iter_route_contexts(app.routes)
    return [
        (str(c.path), c.original_route) for c in contexts if isinstance(c.original_route, APIRoute)
    ]


def _inputs(dependant: Dependant) -> list[Any]:
    """The query, header and body fields of a route and of its dependencies."""
    fields = [*dependant.query_params, *dependant.header_params, *dependant.body_params]
    return fields + [f for sub in dependant.dependencies for f in _inputs(sub)]


def test_every_date_a_route_takes_is_a_day(app: FastAPI) -> None:
    """Query, form and body fields of every route, the pages' as well as the API's."""
    unchecked: list[str] = []
    checked = 0
    routes = _app_routes(app)
    for path, route in routes:
        where = f"{sorted(route.methods or ['GET'])[0]} {path}"
        for field in _inputs(route.dependant):
            annotation = field.field_info.annotation
            if _date_types(annotation):
                checked += 1
                if not _refuses(annotation, field.field_info.metadata):
                    unchecked.append(f"{where}: {field.name}")
            for model in _models(annotation):
                unchecked += _unchecked(model, where, set())
    assert len(routes) > 250 and checked >= 20  # as_of, from, to, since ... and body days
    assert unchecked == []


def test_api_date_queries_out_of_range_are_a_422_naming_them(
    app: FastAPI, client: TestClient, auth: dict[str, str]
) -> None:
    """Through HTTP, for each date query parameter in the OpenAPI schema."""
    tried = 0
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            for param in operation.get("parameters", []):
                schema = param["schema"]
                formats = [s.get("format") for s in schema.get("anyOf", [schema])]
                if param["in"] != "query" or "date" not in formats:
                    continue
                url = path.replace("{", "").replace("}", "")  # any id: validation comes first
                answer = client.request(
                    method, url, params={param["name"]: "9999-12-31"}, headers=auth, json={}
                )
                assert answer.status_code == 422, (method, path, answer.text)
                problems = answer.json()["detail"]
                assert {
                    "loc": ["query", param["name"]],
                    "msg": RANGE,
                    "type": "date_out_of_range",
                } in problems, (method, path, problems)
                tried += 1
    assert tried >= 12


def test_a_page_form_day_out_of_range_names_the_field(client: TestClient, session: Session) -> None:
    account = make_account(session)
    login(client, make_user(session, Role.manager))
    token = csrf(client, "/reviews")
    answer = client.post(
        "/reviews", data={"account": account.id, "due_on": "9999-12-31", "csrf_token": token}
    )
    assert answer.status_code == 422
    assert f"due_on: {RANGE}" in soup(answer.text).text
