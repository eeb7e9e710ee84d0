"""The condition language's bounds: a condition nested too deep or too long is refused with
the limit named, the same way through the parser, the API, the editor page, the CLI and a
playbook file; never a RecursionError (a 500 on the web)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from boomerang.segments import conditions
from boomerang.segments.conditions import MAX_DEPTH, ConditionError
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import make_account, make_user
from tests.support import run_cli
from tests.web.test_ui import csrf, login, soup

KINDS: dict[str, conditions.Kind] = {"health": "number", "tier": "text"}
NOTS = "not " * 200 + "health = 1"
PARENS = "(" * 250 + "health = 1" + ")" * 250
DEEP = f"nested deeper than {MAX_DEPTH} levels"


@pytest.mark.parametrize(
    ("text", "column"),
    [(NOTS, 4 * MAX_DEPTH + 1), (PARENS, MAX_DEPTH + 1), ("not (" * 40 + "health = 1", 81)],
)
def test_deep_conditions_are_refused_where_they_go_too_deep(text: str, column: int) -> None:
    with pytest.raises(ConditionError) as refused:
        conditions.parse(text + ")" * text.count("not ("), KINDS)
    assert str(refused.value).startswith(f"column {column}: the condition is {DEEP}")


def test_conditions_up_to_the_limit_parse_and_run() -> None:
    import ibis
    import pyarrow as pa

    facts = pa.table({"account_id": ["a", "b"], "health": [1.0, 2.0], "tier": ["x", "y"]})
    half = MAX_DEPTH // 2
    text = "not (" * half + "health = 1" + ")" * half  # an even number of nots: health = 1
    node = conditions.parse(text, KINDS)
    table = ibis.memtable(facts)
    out = table.filter(conditions.to_ibis(node, table)).select("account_id").to_pyarrow()
    assert out.column("account_id").to_pylist() == ["a"]
    conditions.parse("not " * MAX_DEPTH + "health = 1", KINDS)
    chain = " or ".join(["health = 1"] * 140)  # long but flat: fine
    assert len(chain) <= conditions.MAX_LENGTH
    conditions.parse(chain, KINDS)


def test_a_viewers_preview_of_a_deep_condition_is_a_422(
    client: TestClient, session: Session
) -> None:
    make_account(session)
    viewer = make_user(session, Role.viewer)
    token = users_service.create_token(session=session, user=viewer, name="t")[1]
    headers = {"Authorization": f"Bearer {token}"}
    for text in (NOTS, PARENS):
        answer = client.post("/api/v1/segments/preview", json={"condition": text}, headers=headers)
        assert answer.status_code == 422
        assert DEEP in answer.json()["detail"]
    login(client, viewer)
    page = client.post(
        "/segments/preview", data={"condition": NOTS, "csrf_token": csrf(client, "/segments")}
    )
    assert page.status_code == 422
    assert DEEP in soup(page.text).select_one("#condition-error").text


def test_the_cli_and_a_playbook_file_say_the_same(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOMERANG_")}
    env |= {"BOOMERANG_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "200"}
    assert run_cli(["init"], env=env).returncode == 0
    preview = run_cli(["segments", "preview", "--where", PARENS], env=env)
    assert preview.returncode == 1
    assert preview.stderr.strip() == f"error: column {MAX_DEPTH + 1}: the condition is {DEEP} " + (
        "(of not and parentheses)"
    )
    playbook = tmp_path / "deep.yaml"
    playbook.write_text(
        "name: deep\ntitle: Deep\ntrigger:\n  condition: \"colour = 'red'\"\n"
        f'conditions: "{NOTS}"\nsteps:\n  - stop: {{}}\n'
    )
    checked = run_cli(["playbooks", "validate", str(playbook)], env=env)
    assert checked.returncode == 1 and DEEP in checked.stderr, checked.stderr
    nested = tmp_path / "nested.yaml"
    nested.write_text("name: nested\nsteps: " + "[" * 500 + "]" * 500 + "\n")
    checked = run_cli(["playbooks", "validate", str(nested)], env=env)
    assert checked.returncode == 1
    assert checked.stderr.strip() == f"error: {nested}:2: nested deeper than 64 levels"
