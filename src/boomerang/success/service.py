"""Success plans: create (blank or from a template), edit, track progress, share; the public
face of the success domain.

The code lives in modules named by what they hold; this module re-exports their public
names for other domains:

* :mod:`~boomerang.success.plans`: plans, outcomes, objectives and milestones;
* :mod:`~boomerang.success.kpis`: KPIs and their values (refreshed from the data);
* :mod:`~boomerang.success.progress`: progress as of a day (what the plan shows and the
  ``plan_progress`` health measure reads);
* :mod:`~boomerang.success.sharing`: the customer's read-only link;
* :mod:`~boomerang.success.templates`: plan templates.

For other domains (business reviews, decks)::

    from boomerang.success import service as success_service

    summary = success_service.plan_summary(session=session, account_id=account.id,
                                           as_of=date(2026, 9, 30))
    if summary is not None:
        summary.outcomes, summary.milestones_met, summary.milestones_total, summary.kpis
"""

from __future__ import annotations

from boomerang.success.kinds import LIVE as LIVE
from boomerang.success.kpis import add_kpi as add_kpi
from boomerang.success.kpis import get_kpi as get_kpi
from boomerang.success.kpis import new_kpi as new_kpi
from boomerang.success.kpis import record_kpi_value as record_kpi_value
from boomerang.success.kpis import refresh_kpis as refresh_kpis
from boomerang.success.plans import achieve_milestone as achieve_milestone
from boomerang.success.plans import add_milestone as add_milestone
from boomerang.success.plans import add_objective as add_objective
from boomerang.success.plans import add_outcome as add_outcome
from boomerang.success.plans import create_plan as create_plan
from boomerang.success.plans import current_plan as current_plan
from boomerang.success.plans import get_milestone as get_milestone
from boomerang.success.plans import get_objective as get_objective
from boomerang.success.plans import get_plan as get_plan
from boomerang.success.plans import list_plans as list_plans
from boomerang.success.plans import reopen_milestone as reopen_milestone
from boomerang.success.plans import set_objective_status as set_objective_status
from boomerang.success.plans import set_status as set_status
from boomerang.success.progress import KpiStatus as KpiStatus
from boomerang.success.progress import MilestoneStatus as MilestoneStatus
from boomerang.success.progress import ObjectiveView as ObjectiveView
from boomerang.success.progress import PlanSummary as PlanSummary
from boomerang.success.progress import kpi_progress as kpi_progress
from boomerang.success.progress import plan_summary as plan_summary
from boomerang.success.progress import progress_by_account as progress_by_account
from boomerang.success.progress import summarize as summarize
from boomerang.success.sharing import SHARE_PATH as SHARE_PATH
from boomerang.success.sharing import SHARE_SALT as SHARE_SALT
from boomerang.success.sharing import plan_for_token as plan_for_token
from boomerang.success.sharing import revoke_links as revoke_links
from boomerang.success.sharing import share_token as share_token
from boomerang.success.sharing import share_url as share_url
from boomerang.success.templates import get_template as get_template
from boomerang.success.templates import list_templates as list_templates
from boomerang.success.templates import parse_templates as parse_templates
from boomerang.success.templates import save_templates as save_templates
from boomerang.success.templates import template_for as template_for

__all__ = [
    "LIVE",
    "SHARE_PATH",
    "SHARE_SALT",
    "KpiStatus",
    "MilestoneStatus",
    "ObjectiveView",
    "PlanSummary",
    "achieve_milestone",
    "add_kpi",
    "add_milestone",
    "add_objective",
    "add_outcome",
    "create_plan",
    "current_plan",
    "get_kpi",
    "get_milestone",
    "get_objective",
    "get_plan",
    "get_template",
    "kpi_progress",
    "list_plans",
    "list_templates",
    "new_kpi",
    "parse_templates",
    "plan_for_token",
    "plan_summary",
    "progress_by_account",
    "record_kpi_value",
    "refresh_kpis",
    "reopen_milestone",
    "revoke_links",
    "save_templates",
    "set_objective_status",
    "set_status",
    "share_token",
    "share_url",
    "summarize",
    "template_for",
]
