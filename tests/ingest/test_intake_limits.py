"""Issue 23: the intake's limits apply to what is stored, and every refusal is a clear 4xx,
counted in ``ingest status``."""

from __future__ import annotations

import base64
import gzip
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact
from boomerang.config import Settings
from boomerang.ingest import segment
from boomerang.ingest.flush import flush_all
from tests.ingest.intake_support import REPRO, asgi_post, auth, post, stored_ids
from tests.support import run_cli


@pytest.fixture
def key(session: Session) -> str:
    from boomerang.ingest import service as ingest_service

    _, secret = ingest_service.create_key(session=session, name="limits")
    return secret


def _flush(client: TestClient, session: Session) -> int:
    from contextlib import contextmanager

    @contextmanager
    def nested():  # type: ignore[no-untyped-def]
        with session.begin_nested():
            yield session

    return flush_all(
        inbox=client.app.state.ingest.inbox,  # type: ignore[attr-defined]
        store=client.app.state.event_store,  # type: ignore[attr-defined]
        transaction=nested,
    )


def _track(mid: str, **extra: Any) -> dict[str, Any]:
    return {"type": "track", "userId": "u", "event": "E", "messageId": mid, **extra}


def test_batch_context_counts_toward_each_stored_message(
    client: TestClient, session: Session, key: str
) -> None:
    """The issue's batch, plus a message whose own ``context.traits`` replaces the batch's
    (the message's keys win): the two amplified identifies are refused, it is stored."""
    body = json.loads(json.dumps(REPRO))
    body["batch"].append(_track("own-traits", context={"traits": {}}))
    response = post(client, "/v1/batch", body, key)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["accepted"] == 1
    assert [r["index"] for r in result["rejected"]] == [0, 1]
    for r in result["rejected"]:
        assert "bytes as stored (with the batch's context merged in)" in r["error"]
        assert "the limit is 32,768" in r["error"]
    assert _flush(client, session) == 1
    assert stored_ids(client.app.state.event_store) == {"own-traits"}  # type: ignore[attr-defined]


def test_what_one_request_stores_is_bounded(client: TestClient, key: str) -> None:
    """A 28 KB batch context on 300 small messages would store 8.4 MB: the messages past
    8,000 KB are refused (they can be sent again in another batch), the first ones kept."""
    body = {
        "batch": [_track(f"m-{i}") for i in range(300)],
        "context": {"blob": "c" * 28_000},
    }
    result = post(client, "/v1/batch", body, key).json()
    assert 250 < result["accepted"] < 300
    refused = [r["index"] for r in result["rejected"]]
    assert refused == list(range(result["accepted"], 300))
    assert all("send fewer messages per batch" in r["error"] for r in result["rejected"])


def _nested(levels: int) -> str:
    """JSON text of ``levels`` nested objects, the outer one included (json.dumps itself
    gives up near 1,000 levels)."""
    return '{"a":' * (levels - 1) + '{"leaf":1}' + "}" * (levels - 1)


def _msg(mid: str, key: str, levels: int) -> str:
    return (
        f'{{"type":"track","userId":"u","event":"E","messageId":"{mid}","{key}":{_nested(levels)}}}'
    )


