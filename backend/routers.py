"""The registry of domains built on the foundation (matching, crisis, occupancy, reports).

A domain adds one import and appends to these lists, so that adding a domain touches only this
file and its own folder:
- ``EXTRA_ROUTERS``: its APIRouter, mounted under /api/v1;
- ``DEMO_LOADERS``: ``fn(*, session, rng, region)`` called at the end of ``plekwijzer demo``;
- periodic work goes to ``backend.tasks.PERIODIC_TASKS`` (append it in the domain's routes.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

EXTRA_ROUTERS: list[APIRouter] = []
DEMO_LOADERS: list[Callable[..., Any]] = []

from backend.crisis.demo import load_crisis_demo  # noqa: E402
from backend.crisis.routes import router as crisis_router  # noqa: E402

EXTRA_ROUTERS.append(crisis_router)
DEMO_LOADERS.append(load_crisis_demo)

from backend.intensity.routes import router as intensity_router  # noqa: E402
from backend.occupancy.demo import load_occupancy_demo  # noqa: E402
from backend.occupancy.routes import router as occupancy_router  # noqa: E402
from backend.reports.routes import router as reports_router  # noqa: E402

EXTRA_ROUTERS.extend([occupancy_router, intensity_router, reports_router])
DEMO_LOADERS.append(load_occupancy_demo)

from backend.matching.routes import router as matching_router  # noqa: E402
from backend.proposals.routes import router as proposals_router  # noqa: E402
from backend.referrals.demo import load_referral_demo  # noqa: E402
from backend.referrals.routes import router as referrals_router  # noqa: E402

EXTRA_ROUTERS.extend([referrals_router, matching_router, proposals_router])
DEMO_LOADERS.append(load_referral_demo)
