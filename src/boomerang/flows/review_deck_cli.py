"""``boomerang reviews deck``: generate an account's review deck for a period and write it to
a file (the other ``reviews`` commands are in :mod:`boomerang.reviews.cli`).

Nothing heavy is imported here: the flow is imported when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from boomerang.cli_support import console, friendly_errors, runtime
from boomerang.errors import Invalid
from boomerang.reviews import periods


@friendly_errors
def deck_command(
    account: Annotated[str, typer.Argument(help="Account id or external id.")],
    period: Annotated[str, typer.Option("--period", help="2025-Q3, 2025-H2, 2025 or 2025-07.")],
    out: Annotated[Path, typer.Option("--out", help="File to write the deck to.")],
    fmt: Annotated[str, typer.Option("--format", help="pdf or html.")] = "pdf",
    by: Annotated[str | None, typer.Option("--by", help="Email of the staff user.")] = None,
) -> None:
    """Generate the review deck of ACCOUNT for a period, keep it with the review (scheduled
    first when there is none) and write it to --out."""
    from boomerang.accounts import service as accounts_service
    from boomerang.flows import review_deck
    from boomerang.reviews import service
    from boomerang.reviews.api import staff

    deck_format = service.parse_format(fmt)
    if out.exists() and out.is_dir():
        raise Invalid(f"--out: {out} is a directory; give a file name")
    if not out.parent.exists():
        raise Invalid(f"--out: the folder {out.parent} does not exist")
    with runtime.transaction() as session:
        result = review_deck.deck_for_period(
            session=session,
            source=runtime.event_source,
            settings=runtime.settings,
            account=accounts_service.get_by_ref(session=session, ref=account),
            period=periods.parse(period, field="--period"),
            fmt=deck_format,
            by=staff(session, by, "--by"),
        )
        out.write_bytes(result.deck.content)
        note = " (review scheduled)" if result.scheduled else ""
        console.print(
            f"wrote {out} ({result.deck.size:,} bytes): {result.review.account.name}, "
            f"{result.review.period}, review {result.review.id}{note}",
            highlight=False,
        )
