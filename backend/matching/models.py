"""Batch matching runs: their inputs (snapshot), the solver's result and what was sent out.

This module also re-exports the referral and proposal tables, so that ``backend/tables.py`` can
register the whole matching domain with one import line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime
from sqlmodel import Field, SQLModel

from backend.proposals.models import Proposal
from backend.referrals.models import Referral
from backend.validation import InputModel

__all__ = ["MatchingRun", "MatchingRunCreate", "Proposal", "Referral", "ReviewPair", "SendProposals"]


class MatchingRun(SQLModel, table=True):
    __tablename__ = "matching_runs"

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    # running -> done | failed; a UI may poll GET /matching/runs/{id} while it runs.
    status: str = Field(default="running", max_length=12)
    solver_status: str | None = Field(default=None, max_length=24)
    created_by: str = Field(max_length=120)
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    time_limit_s: float
    referral_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    input_snapshot: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    objective: float | None = None
    optimal: bool = False
    bound: float | None = None
    solve_seconds: float | None = None
    assignments: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    unplaced: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    validation: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = Field(default=None, max_length=500)
    proposals_sent_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    proposals_report: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ReviewPair(InputModel):
    """One youth-group pair of a coordinator's review of a run."""

    referral_id: int
    group_id: int


class MatchingRunCreate(InputModel):
    region_id: int | None = None
    # A chosen subset of waiting referrals; by default every waiting referral of the region.
    referral_ids: list[int] | None = Field(default=None, min_length=1, max_length=5000)
    time_limit_s: float | None = Field(default=None, gt=0, le=120)
    # Send the assignments out as placement proposals right away.
    send_proposals: bool = False
    # A coordinator's review of an earlier result, solved again: each pinned youth goes to its
    # group (or the run says it cannot), a forbidden pair is never used.
    pins: list[ReviewPair] = Field(default_factory=list, max_length=500)
    forbids: list[ReviewPair] = Field(default_factory=list, max_length=2000)


class SendProposals(InputModel):
    """Which of the run's assignments to send (by youth); all of them when left out."""

    referral_ids: list[int] | None = Field(default=None, min_length=1, max_length=5000)
