"""The lab's four analyses on an uploaded file; each returns what the CLI prints as JSON."""

from __future__ import annotations

from datetime import date
from typing import Any

from boomerang.churn import tabular
from boomerang.clv import service as clv_service
from boomerang.errors import Invalid
from boomerang.lab.files import spooled

ANALYSES = ("churn-evaluate", "clv-fit", "clv-predict", "retention-fit")


def _text(form: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = form.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        if required:
            raise Invalid(f"{name}: required")
        return None
    if len(text) > 200:
        raise Invalid(f"{name}: longer than 200 characters")
    return text


def _number(form: dict[str, Any], name: str, default: float, *, low: float, high: float) -> float:
    text = _text(form, name, required=False)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise Invalid(f"{name}: {text!r} is not a number") from None
    if not low <= value <= high:
        raise Invalid(f"{name}: must be between {low:g} and {high:g}, got {value:g}")
    return value


def _day(form: dict[str, Any], name: str) -> date:
    text = _text(form, name)
    assert text is not None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from None


def _unit(form: dict[str, Any]) -> Any:
    unit = _text(form, "unit", required=False) or "weeks"
    if unit not in ("days", "weeks", "months"):
        raise Invalid(f"unit: {unit!r} is not days, weeks or months")
    return unit


def run(analysis: str, form: dict[str, Any]) -> dict[str, Any]:
    """Run ``analysis`` with the form's fields and its uploaded ``file``."""
    if analysis not in ANALYSES:
        raise Invalid(f"analysis: {analysis!r} is not one of {', '.join(ANALYSES)}")
    with spooled(form.get("file")) as path:
        if analysis == "churn-evaluate":
            model = _text(form, "model", required=False) or "logistic"
            if model not in ("logistic", "gbm"):
                raise Invalid(f"model: {model!r} is not logistic or gbm")
            return tabular.evaluate(
                tabular.read_table(path),
                target=_text(form, "target") or "",
                id_column=_text(form, "id", required=False),
                test_size=_number(form, "test_size", 0.3, low=0.05, high=0.9),
                seed=int(_number(form, "seed", 0, low=0, high=2**31)),
                kind=model,  # type: ignore[arg-type]
                positive=_text(form, "positive", required=False),
            ).as_dict()
        if analysis == "retention-fit":
            periods = _text(form, "periods", required=False)
            return clv_service.retention_file(
                path,
                recency=_text(form, "recency") or "",
                t_column=_text(form, "T") or "",
                cohort=_text(form, "cohort", required=False),
                periods=int(_number(form, "periods", 0, low=1, high=200)) if periods else None,
                discount_rate=_number(form, "discount_rate", 0.1, low=1e-6, high=1),
            )
        common = {
            "customer": _text(form, "customer") or "",
            "date_column": _text(form, "date") or "",
            "calibration_end": _day(form, "calibration_end"),
            "unit": _unit(form),
            "date_format": _text(form, "date_format", required=False),
        }
        if analysis == "clv-fit":
            return clv_service.fit_file(
                path,
                model=_text(form, "model") or "",
                amount=_text(form, "amount", required=False),
                **common,
            )
        return clv_service.predict_file(
            path,
            amount=_text(form, "amount") or "",
            model=_text(form, "model", required=False) or "bg-nbd",
            horizon=int(_number(form, "horizon", 12, low=1, high=120)),
            discount_rate=_number(form, "discount_rate", 0.01, low=0, high=0.99),
            **common,
        )
