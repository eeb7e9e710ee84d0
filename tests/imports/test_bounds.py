"""Record imports refuse what they cannot hold, at once and on the right line: numbers and
times out of bounds, bytes that are not UTF-8, a key given twice in one file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact
from boomerang.billing.models import Subscription
from boomerang.events.store import EventStore
from boomerang.imports import values
from boomerang.imports.mapping import Mapping
from boomerang.imports.models import ImportStatus
from boomerang.imports.service import run_import
from tests.factories import make_account


def _import(session: Session, store: EventStore, kind: str, path: Path) -> Any:
    return run_import(session=session, store=store, kind=kind, path=path, mapping=Mapping())


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_an_out_of_range_created_at_is_a_line_error_not_a_traceback(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text(
        "external_id,name,created_at\n"
        "A-1,Acme,2025-01-31\n"
        "A-2,Beta,0001-01-01T00:00:00+01:00\n"  # year 1 shifted to UTC: overflowed
        "A-3,Gamma,9999-12-31T23:00:00-05:00\n"  # the same past year 9999
        "A-4,Delta,1969-12-31T23:59:59Z\n"
        "A-5,Eps,2201-01-01\n"
        "A-6,Zeta,-1\n"  # epoch seconds before 1970
    )
    run = _import(session, event_store, "accounts", path)
    assert run.status is ImportStatus.rejected
    cells = [
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:00:00-05:00",
        "1969-12-31T23:59:59Z",
        "2201-01-01",
        "-1",
    ]
    assert run.errors == [
        {
            "line": line,
            "column": "created_at",
            "reason": f"created_at: {cell!r} is outside 1970-01-01..2200-12-31",
        }
        for line, cell in zip(range(3, 8), cells, strict=True)
    ]
    assert _count(session, Account) == 0
    # The bounds themselves are accepted.
    assert values.timestamp("1970-01-01T00:00:00Z") == values.MIN_TIME
    assert values.timestamp("2200-12-31T23:59:59.999999Z") == values.MAX_TIME


def test_days_outside_the_range_are_refused(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    make_account(session, external_id="A-1", name="Acme")
    path = tmp_path / "lines.csv"
    path.write_text(
        "external_id,account,arr,start_date\nS-1,A-1,100,0001-01-01\nS-2,A-1,100,9999-12-31\n"
    )
    run = _import(session, event_store, "subscriptions", path)
    assert [(e["line"], e["reason"]) for e in run.errors] == [
        (2, "start_date: '0001-01-01' is outside 1970-01-01..2200-12-31"),
        (3, "start_date: '9999-12-31' is outside 1970-01-01..2200-12-31"),
    ]


def test_a_huge_exponent_is_refused_by_its_shape_before_it_is_parsed(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    """``1e400000`` once took 8.7 s (``1e9999999`` hours): expanded to an integer, then
    compared. Its text is now refused by length and shape, before any conversion."""
    assert values.number_text("1e400000") is None
    assert values.number_text("1e9999999") is None
    assert values.number_text("9" * 41) is None
    assert values.number_text("1,000") == "1000"
    assert values.number_text("1.5e+06") == "1.5e+06"
    make_account(session, external_id="A-1", name="Acme")
    path = tmp_path / "lines.csv"
    path.write_text(
        "external_id,account,arr,start_date,seats\n"
        "S-1,A-1,100,2025-01-01,1e400000\n"
        "S-2,A-1,1e400000,2025-01-01,3\n"
        "S-3,A-1,100,2025-01-01,10000001\n"
        'S-4,A-1,100,2025-01-01,"1,500"\n'
    )
    run = _import(session, event_store, "subscriptions", path)
    assert run.errors == [
        {
            "line": 2,
            "column": "seats",
            "reason": "seats: '1e400000' is not a whole number (0..10,000,000)",
        },
        {"line": 3, "column": "arr", "reason": "arr: '1e400000' is not an amount"},
        {"line": 4, "column": "seats", "reason": "seats: 10000001 is out of range (0..10,000,000)"},
    ]
    assert _count(session, Subscription) == 0


def test_json_numbers_past_any_bound_are_line_errors(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    make_account(session, external_id="A-1", name="Acme")
    path = tmp_path / "lines.jsonl"
    row = {"external_id": "S-1", "account": "A-1", "arr": 100, "start_date": "2025-01-01"}
    path.write_text(
        json.dumps(row)[:-1]
        + ', "seats": 1e400000}\n'  # JSON reads it as infinity
        + json.dumps(row | {"external_id": "S-2"})[:-1]
        + ', "seats": '
        + "1" * 5000
        + "}\n"  # past Python's 4,300-digit integers: was a ValueError traceback
    )
    run = _import(session, event_store, "subscriptions", path)
    assert run.errors == [
        {
            "line": 1,
            "column": "seats",
            "reason": "seats: 'inf' is not a whole number (0..10,000,000)",
        },
        {
            "line": 2,
            "column": None,
            "reason": "not valid JSON (a number with too many digits)",
        },
    ]


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "csv.gz"])
def test_a_latin1_byte_is_reported_on_its_own_line(
    session: Session, event_store: EventStore, tmp_path: Path, suffix: str
) -> None:
    """The byte was blamed on the line where the decoder's 8 KB block began (750 for 902)."""
    rows = [f"A-{i},Account {i}" for i in range(900)] + ["A-900,Caf\xe9"]
    if suffix.startswith("csv"):
        text = "external_id,name\n" + "\n".join(rows) + "\n"
        line = 902
    else:
        text = "".join(
            json.dumps(
                {"external_id": r.split(",")[0], "name": r.split(",")[1]}, ensure_ascii=False
            )
            + "\n"
            for r in rows
        )
        line = 901
    data = text.encode("latin-1")
    path = tmp_path / f"accounts.{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    run = _import(session, event_store, "accounts", path)
    assert run.status is ImportStatus.rejected
    assert run.errors == [
        {
            "line": line,
            "column": None,
            "reason": "not valid UTF-8 (byte 0xe9); save the file as UTF-8",
        }
    ]
    assert _count(session, Account) == 0


def test_the_same_contact_email_twice_in_one_file_is_refused(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    make_account(session, external_id="A-1", name="Acme")
    path = tmp_path / "contacts.csv"
    path.write_text(
        "email,account,name\n"
        "ann@acme.test,A-1,Ann\n"
        "bob@acme.test,A-1,Bob\n"
        "ANN@acme.test,A-1,Ann again\n"  # emails match whatever their case
    )
    run = _import(session, event_store, "contacts", path)
    assert run.status is ImportStatus.rejected
    assert run.errors == [
        {"line": 4, "column": "email", "reason": "email 'ann@acme.test' is also on line 2"}
    ]
    assert _count(session, Contact) == 0
    # Matched by external id, two contacts may share an email (the key is the id).
    path.write_text(
        "external_id,email,account\nc1,ann@acme.test,A-1\nc2,ann@acme.test,A-1\nc1,x@acme.test,A-1\n"
    )
    run = _import(session, event_store, "contacts", path)
    assert run.errors == [
        {"line": 4, "column": "external_id", "reason": "external_id 'c1' is also on line 2"}
    ]
