"""Record imports through the service, on SQLite and PostgreSQL: upsert, dry run, all-or-nothing."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from boomerang.accounts.models import Account, Contact, ContactRole, ContactRoleLink
from boomerang.billing.models import Invoice, Subscription, SubscriptionStatus
from boomerang.errors import Invalid
from boomerang.events.store import EventStore
from boomerang.imports.mapping import Mapping, load_file, parse_flags
from boomerang.imports.models import ImportStatus
from boomerang.imports.service import run_import
from boomerang.support.models import Ticket, TicketPriority, TicketStatus
from boomerang.surveys.models import SurveyKind, SurveyResponse
from tests.factories import make_account, make_user

TODAY = date(2026, 11, 25)


def _import(session: Session, store: EventStore, kind: str, path: Path, **options: object):  # type: ignore[no-untyped-def]
    mapping = options.pop("mapping", Mapping())
    assert isinstance(mapping, Mapping)
    return run_import(
        session=session,
        store=store,
        kind=kind,
        path=path,
        mapping=mapping,
        today=TODAY,
        **options,  # type: ignore[arg-type]
    )


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


ACCOUNTS_CSV = """AccountID,Company,Plan,Owner,Seats,Parent
A-1,Acme,Enterprise,owner@example.com,40,
A-2,"Beta, Inc.",Pro,,12,A-1
A-3,Gamma,Basic,,3,A-1
"""


def test_accounts_insert_then_upsert_reports_changes(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    owner = make_user(session, email="owner@example.com")
    path = _write(tmp_path / "accounts.csv", ACCOUNTS_CSV)
    mapping = parse_flags(
        ["external_id=AccountID,name=Company,tier=Plan", "owner=Owner,attributes.seats=Seats"]
    ).merged(parse_flags(["parent=Parent"]))
    run = _import(session, event_store, "accounts", path, mapping=mapping)
    assert run.status is ImportStatus.succeeded, run.errors
    assert (run.rows_total, run.inserted, run.updated, run.unchanged) == (3, 3, 0, 0)
    acme = session.scalars(select(Account).where(Account.external_id == "A-1")).one()
    beta = session.scalars(select(Account).where(Account.external_id == "A-2")).one()
    assert acme.owner_id == owner.id and acme.tier == "Enterprise"
    assert acme.attributes == {"seats": 40}
    assert beta.name == "Beta, Inc." and beta.parent_id == acme.id and beta.owner_id is None

    # Again, with one change and one new row: only those are written.
    changed = ACCOUNTS_CSV.replace("A-3,Gamma,Basic", "A-3,Gamma,Pro") + "A-4,Delta,Pro,,5,\n"
    path = _write(tmp_path / "accounts2.csv", changed)
    run = _import(session, event_store, "accounts", path, mapping=mapping)
    assert (run.inserted, run.updated, run.unchanged) == (1, 1, 2)
    gamma = session.scalars(select(Account).where(Account.external_id == "A-3")).one()
    assert gamma.tier == "Pro"


def test_only_mapped_fields_are_written_and_attributes_merge(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    make_account(session, external_id="A-9", name="Old name", tier="Pro", attributes={"a": 1})
    path = _write(tmp_path / "a.csv", "external_id,region,attributes.b\nA-9,EMEA,yes\n")
    mapping = parse_flags(["attributes.b=attributes.b"])
    run = _import(session, event_store, "accounts", path, mapping=mapping)
    assert (run.updated, run.inserted) == (1, 0), run.errors
    account = session.scalars(select(Account).where(Account.external_id == "A-9")).one()
    assert (account.name, account.tier, account.region) == ("Old name", "Pro", "EMEA")
    assert account.attributes == {"a": 1, "b": "yes"}


def test_a_bad_row_changes_nothing_and_is_reported_with_line_and_column(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    make_account(session, external_id="A-1", name="Acme")
    text = (
        "subscription_id,account_id,arr,start,end\n"
        "S-1,A-1,12000,2025-01-01,\n"
        "S-2,A-404,100,2025-01-01,\n"  # line 3: unknown account
        '"S-3",A-1,"lots",2025-01-01,\n'  # line 4: bad amount
        "S-4,A-1,100,2025-13-01,\n"  # line 5: bad date
        "S-5,A-1,100,2025-06-01,2025-01-01\n"  # line 6: ends before it starts
        "S-1,A-1,100,2025-01-01,\n"  # line 7: duplicate key
    )
    path = _write(tmp_path / "subs.csv", text)
    mapping = parse_flags(
        ["external_id=subscription_id,account=account_id,start_date=start,end_date=end"]
    )
    before = _count(session, Subscription)
    run = _import(session, event_store, "subscriptions", path, mapping=mapping)
    assert run.status is ImportStatus.rejected
    assert _count(session, Subscription) == before
    found = {(e["line"], e["column"]): e["reason"] for e in run.errors}
    assert found[(3, "account_id")] == "no account 'A-404'"
    assert "'lots' is not an amount" in found[(4, "arr")]
    assert "is not a date" in found[(5, "start")]
    assert found[(6, "end")] == "end_date is before start_date"
    assert "also on line 2" in found[(7, "subscription_id")]
    assert run.error_count == 5


def test_dry_run_reports_and_writes_nothing(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    path = _write(tmp_path / "a.csv", "external_id,name\nA-1,Acme\nA-2,Beta\n")
    run = _import(session, event_store, "accounts", path, dry_run=True)
    assert run.status is ImportStatus.dry_run and run.inserted == 2
    assert _count(session, Account) == 0


def test_report_keeps_the_first_hundred_errors_and_counts_the_rest(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    rows = "".join(f"A-{i},\n" for i in range(250))
    path = _write(tmp_path / "a.csv", "external_id,employee_band\n" + rows)
    mapping = Mapping(defaults={}, columns={}, values={})
    # name is required for new accounts: every row is bad.
    run = _import(session, event_store, "accounts", path, mapping=mapping)
    assert run.status is ImportStatus.rejected
    assert run.error_count == 250 and len(run.errors) == 100
    assert run.errors[0] == {
        "line": 2,
        "column": "name",
        "reason": "name is required for a new record",
    }


def test_subscriptions_derive_status_and_refresh_account_arr(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    account = make_account(session, external_id="A-1", name="Acme")
    text = (
        "id,acct,mrr,start,end,trial\n"
        "S-1,A-1,1000,2026-01-01,,False\n"  # live: 12,000 ARR
        "S-2,A-1,500,2025-01-01,2025-12-31,False\n"  # ended
        "S-3,A-1,99,2026-11-01,,True\n"  # trial
    )
    path = _write(tmp_path / "subs.csv", text)
    mapping = parse_flags(
        ["external_id=id,account=acct,mrr=mrr,start_date=start,end_date=end,trial=trial"]
    )
    run = _import(session, event_store, "subscriptions", path, mapping=mapping)
    assert run.status is ImportStatus.succeeded, run.errors
    status = dict(session.execute(select(Subscription.external_id, Subscription.status)).all())
    assert status == {
        "S-1": SubscriptionStatus.active,
        "S-2": SubscriptionStatus.ended,
        "S-3": SubscriptionStatus.trial,
    }
    session.refresh(account)
    assert account.arr == Decimal("12000.00")


def test_subscriptions_follow_the_billing_currency_rule(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    """The rule of ``billing.service.subscription_currency`` applies to imported lines: a
    currency other than the account's is a bad row (before, the file was accepted), and a line
    without one takes the account's (before, the column's default, USD)."""
    make_account(session, external_id="A-1", name="Acme", currency="EUR")
    text = "external_id,account,arr,start_date,currency\nS-1,A-1,100,2026-01-01,USD\n"
    run = _import(session, event_store, "subscriptions", _write(tmp_path / "bad.csv", text))
    assert run.status is ImportStatus.rejected and _count(session, Subscription) == 0
    assert [(e["line"], e["column"], e["reason"]) for e in run.errors] == [
        (
            2,
            "currency",
            "subscription currency USD differs from the account's EUR"
            " (one currency per account until exchange rates arrive)",
        )
    ]
    text = "external_id,account,arr,start_date\nS-1,A-1,100,2026-01-01\n"
    run = _import(session, event_store, "subscriptions", _write(tmp_path / "good.csv", text))
    assert run.status is ImportStatus.succeeded, run.errors
    line = session.scalars(select(Subscription)).one()
    assert line.currency == "EUR"
    # A stored line keeps its currency when the file gives none.
    text = "external_id,account,arr,start_date\nS-1,A-1,200,2026-01-01\n"
    run = _import(session, event_store, "subscriptions", _write(tmp_path / "again.csv", text))
    assert (run.status, run.updated) == (ImportStatus.succeeded, 1), run.errors
    session.refresh(line)
    assert (line.currency, line.arr) == ("EUR", Decimal("200.00"))


def test_tickets_priority_aliases_severity_and_first_response(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    account = make_account(session, external_id="A-1", name="Acme")
    text = (
        "ticket_id,account_id,submitted_at,closed_at,priority,first_response_time_minutes\n"
        "T-1,A-1,2024-07-27,2024-07-28 03:00:00,medium,90\n"
        "T-2,A-1,2024-07-29T10:00:00Z,,urgent,\n"
    )
    path = _write(tmp_path / "t.csv", text)
    mapping = load_file(
        _write(
            tmp_path / "m.yaml",
            "kind: tickets\ncolumns:\n  external_id: ticket_id\n  account: account_id\n"
            "  opened_at: submitted_at\n  solved_at: closed_at\n"
            "  first_response_minutes: first_response_time_minutes\n",
        )
    )
    run = _import(session, event_store, "tickets", path, mapping=mapping)
    assert run.status is ImportStatus.succeeded, run.errors
    t1 = session.scalars(select(Ticket).where(Ticket.external_id == "T-1")).one()
    t2 = session.scalars(select(Ticket).where(Ticket.external_id == "T-2")).one()
    assert t1.account_id == account.id
    assert (t1.priority, t1.severity, t1.status) == (TicketPriority.normal, 3, TicketStatus.solved)
    assert t1.opened_at == datetime(2024, 7, 27, tzinfo=UTC)
    assert t1.first_response_at == datetime(2024, 7, 27, 1, 30, tzinfo=UTC)
    assert t1.solved_at == datetime(2024, 7, 28, 3, tzinfo=UTC)
    assert (t2.priority, t2.severity, t2.status) == (TicketPriority.urgent, 1, TicketStatus.open)
    assert t2.subject == "Ticket T-2"


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_a_truncated_gzip_file_is_refused_with_its_line(
    session: Session, event_store: EventStore, tmp_path: Path, suffix: str
) -> None:
    """A gzip file cut short (once an EOFError: the CLI printed only "Aborted.")."""
    if suffix == "csv":
        text = "external_id,name\n" + "".join(f"A-{i},Account {i}\n" for i in range(5000))
    else:
        text = "".join(json.dumps({"external_id": f"A-{i}", "name": f"A {i}"}) + "\n"
                       for i in range(5000))  # fmt: skip
    whole = gzip.compress(text.encode())
    path = tmp_path / f"accounts.{suffix}.gz"
    path.write_bytes(whole[: len(whole) // 2])
    run = _import(session, event_store, "accounts", path)
    assert run.status is ImportStatus.rejected, run.status
    assert any("cannot read the line" in str(e) for e in run.errors), run.errors
    assert session.scalar(select(func.count()).select_from(Account)) == 0


def test_contacts_from_gzipped_json_lines_with_roles_and_traits(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    account = make_account(session, external_id="A-1", name="Acme")
    lines: list[dict[str, Any]] = [
        {
            "id": "u1",
            "email": "Ann@Acme.com",
            "org": "A-1",
            "name": "Ann",
            "roles": "champion, admin",
            "plan_role": "owner",
        },
        {
            "id": "u2",
            "email": "bob@acme.com",
            "org": "A-1",
            "name": "Bob",
            "roles": "",
            "plan_role": None,
        },
    ]
    path = tmp_path / "contacts.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(json.dumps(x) for x in lines).encode()))
    mapping = parse_flags(["external_id=id,account=org,traits.plan_role=plan_role"])
    run = _import(session, event_store, "contacts", path, mapping=mapping)
    assert run.status is ImportStatus.succeeded, run.errors
    assert run.file_format == "jsonl+gzip"
    ann = session.scalars(select(Contact).where(Contact.external_id == "u1")).one()
    assert ann.email == "ann@acme.com" and ann.account_id == account.id
    assert ann.traits == {"plan_role": "owner"}
    roles = set(
        session.scalars(select(ContactRoleLink.role).where(ContactRoleLink.contact_id == ann.id))
    )
    assert roles == {ContactRole.champion, ContactRole.admin}
    # Changing only the roles is an update.
    lines[1]["roles"] = "sponsor"
    path.write_bytes(gzip.compress("\n".join(json.dumps(x) for x in lines).encode()))
    run = _import(session, event_store, "contacts", path, mapping=mapping)
    assert (run.inserted, run.updated, run.unchanged) == (0, 1, 1)


def test_invoices_from_parquet_with_row_numbers_in_errors(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    make_account(session, external_id="A-1", name="Acme")
    table = pa.table(
        {
            "external_id": ["I-1", "I-2", "I-3"],
            "account": ["A-1", "A-1", "A-1"],
            "amount": [100.5, -3.0, 20.0],
            "issued_on": [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)],
            "paid_on": [date(2026, 1, 5), None, date(2026, 2, 1)],
        }
    )
    path = tmp_path / "invoices.parquet"
    pq.write_table(table, path)
    run = _import(session, event_store, "invoices", path)
    assert run.status is ImportStatus.rejected
    assert [(e["line"], e["column"]) for e in run.errors] == [(2, "amount"), (3, "paid_on")]
    pq.write_table(table.slice(0, 1), path)
    run = _import(session, event_store, "invoices", path)
    assert run.status is ImportStatus.succeeded
    invoice = session.scalars(select(Invoice)).one()
    assert invoice.amount == Decimal("100.50") and invoice.due_on == date(2026, 1, 1)


@pytest.mark.parametrize(
    ("kind", "text", "flags", "message"),
    [
        ("accounts", "id,name\n1,x\n", [], "no column for 'external_id'"),
        ("accounts", "external_id,name\n1,x\n", ["nme=name"], "accounts have no field 'nme'"),
        (
            "accounts",
            "external_id,name\n1,x\n",
            ["name=Company"],
            "the file has no column 'Company'",
        ),
        ("gadgets", "a\n1\n", [], "unknown kind 'gadgets'"),
        ("accounts", "external_id,external_id\n1,2\n", [], "column 'external_id' appears twice"),
    ],
)
def test_file_level_problems_are_clear(
    session: Session,
    event_store: EventStore,
    tmp_path: Path,
    kind: str,
    text: str,
    flags: list[str],
    message: str,
) -> None:
    path = _write(tmp_path / "f.csv", text)
    with pytest.raises(Invalid, match=message):
        _import(session, event_store, kind, path, mapping=parse_flags(flags))


def test_ragged_csv_rows_and_bad_mapping_files(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    path = _write(tmp_path / "a.csv", "external_id,name\nA-1,Acme\nA-2\nA-3,x,y\n")
    run = _import(session, event_store, "accounts", path)
    assert [(e["line"], e["reason"]) for e in run.errors] == [
        (3, "has 1 cells, the header has 2"),
        (4, "has 3 cells, the header has 2"),
    ]
    bad = _write(tmp_path / "m.yaml", "columns:\n  name: [1, 2\n")
    with pytest.raises(Invalid, match=r"m.yaml:\d+: not valid YAML"):
        load_file(bad)
    with pytest.raises(Invalid, match=re.escape("m2.yaml: colums: Extra inputs are not permitted")):
        load_file(_write(tmp_path / "m2.yaml", "colums: {}\n"))
    with pytest.raises(Invalid, match="'name' is not FIELD=COLUMN"):
        parse_flags(["external_id=id,name"])


def test_timestamp_formats(session: Session, event_store: EventStore, tmp_path: Path) -> None:
    text = (
        "external_id,name,created_at\n"
        "A-1,a,2025-01-31T09:30:00+02:00\n"
        "A-2,b,1738315800\n"
        "A-3,c,1738315800000\n"
        "A-4,d,2025-01-31\n"
    )
    run = _import(session, event_store, "accounts", _write(tmp_path / "a.csv", text))
    assert run.status is ImportStatus.succeeded, run.errors
    got = dict(session.execute(select(Account.external_id, Account.created_at)).all())
    assert got["A-1"] == datetime(2025, 1, 31, 7, 30, tzinfo=UTC)
    assert got["A-2"] == got["A-3"] == datetime(2025, 1, 31, 9, 30, tzinfo=UTC)
    assert got["A-4"] == datetime(2025, 1, 31, tzinfo=UTC)
    assert got["A-4"] - got["A-1"] == -timedelta(hours=7, minutes=30)


def test_survey_responses_on_their_scales(
    session: Session, event_store: EventStore, tmp_path: Path
) -> None:
    make_account(session, external_id="acme", name="Acme")
    bad = _write(
        tmp_path / "bad.csv",
        "external_id,account,survey,score,responded_at\n"
        "r1,acme,nps,9,2026-11-01T10:00:00Z\n"
        "r2,acme,csat,7,2026-11-02T10:00:00Z\n"
        "r3,acme,ces,0,2026-11-02T10:00:00Z\n",
    )
    run = _import(session, event_store, "survey_responses", bad)
    assert run.status is ImportStatus.rejected and _count(session, SurveyResponse) == 0
    assert [(e["line"], e["reason"]) for e in run.errors] == [
        (3, "7 is outside the csat scale 1-5"),
        (4, "0 is outside the ces scale 1-7"),
    ]
    good = _write(
        tmp_path / "good.csv",
        "external_id,account,survey,score,responded_at,comment\n"
        "r1,acme,nps,9,2026-11-01T10:00:00Z,Love the reports\n"
        "r2,acme,CSAT,4,2026-11-02T10:00:00Z,\n",
    )
    run = _import(session, event_store, "survey_responses", good)
    assert run.status is ImportStatus.succeeded and run.inserted == 2
    nps = session.scalar(select(SurveyResponse).where(SurveyResponse.external_id == "r1"))
    assert nps is not None and (nps.survey, nps.score, nps.comment) == (
        SurveyKind.nps,
        9,
        "Love the reports",
    )
