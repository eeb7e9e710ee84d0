"""Value metrics through the service: definitions (validated, YAML with lines), values per
account and period, running totals of value moments, and the chart PNG."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sqlalchemy.orm import Session

from boomerang.analytics.source import EventSource
from boomerang.errors import Conflict, Invalid
from boomerang.events.store import EventStore
from boomerang.value import service
from boomerang.value.chart import HIGHLIGHT, bar_chart_png, decode_png, short_number
from boomerang.value.models import ValueMetric
from tests.factories import make_account
from tests.value.helpers import standard_metrics, write_events

EVENTS = [
    ("acme", "Workflow Automated", "2026-06-01 10:00", None),
    ("acme", "Workflow Automated", "2026-06-09 10:00", {"steps": 3}),
    ("acme", "Workflow Automated", "2026-06-30 23:59", None),
    ("acme", "Money Saved", "2026-06-09 11:00", {"value": 120.5}),
    ("acme", "Money Saved", "2026-06-10 11:00", {"value": "not a number"}),
    ("acme", "Money Saved", "2026-06-11 11:00", {}),
    ("acme", "Money Saved", "2026-05-10 11:00", {"value": 10}),
    ("acme", "Money Saved", "2026-07-01 00:00", {"value": 1000}),  # after the period
    ("beta", "Money Saved", "2026-06-10 11:00", {"value": 7}),
    ("beta", "Signed In", "2026-06-10 11:00", None),
]


@pytest.fixture
def source(event_store: EventStore) -> EventSource:
    write_events(event_store, EVENTS)
    return EventSource(store=event_store)


def test_account_value_totals_previous_period_and_series(
    session: Session, source: EventSource
) -> None:
    standard_metrics(session)
    acme = make_account(session, external_id="acme")
    summary = service.account_value(
        session=session,
        source=source,
        account_id=acme.id,
        start=date(2026, 6, 1),
        end=date(2026, 6, 30),
        grain="week",
    )
    hours = summary.metric("hours_saved")
    money = summary.metric("money_saved")
    assert hours is not None and money is not None
    assert hours.formula == 'count("Workflow Automated") x 0.5'
    assert (hours.total, hours.previous, hours.events) == (1.5, 0.0, 3)
    assert [v for _, v in hours.series] == [0.5, 0.5, 0.0, 0.0, 0.5]
    assert hours.series[0][0] == date(2026, 6, 1) and hours.series[-1][0] == date(2026, 6, 29)
    # Non-numeric and missing values count as nothing; May is the previous 30 days.
    assert (money.total, money.previous) == (120.5, 10.0)
    assert money.change == pytest.approx(11.05)
    monthly = service.account_value(
        session=session,
        source=source,
        account_id=acme.id,
        start=date(2026, 5, 1),
        end=date(2026, 6, 30),
        grain="month",
        metric_keys=["money_saved"],
    )
    assert [m.key for m in monthly.metrics] == ["money_saved"]
    assert monthly.metrics[0].series == [(date(2026, 5, 1), 10.0), (date(2026, 6, 1), 120.5)]


def test_many_accounts_at_once_and_running_totals(session: Session, source: EventSource) -> None:
    standard_metrics(session)
    acme = make_account(session, external_id="acme")
    beta = make_account(session, external_id="beta")
    quiet = make_account(session, external_id="quiet")
    values = service.values_for(
        session=session,
        source=source,
        accounts=[acme, beta, quiet],
        start=date(2026, 6, 1),
        end=date(2026, 6, 30),
    )
    assert {a: [m.total for m in v.metrics] for a, v in values.items()} == {
        acme.id: [1.5, 120.5],
        beta.id: [0.0, 7.0],
        quiet.id: [0.0, 0.0],
    }
    totals = service.totals_by_account(
        session=session,
        source=source,
        metric_keys=["money_saved"],
        start=date(2026, 6, 1),
        end=date(2026, 6, 30),
    )
    assert totals == {(acme.id, "money_saved"): 120.5, (beta.id, "money_saved"): 7.0}
    running = service.running_totals(
        session=session, source=source, account_id=acme.id, today=date(2026, 6, 10)
    )
    by_key = {r.key: r for r in running}
    # Wednesday 2026-06-10: the week began on Monday the 8th.
    assert (by_key["money_saved"].this_week, by_key["money_saved"].this_month) == (120.5, 120.5)
    # The year includes May 10th; the last 30 days (from May 12th) do not.
    assert (by_key["money_saved"].this_year, by_key["money_saved"].last_30_days) == (130.5, 120.5)
    assert (by_key["hours_saved"].this_week, by_key["hours_saved"].this_month) == (0.5, 1.0)


def test_definitions_are_validated(session: Session) -> None:
    with pytest.raises(Invalid, match="kind 'sum' needs 'property'"):
        service.validate({"key": "x", "name": "X", "kind": "sum", "event": "E"})
    with pytest.raises(Invalid, match=r"metric: key: String should match pattern"):
        service.validate({"key": "Bad Key", "name": "X", "kind": "count", "event": "E"})
    with pytest.raises(Invalid, match=r"property 'a\.b': letters, digits and _ only"):
        service.validate({"key": "x", "name": "X", "kind": "sum", "event": "E", "property": "a.b"})
    with pytest.raises(Invalid, match="factor: Input should be greater than 0"):
        service.validate({"key": "x", "name": "X", "kind": "count", "event": "E", "factor": 0})
    created = service.create(
        session=session,
        data=service.validate({"key": "x", "name": "X", "kind": "count", "event": "E"}),
    )
    with pytest.raises(Conflict, match="exists already"):
        service.create(session=session, data=service.validate({**_as_data(created)}))


def _as_data(m: ValueMetric) -> dict[str, object]:
    return {"key": m.key, "name": m.name, "kind": m.kind.value, "event": m.event}


def test_yaml_file_loads_all_or_points_at_the_line(session: Session) -> None:
    good = """
