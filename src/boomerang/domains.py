"""The registry of domains: the one list from which the app's routers, the menu, the CLI, the
table registration and the jobs are derived.

Adding a domain is its package under ``boomerang/`` plus one :class:`Domain` line in
:data:`DOMAINS`. Every reference is an import path (``"module:attribute"`` or a module), so
reading this list imports nothing: the CLI lists its commands from it without loading a domain.

The list runs from the lowest domain to the highest: a domain may use the ones above it in the
list, not the ones below (``tools/structure.py`` counts the exceptions). ``flows`` comes last: work
that spans domains, which no domain imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class NavItem:
    """An entry of the main menu; ``order`` places it (sections are tens apart)."""

    label: str
    href: str
    order: int
    roles: tuple[str, ...] = ()  # empty: everyone


@dataclass(frozen=True)
class Command:
    """A sub-command of ``boomerang``: its name, ``"module:attribute"`` and one-line help.

    A name of two words (``"reviews deck"``) adds a command to another domain's group: a flow's
    command shown where its users look for it.
    """

    name: str
    target: str
    help: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Domain:
    """One package under ``boomerang/`` and what it plugs in."""

    name: str
    routers: tuple[str, ...] = ()  # "module:attribute", included in this order
    menu: tuple[NavItem, ...] = ()
    commands: tuple[Command, ...] = ()
    models: str | None = None  # the module defining its tables
    jobs: tuple[str, ...] = ()  # modules registering job handlers and periodic jobs
    templates: bool = False  # whether ``<package>/templates`` holds its pages


DOMAINS: tuple[Domain, ...] = (
    Domain(
        "users",
        routers=("boomerang.users.views:router", "boomerang.users.admin_views:router"),
        menu=(NavItem("Users", "/admin/users", 200, roles=("admin",)),),
        commands=(
            Command("users", "boomerang.users.cli:app", "Staff users: create and list."),
            Command(
                "tokens", "boomerang.users.cli:tokens_app", "REST API tokens: create, list, revoke."
            ),
        ),
        models="boomerang.users.models",
        jobs=("boomerang.users.jobs",),
        templates=True,
    ),
    Domain(
        "accounts",
        routers=("boomerang.accounts.api:router",),
        menu=(NavItem("Accounts", "/accounts", 10),),
        models="boomerang.accounts.models",
        templates=True,
    ),
    Domain("billing", models="boomerang.billing.models"),
    Domain("support", models="boomerang.support.models"),
    Domain(
        "timeline",
        routers=("boomerang.timeline.views:router",),
        models="boomerang.timeline.models",
    ),
    Domain(
        "tasks",
        routers=("boomerang.tasks.api:router", "boomerang.tasks.views:router"),
        menu=(NavItem("Tasks", "/tasks", 20),),
        models="boomerang.tasks.models",
        templates=True,
    ),
    Domain(
        "mail",
        routers=("boomerang.mail.views:router", "boomerang.mail.unsubscribe:router"),
        menu=(NavItem("Outbox", "/outbox", 170, roles=("admin", "manager")),),
        commands=(
            Command(
                "outbox",
                "boomerang.mail.cli:outbox_app",
                "The outbox of customer email: status, delivery, retries, approvals.",
            ),
            Command(
                "email", "boomerang.mail.cli:email_app", "Email templates and the SMTP connection."
            ),
        ),
        models="boomerang.mail.models",
        jobs=("boomerang.mail.jobs",),
        templates=True,
    ),
    Domain(
        "webhooks",
        routers=("boomerang.webhooks.api:router", "boomerang.webhooks.outbound_api:router"),
        commands=(
            Command(
                "hooks",
                "boomerang.webhooks.cli:app",
                "Inbound webhook sources: create, list, rotate, revoke.",
            ),
        ),
        models="boomerang.webhooks.models",
        jobs=("boomerang.webhooks.jobs",),
    ),
    Domain(
        "ingest",
        routers=("boomerang.ingest.api:router",),
        commands=(
            Command(
                "keys",
                "boomerang.ingest.cli:keys_app",
                "Tracking API write keys (Segment-compatible): create, list, revoke.",
            ),
            Command(
                "ingest", "boomerang.ingest.cli:ingest_app", "The tracking API's durable inbox."
            ),
        ),
        models="boomerang.ingest.models",
    ),
    Domain(
        "imports",
        commands=(
            Command(
                "import",
                "boomerang.imports.cli:import_command",
                "Import a file: validate every row, then write all of it or (on any bad row) "
                "nothing.",
                {"no_args_is_help": True},
            ),
        ),
        models="boomerang.imports.models",
    ),
    Domain(
        "metrics",
        routers=("boomerang.metrics.api:router", "boomerang.metrics.views:router"),
        menu=(NavItem("Revenue", "/metrics/revenue", 140),),
        commands=(
            Command(
                "metrics",
                "boomerang.metrics.cli:app",
                "Revenue metrics: ARR bridge, NRR, GRR, churn, cohorts.",
            ),
            Command(
                "fx", "boomerang.metrics.cli:fx_app", "Exchange rates into the reporting currency."
            ),
        ),
        models="boomerang.metrics.models",
        templates=True,
    ),
    Domain(
        "surveys",
        routers=(
            "boomerang.surveys.api:router",
            "boomerang.surveys.views:router",
            "boomerang.surveys.public:router",
        ),
        menu=(NavItem("Surveys", "/surveys", 70),),
        commands=(
            Command(
                "surveys",
                "boomerang.surveys.cli:app",
                "Surveys: NPS, CSAT and CES programs, answers, roll-ups and comment themes.",
            ),
        ),
        models="boomerang.surveys.models",
        jobs=("boomerang.surveys.jobs",),
        templates=True,
    ),
    Domain(
        "feedback",
        routers=("boomerang.feedback.api:router", "boomerang.feedback.views:router"),
        menu=(NavItem("Feedback", "/feedback", 80),),
        commands=(
            Command(
                "feedback",
                "boomerang.feedback.cli:app",
                "Feedback and feature requests (ranked by the ARR asking), advisory board and "
                "focus groups.",
            ),
        ),
        models="boomerang.feedback.models",
        templates=True,
    ),
    Domain(
        "value",
        routers=("boomerang.value.api:router", "boomerang.value.views:router"),
        menu=(NavItem("Value", "/value", 130),),
        commands=(
            Command(
                "value",
                "boomerang.value.cli:value_app",
                "Value metrics: what value means for the product, per account.",
            ),
            Command(
                "digests",
                "boomerang.value.cli:digests_app",
                "Value digests: weekly or monthly emails to stakeholders.",
            ),
        ),
        models="boomerang.value.models",
        templates=True,
    ),
    Domain(
        "success",
        routers=("boomerang.success.api:router", "boomerang.success.views:router"),
        commands=(
            Command(
                "plans",
                "boomerang.success.cli:app",
                "Success plans: desired outcomes, objectives, milestones and KPIs per account.",
            ),
        ),
        models="boomerang.success.models",
        jobs=("boomerang.success.jobs",),
        templates=True,
    ),
    Domain(
        "escalations",
        routers=("boomerang.escalations.api:router", "boomerang.escalations.views:router"),
        menu=(NavItem("Escalations", "/escalations", 30),),
        commands=(
            Command(
                "escalations",
                "boomerang.escalations.cli:app",
                "Escalations: customer problems moved up support, account manager, executive.",
            ),
        ),
        models="boomerang.escalations.models",
        jobs=("boomerang.escalations.jobs",),
        templates=True,
    ),
    Domain(
        "journey",
        routers=("boomerang.journey.api:router",),
        commands=(
            Command(
                "journey",
                "boomerang.journey.cli:app",
                "The customer journey: stages, milestones, time to value.",
            ),
        ),
        models="boomerang.journey.models",
    ),
    Domain(
        "health",
        routers=(
            "boomerang.health.api:router",
            "boomerang.health.api:backtest_router",
            "boomerang.health.views:router",
        ),
        menu=(NavItem("Health", "/health", 100),),
        commands=(
            Command("health", "boomerang.health.cli:app", "Health scores: compute, explain."),
        ),
        models="boomerang.health.models",
        templates=True,
    ),
    Domain(
        "segments",
        routers=("boomerang.segments.api:router", "boomerang.segments.views:router"),
        menu=(NavItem("Segments", "/segments", 110),),
        commands=(
            Command(
                "segments",
                "boomerang.segments.cli:app",
                "Segments: accounts matching a condition, e.g. \"tier = 'smb' and health < 50\".",
            ),
        ),
        models="boomerang.segments.models",
        templates=True,
    ),
    Domain(
        "churn",
        routers=("boomerang.churn.api:router", "boomerang.churn.views:router"),
        menu=(NavItem("Churn risk", "/churn", 150),),
        commands=(
            Command(
                "churn",
                "boomerang.churn.cli:app",
                "Churn risk: a model of your own history, with reasons.",
            ),
        ),
        models="boomerang.churn.models",
        templates=True,
    ),
    Domain(
        "clv",
        commands=(
            Command(
                "clv",
                "boomerang.clv.cli:clv_app",
                "Customer lifetime value from transactions: BG/NBD, Pareto/NBD, Gamma-Gamma.",
            ),
            Command(
                "retention",
                "boomerang.clv.cli:retention_app",
                "Contractual retention: the shifted-beta-geometric (sBG) model.",
            ),
        ),
        models="boomerang.clv.tables",
    ),
    Domain(
        "renewals",
        routers=("boomerang.renewals.api:router", "boomerang.renewals.views:router"),
        menu=(NavItem("Renewals", "/renewals", 40),),
        commands=(
            Command(
                "renewals",
                "boomerang.renewals.cli:app",
                "Renewals: the pipeline of contract lines coming up, its forecast and outcomes.",
            ),
        ),
        models="boomerang.renewals.models",
        templates=True,
    ),
    Domain(
        "expansion",
        routers=("boomerang.expansion.api:router", "boomerang.expansion.views:router"),
        menu=(NavItem("Expansion", "/expansion", 60),),
        commands=(
            Command(
                "expansion",
                "boomerang.expansion.cli:app",
                "Expansion: upsell and cross-sell opportunities from signals, stages and outcomes.",
            ),
        ),
        models="boomerang.expansion.models",
        jobs=("boomerang.expansion.jobs",),
        templates=True,
    ),
    Domain(
        "advocacy",
        routers=("boomerang.advocacy.api:router", "boomerang.advocacy.views:router"),
        menu=(NavItem("Advocacy", "/advocacy", 90),),
        commands=(
            Command(
                "advocacy",
                "boomerang.advocacy.cli:app",
                "Advocacy: references, reviews, case studies and referrals with incentives.",
            ),
        ),
        models="boomerang.advocacy.models",
        templates=True,
    ),
    Domain(
        "reviews",
        routers=("boomerang.reviews.api:router", "boomerang.reviews.views:router"),
        menu=(NavItem("Reviews", "/reviews", 50),),
        commands=(
            Command(
                "reviews",
                "boomerang.reviews.cli:app",
                "Business reviews: cadence, internal review, the generated deck, the meeting.",
            ),
        ),
        models="boomerang.reviews.models",
        jobs=("boomerang.reviews.jobs",),
        templates=True,
    ),
    Domain(
        "playbooks",
        routers=("boomerang.playbooks.api:router", "boomerang.playbooks.views:router"),
        menu=(NavItem("Playbooks", "/playbooks", 120),),
        commands=(
            Command(
                "playbooks",
                "boomerang.playbooks.cli:app",
                "Playbooks: triggers, conditions and steps that act.",
            ),
        ),
        models="boomerang.playbooks.models",
        jobs=("boomerang.playbooks.jobs",),
        templates=True,
    ),
    Domain(
        "lab",
        routers=("boomerang.lab.api:router", "boomerang.lab.views:router"),
        menu=(NavItem("Model lab", "/lab", 160),),
        templates=True,
    ),
    Domain(
        "datasources",
        routers=("boomerang.datasources.views:router",),
        menu=(NavItem("Data sources", "/admin/data-sources", 180, roles=("admin",)),),
        templates=True,
    ),
    Domain(
        "jobs",
        routers=("boomerang.jobs.views:router",),
        menu=(NavItem("Jobs", "/admin/jobs", 190, roles=("admin",)),),
        commands=(
            Command(
                "worker",
                "boomerang.jobs.cli:worker",
                "Run queued jobs until SIGTERM or Ctrl+C (the jobs running then are finished "
                "first).",
            ),
            Command(
                "jobs", "boomerang.jobs.cli:app", "Jobs: the queue of scheduled and triggered work."
            ),
        ),
        models="boomerang.jobs.models",
        jobs=("boomerang.jobs.worker",),
        templates=True,
    ),
    Domain(
        "demo",
        commands=(
            Command(
                "demo",
                "boomerang.demo.cli:demo",
                "Load a realistic demo B2B SaaS company (accounts, contracts, usage events, "
                "tickets ...).",
            ),
        ),
    ),
    Domain(
        "flows",
        routers=(
            "boomerang.flows.login:router",
            "boomerang.flows.account_list:router",
            "boomerang.flows.account_overview:router",
            "boomerang.flows.account_overview:api_router",
            "boomerang.flows.review_deck_web:router",
            "boomerang.flows.review_deck_web:api_router",
        ),
        commands=(
            Command(
                "reviews deck",
                "boomerang.flows.review_deck_cli:deck_command",
                "Generate the review deck of ACCOUNT for a period, keep it with the review "
                "(scheduled first when there is none) and write it to --out.",
            ),
        ),
        jobs=("boomerang.flows.daily",),
    ),
)
"""Every domain, lowest first; add yours here."""


def routers() -> list[str]:
    """Every router's import path, in the order the app includes them."""
    return [target for domain in DOMAINS for target in domain.routers]


def navigation() -> list[NavItem]:
    """The main menu, in its order."""
    return sorted((item for domain in DOMAINS for item in domain.menu), key=lambda i: i.order)


def commands() -> dict[str, Command]:
    """Every command that the root does not define itself, by name (``"reviews deck"`` for a
    command added to another domain's group)."""
    found: dict[str, Command] = {}
    for domain in DOMAINS:
        for command in domain.commands:
            if command.name in found:
                raise ValueError(f"two domains define the command {command.name!r}")
            found[command.name] = command
    return found


def model_modules() -> list[str]:
    """The modules that define tables."""
    return [domain.models for domain in DOMAINS if domain.models]


def job_modules() -> list[str]:
    """The modules that register job handlers and periodic jobs."""
    return [module for domain in DOMAINS for module in domain.jobs]


def template_packages() -> list[str]:
    """The domain packages with a ``templates`` folder of pages."""
    return [domain.name for domain in DOMAINS if domain.templates]
