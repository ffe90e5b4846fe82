"""What the app is made of, in one place: every router (in the order of the API document), the
periodic tasks and the demo loaders. Nothing registers itself by being imported; a new domain
adds its lines here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from backend.audit.chain import retention_task, seal_task
from backend.audit.routes import router as audit_router
from backend.availability.routes import router as availability_router
from backend.availability.service import refresh_feed_groups
from backend.crisis.demo import load_crisis_demo
from backend.crisis.routes import router as crisis_router
from backend.crisis.searchlog import write_counts as write_search_counts
from backend.crisis.service import expire_holds
from backend.drafts.routes import router as drafts_router
from backend.drafts.service import purge_expired as purge_expired_drafts
from backend.indicators.routes import router as indicators_router
from backend.indicators.service import keep_closed_months
from backend.intensity.routes import router as intensity_router
from backend.live.routes import router as live_router
from backend.matching.routes import router as matching_router
from backend.notifications.dispatcher import dispatch_task
from backend.notifications.routes import router as notifications_router
from backend.notifications.triggers import scan as notification_scan
from backend.occupancy import hooks as occupancy_hooks
from backend.occupancy.demo import load_occupancy_demo
from backend.occupancy.routes import router as occupancy_router
from backend.placements.demo import load_placement_history_demo
from backend.placements.routes import router as placements_router
from backend.placements.service import after_feed_batch
from backend.planning.routes import router as planning_router
from backend.proposals.routes import router as proposals_router
from backend.proposals.service import expire_proposals
from backend.providers.routes import router as providers_router
from backend.referrals.demo import load_referral_demo
from backend.referrals.routes import router as referrals_router
from backend.regions.routes import router as regions_router
from backend.register.routes import router as register_router
from backend.register.service import sync_current_terms
from backend.reports.routes import router as reports_router
from backend.tasks import PeriodicTask
from backend.users.account_routes import router as accounts_router
from backend.users.routes import router as users_router
from backend.users.throttle import purge_old_attempts
from backend.whatif.routes import router as whatif_router

# Mounted under /api/v1.
ROUTERS: list[APIRouter] = [
    users_router,
    accounts_router,
    regions_router,
    providers_router,
    register_router,
    availability_router,
    live_router,
    audit_router,
    crisis_router,
    occupancy_router,
    intensity_router,
    reports_router,
    planning_router,
    whatif_router,
    referrals_router,
    matching_router,
    proposals_router,
    placements_router,
    indicators_router,
    drafts_router,
    notifications_router,
]

# Run in the background by every API process (``Settings.run_periodic_tasks``).
PERIODIC_TASKS: list[PeriodicTask] = [
    # An active hold past its time frees its place again.
    PeriodicTask("crisis.expire_holds", 15.0, expire_holds),
    # Crisis searches are counted in memory (the search stays a read) and written here.
    PeriodicTask("crisis.write_search_counts", 2.0, write_search_counts, at_stop=True),
    # A proposal not answered in time frees its place for the next youth.
    PeriodicTask("expire_proposals", 60.0, expire_proposals),
    # A contract version whose first day has come moves its group's places and tariff.
    PeriodicTask("register.sync_current_terms", 3600.0, sync_current_terms),
    # Groups whose free places follow the occupancy feed are derived again from the stays (the
    # batches keep them current; this catches the turn of the day and stays loaded in bulk).
    PeriodicTask("availability.refresh_feed_groups", 3600.0, refresh_feed_groups),
    # Login counts whose window has passed, and spent second-factor challenges.
    PeriodicTask("users.purge_old_attempts", 600.0, purge_old_attempts),
    # Audit rows are chained after they commit, off the write path (backend/audit/chain.py).
    PeriodicTask("audit.seal", 10.0, seal_task),
    # Sealed audit rows older than PLEKWIJZER_AUDIT_RETENTION_DAYS go (0: none).
    PeriodicTask("audit.retention", 6 * 3600.0, retention_task),
    # Drafts of forms nobody came back to within a week.
    PeriodicTask("drafts.purge_expired", 3600.0, purge_expired_drafts),
    # E-mails and webhooks of the outbox (also ``plekwijzer notify-worker``; backend/notifications).
    # The task itself lasts about a second (woken by commits, polling every 0.25 s), so it is
    # started again almost at once.
    PeriodicTask("notifications.dispatch", 0.05, dispatch_task),
    # Situations that arise with time: a proposal about to expire, a stale figure, an arrival
    # that did not happen, a youth waiting long, a re-assessment without a decision.
    PeriodicTask("notifications.scan", 300.0, notification_scan),
    # The steering indicators' closed months read and kept ahead of the first dashboard: a minute
    # after the start, then every hour (a correction to an old month is read again in the next round).
    PeriodicTask("indicators.keep_closed_months", 3600.0, keep_closed_months, first_after=60.0),
]

# What follows a batch of the provider's own occupancy feed: a placement arrives or ends with
# its stay (occupancy cannot import placements, which builds on it).
OCCUPANCY_BATCH_HOOKS: list[Callable[..., Any]] = [after_feed_batch]
for _hook in OCCUPANCY_BATCH_HOOKS:
    occupancy_hooks.register(_hook)

# ``fn(*, session, rng, region)``, called in this order at the end of ``plekwijzer demo``.
DEMO_LOADERS: list[Callable[..., Any]] = [
    load_crisis_demo,
    load_occupancy_demo,
    load_referral_demo,
    load_placement_history_demo,
]
