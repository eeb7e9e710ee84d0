"""A bounded, seeded fuzz of the intake (issue 23): mixed batches where every message is
valid or invalid by construction (times at and past the bounds, nesting at and past 32
levels, blank ids, the batch context amplifying identifies), whole requests gzipped,
truncated or bombs, and header bytes. It fails on any 5xx, on a refused valid message or an
accepted invalid one, and on any accepted message missing from the event store once the
mover's own code (``flush_all``) has run."""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from boomerang.ingest.flush import flush_all
from tests.ingest.intake_support import asgi_post, auth, post, stored_ids

LAST = "2200-12-31T23:59:59.999999Z"
GOOD_TIMES: list[dict[str, Any]] = [
    {},
    {"timestamp": "1970-01-01T00:00:00Z"},
    {"timestamp": "1970-01-01T02:00:00+02:00"},
    {"timestamp": LAST, "sentAt": LAST},
    {"originalTimestamp": "2020-05-05T05:05:05.5+05:30"},
    {"sentAt": "2200-12-31T23:59:59Z"},
    {"timestamp": "2026-01-01T00:00:00Z", "sentAt": "2026-01-01T00:00:01Z"},
]
BAD_TIMES: list[dict[str, Any]] = [
    {"timestamp": "1969-12-31T23:59:59.999999Z"},
    {"timestamp": "1970-01-01T01:59:59+02:00"},
    {"sentAt": "0001-01-01T00:00:00Z"},
    {"sentAt": "9999-12-31T23:59:59Z"},
    {"originalTimestamp": "9999-12-31T23:59:59Z", "sentAt": "9999-12-31T23:59:59Z"},
    {"timestamp": "2200-12-31T20:00:00-05:00", "sentAt": "2200-12-31T20:00:00-05:00"},
    {"timestamp": "0001-01-01T00:00:00+00:01"},
    {"timestamp": "2021-13-01T00:00:00Z"},
    {"timestamp": 12},
    {"timestamp": "2100-01-01T00:00:00Z"},
]
BAD_FIELDS: list[dict[str, Any]] = [
    {"type": "group", "groupId": ""},
    {"type": "group", "groupId": "  "},
    {"type": "group", "groupId": "\u3000"},
    {"userId": " ", "anonymousId": "a-1"},
    {"context": {"groupId": "\t"}},
    {"type": "track", "event": ""},
    {"type": "nope"},
    {"userId": {"a": 1}},
    {"properties": [1]},
]


def _nested(levels: int) -> str:
    return '{"a":' * (levels - 1) + '{"leaf":1}' + "}" * (levels - 1)


def _base(rng: random.Random, mid: str) -> dict[str, Any]:
    kind = rng.choice(["track", "identify", "page", "screen", "group", "alias"])
    msg: dict[str, Any] = {"type": kind, "messageId": mid, "userId": rng.choice(["u1", 42, "ü"])}
    if kind == "track":
        msg["event"] = rng.choice(["Report Built", "é" * 3])
    elif kind == "group":
        msg["groupId"] = rng.choice(["acct-1", 7])
    elif kind == "alias":
        msg["previousId"] = "anon-1"
    return msg


def _message(rng: random.Random, mid: str, amplified: bool) -> tuple[str, bool]:
    """One message as JSON text, and whether the intake must store it."""
    msg = _base(rng, mid)
    valid = True
    if msg["type"] == "identify":
        if amplified and rng.random() < 0.5:
            valid = False  # no traits of its own: it takes the batch's, over 32 KB stored
        else:
            msg["traits"] = {"plan": "pro"}
    roll = rng.random()
    if roll < 0.25:
        msg.update(rng.choice(BAD_TIMES))
        valid = False
    elif roll < 0.45:
        bad = rng.choice(BAD_FIELDS)
        if bad.get("type") == "group" and msg["type"] != "group":
            msg["groupId"] = bad["groupId"]  # on another call "" is no groupId; blank is refused
            valid = valid and bad["groupId"] == ""
        elif "context" in bad:
            msg.update(bad)  # context.groupId counts only where groupId is absent
            valid = valid and msg["type"] == "group"
        else:
            msg.update(bad)
            valid = False
    else:
        msg.update(rng.choice(GOOD_TIMES))
    text = json.dumps(msg)
    if "properties" not in msg and rng.random() < 0.3:
        levels = rng.choice([2, 16, 31, 32, 33, 60, 300])  # the message is one level more
        valid = valid and levels <= 31
        text = text[:-1] + f', "properties": {_nested(levels)}}}'
    return text, valid


