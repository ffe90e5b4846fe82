"""Imports every table so that ``SQLModel.metadata`` knows them all (Alembic, tests).

Each domain with tables adds one import line here.
"""

from backend.audit.models import AuditEntry, AuditSeal
from backend.availability.models import IdempotencyRecord
from backend.crisis.models import Hold
from backend.drafts.models import Draft
from backend.events.models import Event, EventCounter
from backend.indicators.models import IndicatorMonth, IndicatorVersion
from backend.intensity.models import IntensityReassessment
from backend.matching.models import MatchingRun, Proposal, Referral
from backend.notifications.models import (
    Notification,
    NotificationPreference,
    ProviderContact,
    UsedLink,
    WebhookEndpoint,
)
from backend.occupancy.models import OccupancyCensus, OccupancyEvent, OccupancyStay
from backend.placements.models import Placement
from backend.providers.models import Group, Location, Provider
from backend.regions.models import Municipality, Postcode, Region
from backend.register.models import ContractTerm, Tariff
from backend.reports.models import FinalisedPostCalculation
from backend.users.models import (
    ApiKey,
    AuthSession,
    LiveTicket,
    LoginThrottle,
    MfaChallenge,
    PasswordReset,
    RecoveryCode,
    RefreshToken,
    User,
)
from backend.whatif.models import WhatIfRun

__all__ = [
    "ApiKey",
    "AuditEntry",
    "AuditSeal",
    "AuthSession",
    "ContractTerm",
    "Draft",
    "Event",
    "EventCounter",
    "FinalisedPostCalculation",
    "Group",
    "Hold",
    "IdempotencyRecord",
    "IndicatorMonth",
    "IndicatorVersion",
    "IntensityReassessment",
    "LiveTicket",
    "Location",
    "LoginThrottle",
    "MatchingRun",
    "MfaChallenge",
    "Municipality",
    "Notification",
    "NotificationPreference",
    "OccupancyCensus",
    "OccupancyEvent",
    "OccupancyStay",
    "PasswordReset",
    "Placement",
    "Postcode",
    "Proposal",
    "Provider",
    "ProviderContact",
    "RecoveryCode",
    "Referral",
    "RefreshToken",
    "Region",
    "Tariff",
    "UsedLink",
    "User",
    "WebhookEndpoint",
    "WhatIfRun",
]