def test_nesting_is_bounded_per_message(client: TestClient, session: Session, key: str) -> None:
    """32 levels (the message the first) pass; deeper is refused per message: 250-1,000
    levels once made the size check's ``orjson.dumps`` fail (a 500)."""
    batch = [_msg("d-32", "properties", 31), _msg("d-33", "properties", 32)]
    batch += [_msg(f"d-{n}", "traits", n) for n in (250, 300, 1000)]
    body = ('{"batch":[' + ",".join(batch) + "]}").encode()
    result = post(client, "/v1/batch", body, key).json()
    assert result["accepted"] == 1
    assert [r["messageId"] for r in result["rejected"]] == ["d-33", "d-250", "d-300", "d-1000"]
    assert {r["error"] for r in result["rejected"]} == {"nested deeper than 32 levels"}
    single = f'{{"userId":"u","traits":{_nested(400)}}}'.encode()
    response = post(client, "/v1/identify", single, key)
    assert response.status_code == 400
    assert response.json()["error"] == "nested deeper than 32 levels"
    deep = f'{{"batch":[{_msg("x", "properties", 2)}],"context":{_nested(32)}}}'.encode()
    response = post(client, "/v1/batch", deep, key)
    assert response.status_code == 400
    assert "batch 'context' is nested deeper than 32 levels" in response.json()["error"]
    assert _flush(client, session) == 1


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"sentAt": "0001-01-01T00:00:00Z"}, "sentAt: '0001-01-01T00:00:00Z' is before 1970"),
        ({"sentAt": "9999-12-31T23:59:59Z"}, "sentAt: '9999-12-31T23:59:59Z' is after 2200"),
        (
            {"timestamp": "9999-12-31T23:59:59Z", "sentAt": "9999-12-31T23:59:59Z"},
            "timestamp: '9999-12-31T23:59:59Z' is after 2200",
        ),
        ({"originalTimestamp": "0001-01-01T00:00:00Z"}, "before 1970"),
        ({"timestamp": "1969-12-31T23:59:59.999999Z"}, "before 1970"),
        # Bounds apply after the conversion to UTC.
        ({"timestamp": "1970-01-01T01:00:00+02:00"}, "before 1970"),
        (
            {"timestamp": "2200-12-31T20:00:00-05:00", "sentAt": "2200-12-31T20:00:00-05:00"},
            "is after 2200 (the range is 1970-01-01..2200-12-31 UTC)",
        ),
    ],
)
def test_times_outside_1970_2200_are_refused_per_message(
    client: TestClient, key: str, fields: dict[str, str], reason: str
) -> None:
    batch = [_track("bad-time", **fields), _track("ok")]
    result = post(client, "/v1/batch", {"batch": batch}, key).json()
    assert result["accepted"] == 1, result
    assert [r["messageId"] for r in result["rejected"]] == ["bad-time"]
    assert reason in result["rejected"][0]["error"]


def test_times_at_the_bounds_are_stored(client: TestClient, session: Session, key: str) -> None:
    last = "2200-12-31T23:59:59.999999Z"
    batch = [
        _track("first", timestamp="1970-01-01T00:00:00Z"),
        _track("last", timestamp=last, sentAt=last),  # the clock is wrong, not the event
        _track("east", timestamp="1970-01-01T02:00:00+02:00"),
        _track("sent-late", sentAt="2200-12-31T23:59:59Z"),
    ]
    result = post(client, "/v1/batch", {"batch": batch}, key).json()
    assert result["accepted"] == 4, result
    assert _flush(client, session) == 4


@pytest.mark.parametrize("blank", ["", "   ", "\t\n", "\u3000"])
def test_blank_group_or_user_ids_create_nothing(
    client: TestClient, session: Session, key: str, blank: str
) -> None:
    batch = [
        {"type": "group", "userId": "u", "groupId": blank, "messageId": "g"},
        {"type": "identify", "userId": "   ", "traits": {"email": "x@y.example"}, "messageId": "i"},
        {
            "type": "track",
            "userId": "u",
            "event": "E",
            "context": {"groupId": " "},
            "messageId": "t",
        },
        {"type": "identify", "userId": "kept", "messageId": "k"},
    ]
    result = post(client, "/v1/batch", {"batch": batch}, key).json()
    assert result["accepted"] == 1
    assert [(r["messageId"], r["error"]) for r in result["rejected"]] == [
        ("g", "groupId is blank"),
        ("i", "userId is blank"),
        ("t", "context.groupId is blank"),
    ]
    _flush(client, session)
    assert session.scalars(select(Account)).all() == []
    assert [c.external_id for c in session.scalars(select(Contact))] == ["kept"]


def test_error_bodies_carry_code_and_message(client: TestClient, key: str) -> None:
    """Segment's client reads ``success``/``error``, RudderStack's ``code``/``message``."""
    cases = [
        (post(client, "/v1/batch", b"{nope", key), 400, "invalid_request"),
        (post(client, "/v1/track", {"userId": "u"}, key), 400, "invalid_request"),
        (
            post(client, "/v1/track", {"userId": "u", "event": "E"}, "bwk_wrong"),
            401,
            "unauthorized",
        ),
    ]
    for response, status, code in cases:
        body = response.json()
        assert response.status_code == status
        assert body["success"] is False and body["code"] == code
        assert body["message"] == body["error"] and body["error"]