def _batch(rng: random.Random, round_: int) -> tuple[bytes, list[str], list[int]]:
    """A batch body, the ids that must be stored, and the indexes that must be refused."""
    amplified = rng.random() < 0.3
    parts, must_store, must_refuse = [], [], []
    for i in range(rng.randint(1, 10)):
        mid = f"f{round_}-{i}"
        text, valid = _message(rng, mid, amplified)
        parts.append(text)
        (must_store.append(mid) if valid else must_refuse.append(i))
    shared = ', "context": {"traits": {"pad": "%s"}}' % ("p" * 20_000) if amplified else ""
    return f'{{"batch": [{", ".join(parts)}]{shared}}}'.encode(), must_store, must_refuse


def _send(client: TestClient, key: str, rng: random.Random, body: bytes) -> tuple[int, Any, bool]:
    """Send ``body`` as it is, gzipped, truncated, as a bomb or with odd header bytes;
    returns the status, the answer and whether the oracle applies (the body arrived whole)."""
    roll = rng.random()
    gzipped = {"Content-Encoding": "gzip"}
    if roll < 0.5:
        response = post(client, "/v1/batch", body, key)
    elif roll < 0.7:
        response = post(client, "/v1/batch", gzip.compress(body), key, **gzipped)
    elif roll < 0.85:
        if roll < 0.8:
            zipped = gzip.compress(body)
            broken = zipped[: rng.randint(0, len(zipped) - 1)]  # truncated
        else:
            pad = b" " * rng.randint(70_000, 900_000)  # a bomb: too large or too compressible
            broken = gzip.compress(body[:-1] + b', "pad": "' + pad + b'"}')
        response = post(client, "/v1/batch", broken, key, **gzipped)
        assert response.status_code == 400 and "gzip" in response.json()["error"], response.text
        return response.status_code, response.json(), False
    else:
        name = rng.choice(
            [b"Content-Type", b"Content-Encoding", b"Authorization", b"Content-Length"]
        )
        noise = bytes(rng.choice(_NOISE) for _ in range(rng.randint(0, 12)))
        headers = [(b"Content-Type", b"application/json"), (name, noise)]
        if name != b"Authorization":
            headers += [(k.encode(), v.encode()) for k, v in auth(key).items()]
        status, answer = asgi_post(client.app, "/v1/batch", headers, body)
        return status, answer, status == 200
    return response.status_code, response.json(), True


_NOISE = [*range(0x20, 0x7F), *range(0x80, 0x100)]


@contextmanager
def _nested_tx(session: Session) -> Iterator[Session]:
    with session.begin_nested():
        yield session


@pytest.mark.parametrize("seed", [23])
def test_fuzzed_mixed_batches_store_every_valid_message(
    client: TestClient, session: Session, key: str, seed: int
) -> None:
    rng = random.Random(seed)
    expected: set[str] = set()
    for round_ in range(400):
        body, must_store, must_refuse = _batch(rng, round_)
        status, result, intact = _send(client, key, rng, body)
        assert status < 500, result
        if not intact:
            continue
        refused = [r["index"] for r in result.get("rejected", [])]
        assert refused == must_refuse, (body[:300], result)
        if must_store:
            assert status == 200 and result["accepted"] == len(must_store), result
            expected.update(must_store)
        else:
            assert status == 400, result
    ingest = client.app.state.ingest  # type: ignore[attr-defined]
    flush_all(
        inbox=ingest.inbox,
        store=client.app.state.event_store,  # type: ignore[attr-defined]
        transaction=lambda: _nested_tx(session),
    )
    assert ingest.inbox.quarantined() == 0
    assert stored_ids(client.app.state.event_store) == expected  # type: ignore[attr-defined]
    assert len(expected) > 500


@pytest.fixture
def key(session: Session) -> str:
    from boomerang.ingest import service as ingest_service

    _, secret = ingest_service.create_key(session=session, name="fuzz")
    return secret
