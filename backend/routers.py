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
