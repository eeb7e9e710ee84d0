"""Jinja2 templates shared by every domain's views, with formatting filters and navigation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from boomerang import __version__
from boomerang.web.deps import csrf_token

PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [
    PACKAGE / "web" / "templates",
    PACKAGE / "accounts" / "templates",
    PACKAGE / "advocacy" / "templates",
    PACKAGE / "churn" / "templates",
    PACKAGE / "datasources" / "templates",
    PACKAGE / "escalations" / "templates",
    PACKAGE / "feedback" / "templates",
    PACKAGE / "health" / "templates",
    PACKAGE / "jobs" / "templates",
    PACKAGE / "lab" / "templates",
    PACKAGE / "mail" / "templates",
    PACKAGE / "metrics" / "templates",
    PACKAGE / "playbooks" / "templates",
    PACKAGE / "renewals" / "templates",
    PACKAGE / "expansion" / "templates",
    PACKAGE / "reviews" / "templates",
    PACKAGE / "segments" / "templates",
    PACKAGE / "surveys" / "templates",
    PACKAGE / "success" / "templates",
    PACKAGE / "tasks" / "templates",
    PACKAGE / "value" / "templates",
]


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    roles: tuple[str, ...] = ()  # empty: everyone


NAVIGATION: list[NavItem] = [
    # The day's work
    NavItem("Accounts", "/accounts"),
    NavItem("Tasks", "/tasks"),
    NavItem("Escalations", "/escalations"),
    NavItem("Renewals", "/renewals"),
    NavItem("Reviews", "/reviews"),
    NavItem("Expansion", "/expansion"),
    # Listening and advocacy
    NavItem("Surveys", "/surveys"),
    NavItem("Feedback", "/feedback"),
    NavItem("Advocacy", "/advocacy"),
    # Signals and automation
    NavItem("Health", "/health"),
    NavItem("Segments", "/segments"),
    NavItem("Playbooks", "/playbooks"),
    # Measurement
    NavItem("Value", "/value"),
    NavItem("Revenue", "/metrics/revenue"),
    NavItem("Churn risk", "/churn"),
    NavItem("Model lab", "/lab"),
    # Administration
    NavItem("Outbox", "/outbox", roles=("admin", "manager")),
    NavItem("Data sources", "/admin/data-sources", roles=("admin",)),
    NavItem("Jobs", "/admin/jobs", roles=("admin",)),
]
"""The main menu; a domain adds its entry here when it gains a page."""

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def money(value: Decimal | float | int | None, currency: str = "USD", compact: bool = False) -> str:
    """``$12,345`` or compact ``$12.3k``; the currency code when it has no symbol."""
    if value is None:
        return "—"
    amount = Decimal(value)
    symbol = CURRENCY_SYMBOLS.get(currency)
    if compact and abs(amount) >= 1000:
        for div, suffix in ((Decimal(1_000_000), "M"), (Decimal(1000), "k")):
            if abs(amount) >= div:
                text = f"{amount / div:,.1f}{suffix}"
                break
    else:
        text = f"{amount:,.0f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def label(value: Any) -> str:
    """``mid_market`` -> ``Mid-market``; enums by their value."""
    text = str(getattr(value, "value", value) or "")
    return text.replace("_", "-" if text == "mid_market" else " ").capitalize()


def _environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in TEMPLATE_DIRS]),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=money, date=fmt_date, label=label)
    env.globals.update(version=__version__, navigation=NAVIGATION)
    return env


templates = Jinja2Templates(env=_environment())


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page with the signed-in user, CSRF token and menu available to the template."""
    ctx: dict[str, Any] = {
        "user": getattr(request.state, "user", None),
        "csrf_token": csrf_token(request),
        "path": request.url.path,
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
