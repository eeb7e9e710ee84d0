"""Event imports: each message stored once, times within the tracking API's range, errors on
the file's own lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from boomerang.analytics.engine import connect
from boomerang.errors import Invalid
from boomerang.events.store import EventStore
from boomerang.imports.mapping import parse_flags
from boomerang.imports.models import ImportStatus
from boomerang.imports.service import run_import

IDS = "message_id=id,user_id=who,event=what,timestamp=when"
NO_IDS = "user_id=who,event=what,timestamp=when"


def _import(session: Session, store: EventStore, path: Path, flags: str, **options: Any) -> Any:
    return run_import(
        session=session,
        store=store,
        kind="events",
        path=path,
        mapping=parse_flags([flags]),
        **options,
    )


def _stored(store: EventStore) -> list[tuple[Any, ...]]:
    with connect(store) as con:
        return con.execute(
            "SELECT message_id, user_id, properties FROM events ORDER BY user_id, message_id"
        ).fetchall()


def _csv(rows: list[str]) -> str:
    return "id,who,what,when,note\n" + "".join(r + "\n" for r in rows)


ROWS = [
    "e1,u1,Opened,2024-10-27T01:00:00Z,a",
    "e2,u2,Opened,2024-10-27T02:00:00Z,b",
    "e3,u3,Opened,2024-10-28T03:00:00Z,c",
]


@pytest.mark.parametrize("flags", [IDS, NO_IDS], ids=["message_ids", "generated_ids"])
def test_importing_again_stores_each_event_once(
    session: Session, event_store: EventStore, tmp_path: Path, flags: str
) -> None:
    """Once, ``--force`` or one changed byte stored every event of the file again."""
    path = tmp_path / "events.csv"
    path.write_text(_csv(ROWS))
    first = _import(session, event_store, path, flags)
    assert (first.inserted, first.unchanged) == (3, 0)
    stored = _stored(event_store)
    again = _import(session, event_store, path, flags, force=True)
    assert (again.status, again.inserted, again.unchanged) == (ImportStatus.succeeded, 0, 3)
    assert _stored(event_store) == stored
    # One changed byte in the third row: the file is no longer the one imported.
    path.write_text(_csv([*ROWS[:2], ROWS[2].replace(",c", ",C")]))
    changed = _import(session, event_store, path, flags)
    ids = [row[0] for row in _stored(event_store)]
    if flags == IDS:
        # The message ids say these are the events stored: nothing new.
        assert (changed.inserted, changed.unchanged) == (0, 3)
        assert ids == ["e1", "e2", "e3"]
    else:
        # Ids from the content: the changed row is another event, the others are not.
        assert (changed.inserted, changed.unchanged) == (1, 2)
        assert len(ids) == len(set(ids)) == 4
        assert all(i.startswith("imp-") and len(i) == 36 for i in ids)
    # A dry run counts the same way and writes nothing.
    path.write_text(_csv([*ROWS, "e4,u4,Opened,2024-10-29T04:00:00Z,d"]))
    dry = _import(session, event_store, path, flags, dry_run=True)
    assert (dry.status, dry.inserted, dry.unchanged) == (ImportStatus.dry_run, 1, 3)
    assert len(_stored(event_store)) == len(ids)


def test_repeats_inside_a_file_are_stored_once_and_conflicts_refused(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(_csv([*ROWS, ROWS[0], ROWS[1]]))
    run = _import(session, event_store, path, IDS)
    assert (run.status, run.rows_total, run.inserted, run.unchanged) == (
        ImportStatus.succeeded,
        5,
        3,
        2,
    )
    assert [r[0] for r in _stored(event_store)] == ["e1", "e2", "e3"]
    # The same id on rows that differ: which is right is not ours to guess.
    path.write_text(
        _csv(
            [
                "x1,u1,Opened,2024-10-27T01:00:00Z,a",
                *ROWS[1:],
                "x1,u9,Closed,2024-10-27T01:00:00Z,z",
            ]
        )
    )
    run = _import(session, event_store, path, IDS)
    assert run.status is ImportStatus.rejected
    assert run.errors == [
        {
            "line": 5,
            "column": "id",
            "reason": "message_id 'x1' is also on line 2, with other values "
            "(if the column is not a unique id, leave message_id unmapped)",
        }
    ]
    assert [r[0] for r in _stored(event_store)] == ["e1", "e2", "e3"]


def test_years_1_and_9999_are_refused_as_the_tracking_api_does(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        _csv(
            [
                "e1,u1,Opened,0001-01-01T00:00:00Z,a",
                "e2,u2,Opened,9999-12-31T00:00:00Z,b",
                "e3,u3,Opened,1969-12-31T23:59:59Z,c",
                "e4,u4,Opened,-1000,d",
                "e5,u5,Opened,1970-01-01T00:00:00Z,e",
                "e6,u6,Opened,2200-12-31T23:59:59Z,f",
            ]
        )
    )
    run = _import(session, event_store, path, IDS)
    assert run.status is ImportStatus.rejected
    reason = "timestamp: outside 1970-01-01..2200-12-31"
    assert run.errors == [{"line": n, "column": "when", "reason": reason} for n in (2, 3, 4, 5)]
    assert event_store.is_empty()


def test_errors_name_the_files_lines_across_quoted_newlines_and_blank_lines(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    """DuckDB numbers records: a cell spanning lines, or blank lines, shifted every line."""
    path = tmp_path / "events.csv"
    path.write_text(
        "id,who,what,when,note\n"
        'e1,u1,Opened,2024-10-27,"a note\nover three\nlines"\n'
        "\n"
        "e2,u2,Opened,yesterday,b\n"  # line 6
    )
    run = _import(session, event_store, path, IDS)
    assert [(e["line"], e["column"]) for e in run.errors] == [(6, "when")]
    # Record imports count the same way.
    accounts = tmp_path / "accounts.csv"
    accounts.write_text('external_id,name,tier\nA-1,"Acme\nLtd",gold\n\nA-2,Beta,gold,extra\n')
    record_run = run_import(
        session=session,
        store=event_store,
        kind="accounts",
        path=accounts,
        mapping=parse_flags([]),
    )
    assert [e["line"] for e in record_run.errors] == [5]
    path = tmp_path / "events.jsonl"
    good = json.dumps({"id": "e1", "who": "u1", "what": "Opened", "when": "2024-10-27"})
    bad = json.dumps({"id": "e2", "who": "u2", "what": "Opened", "when": "yesterday"})
    path.write_text(f"{good}\n\n   \n{good.replace('e1', 'e3')}\n\n{bad}\n")
    run = _import(session, event_store, path, IDS)
    assert [(e["line"], e["column"]) for e in run.errors] == [(6, "when")]


def test_a_json_line_duckdb_cannot_read_is_named_by_its_line(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    """DuckDB's own message counts lines without the blank ones (it said line 4 here)."""
    path = tmp_path / "events.jsonl"
    good = json.dumps({"id": "e1", "who": "u1", "what": "Opened", "when": "2024-10-27"})
    path.write_text(f'{good}\n\n\n{good.replace("e1", "e2")}\n{{"id": e3}}\n')
    with pytest.raises(Invalid) as caught:
        _import(session, event_store, path, IDS)
    assert caught.value.message == f"{path}: line 5: not valid JSON (Expecting value)"


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_a_latin1_byte_in_an_event_file_is_reported_on_its_line(
    session: Session, event_store: EventStore, tmp_path: Path, suffix: str
) -> None:
    rows = [(f"e{i}", f"u{i}", "Opened", "2024-10-27") for i in range(900)]
    rows.append(("e900", "u900", "Caf\xe9 opened", "2024-10-27"))
    if suffix == "csv":
        text = "id,who,what,when\n" + "".join(",".join(r) + "\n" for r in rows)
        line = 902
    else:
        keys = ("id", "who", "what", "when")
        text = "".join(
            json.dumps(dict(zip(keys, r, strict=True)), ensure_ascii=False) + "\n" for r in rows
        )
        line = 901
    path = tmp_path / f"events.{suffix}"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(Invalid) as caught:
        _import(session, event_store, path, IDS)
    assert caught.value.message == (
        f"{path}: line {line}: not valid UTF-8 (byte 0xe9); save the file as UTF-8"
    )
    assert event_store.is_empty()