def test_every_rejection_is_counted(client: TestClient, key: str, settings: Settings) -> None:
    """Single calls, batches with no valid message and refused requests (when their write key
    is known) are counted, as batches' refused messages always were."""
    assert post(client, "/v1/track", {"userId": "u"}, key).status_code == 400
    assert post(client, "/v1/page", {"name": "no user", "messageId": "p-1"}, key).status_code == 400
    bad = {"batch": [{"type": "track", "messageId": "b-1"}, {"type": "nope"}]}
    assert post(client, "/v1/batch", bad, key).status_code == 400
    assert post(client, "/v1/batch", b"{not json", key).status_code == 400
    assert post(client, "/v1/batch", b"{not json", None).status_code == 400  # no key: not ours
    inbox = client.app.state.ingest.inbox  # type: ignore[attr-defined]
    assert sum(m.rejected for m in inbox.minutes(since=datetime(2000, 1, 1, tzinfo=UTC))) == 5
    reasons = [r.reason for r in inbox.recent_rejections(limit=10)]
    assert sum("invalid JSON" in r for r in reasons) == 1
    assert "event: a track call needs a non-empty event name" in reasons
    status = run_cli(
        ["ingest", "status"],
        env={**os.environ, "BOOMERANG_DATA_DIR": str(settings.data_dir), "COLUMNS": "200"},
    )
    assert status.returncode == 0, status.stderr
    assert "p-1" in status.stdout and "b-1" in status.stdout


@pytest.mark.parametrize(
    ("header", "value"),
    [
        (b"Content-Length", b"\xb2"),  # latin-1 for a superscript two: str.isdigit() says yes
        (b"Content-Length", "\u0662".encode()),  # an Arabic-Indic digit
        (b"Content-Length", b"-1"),
        (b"Content-Encoding", b"\xff\xfe gzip"),
        (b"Content-Type", b"application/\xe9json"),
        (b"Authorization", b"Basic \xff\xfe"),
        (b"Authorization", b"Basic " + base64.b64encode(b"\xff\xfe:")),
        (b"Authorization", b"\x01\x02"),
    ],
)
def test_header_bytes_get_a_4xx(client: TestClient, key: str, header: bytes, value: bytes) -> None:
    headers = [(b"Content-Type", b"application/json"), (header, value)]
    if header != b"Authorization":
        headers += [(k.encode(), v.encode()) for k, v in auth(key).items()]
    body = json.dumps({"userId": "u", "event": "E"}).encode()
    status, answer = asgi_post(client.app, "/v1/track", headers, body)
    assert status in (200, 400, 401), answer
    assert status == 200 or answer["code"] in ("invalid_request", "unauthorized")


def test_gzip_members_bombs_and_truncations(client: TestClient, key: str, tmp_path: Path) -> None:
    raw = json.dumps({"batch": [_track(f"gz-{i}") for i in range(50)]}).encode()
    half = len(raw) // 2
    two_members = gzip.compress(raw[:half]) + gzip.compress(raw[half:])
    response = post(client, "/v1/batch", two_members, key, **{"Content-Encoding": "gzip"})
    assert response.status_code == 200 and response.json()["accepted"] == 50, response.text
    whole = gzip.compress(raw)
    for cut in (10, len(whole) // 2, len(whole) - 4):
        cut_short = post(client, "/v1/batch", whole[:cut], key, **{"Content-Encoding": "gzip"})
        assert cut_short.status_code == 400, cut_short.text
        assert "gzip" in cut_short.json()["error"]
    ratio = gzip.compress(json.dumps({"batch": [], "pad": "x" * 400_000}).encode())
    refused = post(client, "/v1/batch", ratio, key, **{"Content-Encoding": "gzip"})
    assert refused.status_code == 400
    assert f"the limit is {segment.MAX_GZIP_RATIO}:1" in refused.json()["error"]


def test_blank_ids_an_older_version_stored_create_nothing(
    client: TestClient, session: Session
) -> None:
    """Rows already in an inbox from before blank ids were refused: moved, but they make no
    account and no contact."""
    from boomerang.ingest.inbox import Submission

    now = datetime.now(UTC)
    group = segment.normalise(
        {"type": "group", "userId": "u", "groupId": "g", "messageId": "old-g"},
        call=None,
        received_at=now,
    )
    ident = segment.normalise(
        {"type": "identify", "userId": "i", "messageId": "old-i"}, call=None, received_at=now
    )
    at = segment.ROW_FIELDS.index
    rows = [
        (*group[: at("group_id")], "   ", *group[at("group_id") + 1 :]),
        (*ident[: at("user_id")], "  ", *ident[at("user_id") + 1 :]),
    ]
    client.app.state.ingest.inbox.store([Submission(rows, [], None)])  # type: ignore[attr-defined]
    assert _flush(client, session) == 2
    assert session.scalars(select(Account)).all() == []
    assert session.scalars(select(Contact)).all() == []
