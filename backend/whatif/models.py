"""What-if simulation runs (issue #17, point 3): a stored job with its status, progress and result.

A run replays a period of the region's referrals, arrivals and discharges through the matching
solver (``solver.replay``) twice per repetition: as it is (the baseline) and with one change (a
group closed, two groups merged, places added or removed, another matching policy). The result
holds figures in aggregate only: no youth reference is stored.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel

from backend.users.models import Role
from backend.validation import InputModel

# The region's contract manager is the viewer role ("contractmanager" in the app); the region
# administrator may start runs too, the coordinator reads them.
STARTERS = (Role.viewer, Role.admin)
READERS = (Role.viewer, Role.admin, Role.coordinator)

STATUSES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
CHANGES = ("none", "close", "merge", "places")
POLICIES = ("fcfs", "batch")


class WhatIfRun(SQLModel, table=True):
    __tablename__ = "whatif_runs"

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    # queued -> running -> done | failed | cancelled
    status: str = Field(default="queued", max_length=12)
    progress: float = 0.0
    cancel_requested: bool = False
    # The request as given (period, change, policies, repetitions).
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = Field(default=None, max_length=500)
    created_by: str = Field(max_length=120)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class WhatIfRunCreate(InputModel):
    """A period of the region's history and one change to replay it with."""

    region_id: int | None = None
    start: date
    end: date
    change: Literal["none", "close", "merge", "places"] = "none"
    # close / places: this group; merge: this group goes into ``other_group_id``.
    group_id: int | None = None
    other_group_id: int | None = None
    places_delta: int | None = Field(default=None, ge=-200, le=200)
    # How the change matches; the baseline uses ``baseline_policy`` (the region's practice).
    policy: Literal["fcfs", "batch"] = "fcfs"
    baseline_policy: Literal["fcfs", "batch"] = "fcfs"
    batch_every_days: int = Field(default=7, ge=1, le=90)
    repetitions: int = Field(default=10, ge=2, le=30)