metrics:
  - key: hours_saved
    name: Hours saved
    unit: hours
    kind: count
    event: Workflow Automated
    factor: 0.5
  - key: money_saved
    name: Money saved
    kind: sum
    event: Money Saved
    property: value
"""
    parsed = service.parse_file(good, origin="value.yaml")
    assert service.load(session=session, definitions=parsed) == (2, 0)
    assert service.load(session=session, definitions=parsed) == (0, 2)
    assert [m.key for m in service.list_metrics(session=session)] == [
        "hours_saved",
        "money_saved",
    ]
    bad = good.replace("    property: value\n", "")
    with pytest.raises(Invalid) as exc:
        service.parse_file(bad, origin="value.yaml")
    assert exc.value.message == (
        "value.yaml:9: metrics[1]: Value error, kind 'sum' needs 'property' "
        "(the numeric event property)"
    )
    with pytest.raises(Invalid, match=r"value.yaml:8: metrics\[0\].factor"):
        service.parse_file(good.replace("factor: 0.5", "factor: lots"), origin="value.yaml")
    with pytest.raises(Invalid, match="key 'hours_saved' is defined twice"):
        service.parse_file(
            good.replace("key: money_saved", "key: hours_saved"), origin="value.yaml"
        )


def test_bad_periods_are_refused(session: Session, source: EventSource) -> None:
    standard_metrics(session)
    acme = make_account(session, external_id="acme")
    with pytest.raises(Invalid, match="end: 2026-05-01 is before start 2026-06-01"):
        service.account_value(
            session=session,
            source=source,
            account_id=acme.id,
            start=date(2026, 6, 1),
            end=date(2026, 5, 1),
        )
    with pytest.raises(Invalid, match="grain: 'year' is not one of day, week, month"):
        service.account_value(
            session=session,
            source=source,
            account_id=acme.id,
            start=date(2026, 6, 1),
            end=date(2026, 6, 2),
            grain="year",  # type: ignore[arg-type]
        )
    with pytest.raises(Invalid, match="metrics: no active value metric nope"):
        service.account_value(
            session=session,
            source=source,
            account_id=acme.id,
            start=date(2026, 6, 1),
            end=date(2026, 6, 2),
            metric_keys=["nope"],
        )


def test_chart_png_is_a_valid_image_with_proportional_bars() -> None:
    png = bar_chart_png([1.0, 4.0, 2.0])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    img = decode_png(png)
    assert img.shape == (220, 560, 3)
    highlighted = np.all(img == np.array(HIGHLIGHT, dtype=np.uint8), axis=2)
    # The last bar is highlighted; its height is half of the tallest's (plot height 178).
    rows = np.where(highlighted.any(axis=1))[0]
    assert rows.max() - rows.min() + 1 == 89
    assert short_number(1234) == "1.2k" and short_number(2_000_000) == "2M"
    assert short_number(3.0) == "3" and short_number(-10.5) == "-10.5"
