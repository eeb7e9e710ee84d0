"""Importing records (accounts, contacts, subscriptions, tickets, invoices, survey responses):
validate, then upsert.

The whole file is validated before anything is written: a file with any bad row changes
nothing, and the report names each bad row's line, column and reason. Rows are upserted by
their external id (contacts: external id, else email); only the fields the file maps are
written, so a file with three columns updates three fields and leaves the rest alone.

Reading and checking the rows is :mod:`.rows`, what the kinds share when they plan their
writes :mod:`.planning`; each kind has its module (:mod:`.accounts`, :mod:`.contacts`,
:mod:`.subscriptions`, :mod:`.tickets`, :mod:`.invoices`, :mod:`.surveys`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from boomerang.imports.mapping import Mapping
from boomerang.imports.readers import Source, read_records
from boomerang.imports.records import (
    accounts,
    contacts,
    invoices,
    subscriptions,
    surveys,
    tickets,
)
from boomerang.imports.records.rows import Counts, Errors, Kind, Resolved, parse_rows, resolve

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        accounts.KIND,
        contacts.KIND,
        subscriptions.KIND,
        tickets.KIND,
        invoices.KIND,
        surveys.KIND,
    )
}


def run(
    *,
    session: Session,
    kind: Kind,
    source: Source,
    mapping: Mapping,
    dry_run: bool,
    today: date,
) -> tuple[Counts, Errors, Resolved]:
    """Validate the whole file, then (unless ``dry_run`` or any error) write it."""
    header, rows = read_records(source)
    resolved = resolve(kind, header, mapping)
    errors, counts = Errors(), Counts()
    parsed = parse_rows(kind, rows, resolved, mapping, errors, counts)
    apply = kind.plan(
        session=session,
        rows=parsed,
        resolved=resolved,
        errors=errors,
        counts=counts,
        today=today,
    )
    if errors.count == 0 and not dry_run:
        apply()
        session.flush()
    return counts, errors, resolved
