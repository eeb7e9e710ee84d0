"""The review deck as a standalone HTML document (styles and charts inline) and as a PDF
rendered from that HTML by WeasyPrint. Nothing is fetched: the renderer refuses every
URL, so a deck renders the same offline."""

from __future__ import annotations

from typing import Any

from boomerang.errors import ConfigError, Invalid
from boomerang.reviews.content import Review
from boomerang.reviews.models import DeckFormat
from boomerang.users.models import User
from boomerang.web.templating import templates

# Sections page by page, row by row (two in a row share the width).
PAGES: list[list[list[str]]] = [
    [["numbers"], ["support", "feedback"]],
    [["usage"]],
    [["outcomes", "value"]],
    [["risks", "expansion"], ["next"]],
]


def deck_html(review: Review, *, company: str, owner: User | None, internal: bool = False) -> str:
    """The deck as one HTML document; ``internal`` keeps the items not meant for the
    customer (for the team's own review)."""
    context: dict[str, Any] = {
        "r": review,
        "company": company,
        "owner": owner,
        "internal": internal,
        "pages": [[[review.section(k) for k in row] for row in page] for page in PAGES],
    }
    return templates.env.get_template("reviews/deck.html").render(context)


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise Invalid(f"the deck refers to {url[:100]!r}; decks render offline and fetch nothing")


def deck_pdf(html: str) -> bytes:
    """The HTML deck printed to PDF (A4 landscape pages)."""
    try:
        from weasyprint import HTML  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:  # the package, or the pango library it loads
        raise ConfigError(
            f"PDF decks need WeasyPrint and the pango library ({exc}); HTML decks still work"
        ) from exc

    pdf: bytes = HTML(string=html, url_fetcher=_no_fetch).write_pdf()
    return pdf


def render(review: Review, fmt: DeckFormat, *, company: str, owner: User | None) -> bytes:
    """The customer's deck in ``fmt``."""
    html = deck_html(review, company=company, owner=owner)
    if fmt is DeckFormat.pdf:
        return deck_pdf(html)
    return html.encode()


def filename_for(account_name: str, period: str, fmt: DeckFormat) -> str:
    """``Acme-Corp-2025-Q3-review.pdf``: letters and digits only, safe in a header."""
    safe = "".join(c if c.isascii() and c.isalnum() else "-" for c in account_name)
    safe = "-".join(part for part in safe.split("-") if part)[:80]
    return f"{safe or 'account'}-{period}-review.{fmt.value}"
