"""The page a busy store answers with: 503, Retry-After, and the form offered again, except
a form that carries a password."""

from __future__ import annotations

from fastapi import FastAPI, Form
from fastapi.testclient import TestClient

from boomerang.errors import Busy


def _busy_route(app: FastAPI) -> None:
    def handler(note: str = Form(""), new_password: str = Form("")) -> None:
        raise Busy("the database is busy with other work: try again")

    app.add_api_route("/_test/busy", handler, methods=["POST"])


def test_a_busy_page_keeps_the_form(app: FastAPI, client: TestClient) -> None:
    _busy_route(app)
    r = client.post("/_test/busy", data={"note": "call <them> back"})
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    assert "busy" in r.text
    assert 'name="note" value="call &lt;them&gt; back"' in r.text


def test_a_busy_page_never_echoes_a_password(app: FastAPI, client: TestClient) -> None:
    _busy_route(app)
    r = client.post("/_test/busy", data={"note": "x", "new_password": "hunter2-secret"})
    assert r.status_code == 503
    assert "hunter2-secret" not in r.text
    assert 'type="hidden"' not in r.text
