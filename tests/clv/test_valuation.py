"""Account lifetime values from the renewal history, worked by hand."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy.special import betaln
from sqlalchemy.orm import Session

from boomerang.clv import valuation
from boomerang.errors import Invalid
from boomerang.metrics import revenue
from boomerang.segments import service as segments_service
from boomerang.segments.rollups import segment_rollups
from boomerang.users import service as users_service
from boomerang.users.models import Role
from tests.factories import add_line, make_account, make_user
from tests.web.test_ui import login, soup

TODAY = date(2026, 6, 30)


def _company(session: Session) -> dict[str, str]:
    """Ten accounts that started on 1 Jan 2022, in one tier (below the per-tier minimum, so
    one fit over all): four left after year 1, two after year 2, one after year 3, three pay
    today (1,000 ARR each; in their fifth year, so four renewals made)."""
    ids = {}
    lives = [1, 1, 1, 1, 2, 2, 3, None, None, None]
    for k, years in enumerate(lives):
        acc = make_account(session, name=f"C{k}", tier="smb")
        start = date(2022, 1, 1)
        end = None if years is None else date(2022 + years, 1, 1)
        add_line(session, acc, 1000, start, end)
        ids[acc.name] = acc.id
    return ids


def test_history_becomes_sbg_data(session: Session) -> None:
    _company(session)
    book = revenue.load_book(session=session, currency="USD", rates_day=TODAY)
    recency, T, live = valuation.renewal_history(book, TODAY)
    pairs = sorted(zip(recency.tolist(), T.tolist(), live.tolist(), strict=True))
    assert pairs == sorted(
        [(1.0, 2.0, False)] * 4
        + [(2.0, 3.0, False)] * 2
        + [(3.0, 4.0, False)]
        + [(5.0, 5.0, True)] * 3
    )


def test_values_are_arr_times_the_sbg_residual_lifetime(session: Session) -> None:
    ids = _company(session)
    result = valuation.value_accounts(
        session=session, currency="USD", discount_rate=0.1, today=TODAY
    )
    assert result.accounts == 3
    (fit,) = result.fits  # the tier has fewer than MIN_ACCOUNTS accounts: one fit, "all"
    assert fit.cohort == "all" and (fit.accounts, fit.churned) == (10, 7)

    # The fit maximises the sBG likelihood of these ten histories (checked independently).
    def ll(a: float, b: float) -> float:
        lost = {1: 4, 2: 2, 3: 1}
        total = sum(n * (betaln(a + 1, b + t - 1) - betaln(a, b)) for t, n in lost.items())
        return float(total + 3 * (betaln(a, b + 4) - betaln(a, b)))

    best = ll(fit.alpha, fit.beta)
    for da, db in ((0.01, 0), (-0.01, 0), (0, 0.01), (0, -0.01)):
        assert ll(fit.alpha * (1 + da), fit.beta * (1 + db)) <= best + 1e-9
    row = valuation.find_account_value(session=session, account_id=ids["C9"])
    assert row is not None and row.renewals == 4

    # DERL by direct summation: sum over t >= 5 of S(t)/S(4) / 1.1^(t-5).
    def s(t: int) -> float:
        return float(np.exp(betaln(fit.alpha, fit.beta + t) - betaln(fit.alpha, fit.beta)))

    derl = sum(s(t) / s(4) / 1.1 ** (t - 5) for t in range(5, 2000))
    assert row.expected_renewals == pytest.approx(derl, rel=1e-5)
    assert row.value == pytest.approx(1000 * derl, abs=0.01)
    assert result.total_value == pytest.approx(3 * row.value, abs=0.05)
    # Again the same day: replaced, not doubled.
    again = valuation.value_accounts(session=session, currency="USD", today=TODAY)
    assert again.accounts == 3


def test_no_churn_no_fit(session: Session) -> None:
    acc = make_account(session)
    add_line(session, acc, 500, TODAY - timedelta(days=800))
    with pytest.raises(Invalid, match="accounts that renewed and accounts that left"):
        valuation.value_accounts(session=session, currency="USD", today=TODAY)


def test_on_the_account_page_the_api_and_segment_rollups(
    session: Session, client: TestClient
) -> None:
    ids = _company(session)
    valuation.value_accounts(session=session, currency="USD", discount_rate=0.1, today=TODAY)
    seg = segments_service.create(session=session, name="Small", condition="tier = 'smb'")
    segments_service.evaluate(session=session)
    rollup = segment_rollups(session=session)[seg.id]
    row = valuation.find_account_value(session=session, account_id=ids["C9"])
    assert row is not None
    assert rollup.members == 10 and rollup.valued == 3
    assert rollup.arr == 3000 and rollup.value == pytest.approx(3 * row.value, abs=0.05)

    viewer = make_user(session, Role.viewer)
    token = users_service.create_token(session=session, user=viewer, name="t")[1]
    body = client.get(
        f"/api/v1/accounts/{ids['C9']}/lifetime-value", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert body["value"] == row.value and body["model"]["name"] == "sBG"
    gone = client.get(
        f"/api/v1/accounts/{ids['C0']}/lifetime-value", headers={"Authorization": f"Bearer {token}"}
    )
    assert gone.status_code == 404

    login(client, viewer)
    page = soup(client.get(f"/accounts/{ids['C9']}").text)
    assert page.select_one("#clv") is not None and "4 renewals" in page.select_one("#clv-how").text
    segments = soup(client.get("/segments").text)
    cell = segments.select_one('tr[data-name="Small"] td[data-col="clv"]')
    assert cell is not None and cell.text.strip().startswith("$")
