"""Jinja2 templates shared by every domain's views, with formatting filters and navigation."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from boomerang import __version__
from boomerang.domains import NavItem, navigation, template_packages
from boomerang.web.deps import csrf_token

PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [PACKAGE / "web" / "templates"] + [
    PACKAGE / name / "templates" for name in template_packages()
]
"""Where pages are found: the shared layouts, then every domain's (from boomerang.domains)."""

NAVIGATION: list[NavItem] = navigation()
"""The main menu: each domain declares its entries in boomerang.domains."""

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
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page with the signed-in user, CSRF token and menu available to the template."""
    ctx: dict[str, Any] = {
        "user": getattr(request.state, "user", None),
        "csrf_token": csrf_token(request),
        "path": request.url.path,
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)
