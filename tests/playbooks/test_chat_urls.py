"""Playbook chat steps under the outbound URL policy (``boomerang.egress``): a step's URL is
refused when the playbook is saved (from the API, the editor or the files) and checked
again when the chat job sends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang import egress
from boomerang.config import Settings
from boomerang.errors import Invalid
from boomerang.jobs import registry
from boomerang.playbooks import definition, engine
from boomerang.playbooks.models import PlaybookVersion
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import make_user
from tests.test_egress import Hook
from tests.web.test_ui import csrf, login, soup

METADATA = "http://169.254.169.254/latest/meta-data/"
WHY = "169.254.169.254 points to a link-local address (169.254.169.254)"


def _text(url: str) -> str:
    """A playbook whose chat step (inside a branch) posts to ``url``."""
    return (
        "name: shout\ntitle: Shout\ntrigger: {condition: \"tier = 'enterprise'\"}\n"
        "steps:\n  - branch:\n      if: \"tier = 'enterprise'\"\n      then:\n"
        f'        - chat: {{text: "hi", url: "{url}"}}\n'
    )


def _versions(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(PlaybookVersion).where(PlaybookVersion.name == "shout")
        )
        or 0
    )


@pytest.fixture
def hooks() -> Iterator[list[Hook]]:
    started: list[Hook] = []
    yield started
    for hook in started:
        hook.stop()


def test_a_chat_url_to_a_non_public_address_is_not_saved(
    session: Session, client: TestClient, tmp_path: Path
) -> None:
    loaded = definition.parse(_text(METADATA), origin="test")  # parsing alone does not resolve
    with pytest.raises(Invalid) as refused:
        engine.save_version(session=session, loaded=loaded)
    assert refused.value.message == f"test: chat url {METADATA!r}: {WHY}"
    manager = make_user(session, Role.manager)
    token = users_service.create_token(session=session, user=manager, name="t")[1]
    r = client.put(
        "/api/v1/playbooks/shout",
        content=_text("http://[::1]:9/"),
        headers={"Authorization": f"Bearer {token}", "content-type": "text/yaml"},
    )
    assert r.status_code == 422
    assert r.json()["detail"].endswith(
        "chat url 'http://[::1]:9/': ::1 points to a loopback address (::1)"
    )
    (tmp_path / "shout.yaml").write_text(_text("http://metadata.google.internal/"))
    with pytest.raises(Invalid, match=r"metadata\.google\.internal is a cloud metadata service"):
        engine.sync_files(session=session, directory=tmp_path)
    assert _versions(session) == 0
    # A public address, or a host that does not resolve (yet), is saved.
    for url in ("https://8.8.8.8/hook", "https://hooks.slack.invalid/services/T0/B0/x"):
        assert engine.save_version(session=session, loaded=definition.parse(_text(url), origin="t"))
    assert _versions(session) == 2
    # The editor shows the refusal with the text, and keeps the version in force.
    login(client, manager)
    page = client.post(
        "/playbooks/shout",
        data={"csrf_token": csrf(client, "/playbooks"), "source": _text(METADATA)},
    )
    assert page.status_code == 422
    error = soup(page.text).select_one("#playbook-error")
    assert error is not None and f"chat url {METADATA!r}: {WHY}" in error.text
    assert _versions(session) == 2


def test_chat_posts_are_checked_when_sent(
    session: Session, settings: Settings, hooks: list[Hook]
) -> None:
    hook = Hook().start()
    hooks.append(hook)
    registry.load()
    context = registry.Context(
        transaction=lambda: nullcontext(session),  # type: ignore[arg-type,return-value]
        settings=settings,
        source=None,  # type: ignore[arg-type]
        now=datetime.now(UTC),
    )
    post = registry.HANDLERS["chat.post"]
    url = f"http://127.0.0.1:{hook.port}/hook"
    with pytest.raises(egress.Refused, match=r"127\.0\.0\.1 points to a loopback address"):
        post(context, {"url": url, "text": "hi"})
    with pytest.raises(egress.Refused, match="is a cloud metadata service"):
        post(context, {"url": "http://metadata.google.internal/x", "text": "hi"})
    assert hook.got == []
    settings.outbound_allow = "127.0.0.1"  # the worker's settings decide when sending
    assert post(context, {"url": url, "text": "hi"}) == {"status": 200}
    assert [g.body for g in hook.got] == [b'{"text": "hi"}']
