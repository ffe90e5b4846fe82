"""Region settings: one validated model over the JSON column ``regions.settings``, and the one
reader every part of the service uses (``region_settings``).

Rules (each refusal is a 422 with a Dutch sentence that names the field):

- numbers are numbers: ``"0,75"`` or ``"0.75"`` as text is refused, never converted; shares lie
  from 0 to 1 inclusive;
- the intensity table lists letters from A on, in order, without a skipped or repeated letter (at
  most up to S), each with its lower bound in net rostered hours per child per day: the first
  bound is 0 and the bounds ascend strictly (oplopend, zonder gaten of dubbelingen); the highest
  letter covers everything above its bound. A region may stop before S (the old Twente tables
  did); the default is the full A–S table of DOMAIN.md;
- ``hold_minutes``, ``proposal_expiry_hours`` and ``stale_after_hours`` may be left empty
  (``None``): the service-wide setting (``PLEKWIJZER_…``) applies, exactly as before these
  settings had a screen;
- decline reasons have stable codes (lowercase identifiers), because reports count declines by
  code. A code that exists stays: it can be retired (no longer offered to providers) but never
  removed or given to another reason. Its label may be changed, to correct spelling or wording;
  that is a decision of this module, taken because a fixed label would leave a typo in every
  provider's screen for good. Changing what a reason *means* is done by retiring it and adding a
  new code; every label change is in the audit log with the old and the new text;
- rules that need the database (a neighbour region exists and is not the region itself, a
  group belongs to the region, a decline code may not disappear) are checked by
  ``backend.regions.service.change_settings``.

Reading is backward compatible: stored JSON may be partial (missing keys take their defaults,
which are the defaults the readers used before), may carry keys this model does not know (they
are left alone, also when the settings are saved), and is read as leniently as the old readers
did (``"0.5"`` stored as text still reads as 0.5). Saving stores only the values that differ
from their defaults, so a region that never changed a default follows it when it changes.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from itertools import pairwise
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlmodel import Session

from backend.crisis.models import MAX_HOLD_MINUTES
from backend.domain import CARE_FORMS, DEFAULT_INTENSITY_BANDS, INTENSITY_LETTERS
from backend.errors import RuleViolation, dutch_field_error
from backend.proposals.models import DECLINE_REASONS
from backend.regions.models import Region
from backend.validation import refuse_bsn
from solver.schema import Weights

DEFAULT_AVAILABILITY_SHARE = 0.75
DEFAULT_MATCHING_TIME_LIMIT_S = 10.0
DEFAULT_FAMILY_HOME_MAX_CHILDREN = 6
MAX_EXPIRY_HOURS = 14 * 24
DECLINE_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
REGION_CODE = re.compile(r"^[A-Z0-9]{2,8}$")
_SOLVER = Weights()


# --- strict scalars ---------------------------------------------------------------------------
# Input from a client must be a JSON number (or boolean) already: text is refused, never parsed.
# Stored JSON is read with the context {"stored": True}, as leniently as the old readers were.


def _stored(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("stored"))


def _number(value: Any, info: ValidationInfo) -> Any:
    if _stored(info):
        return value
    if isinstance(value, str):
        raise PydanticCustomError(
            "number_type", "moet een getal zijn, geen tekst: schrijf het zonder aanhalingstekens en met een punt (0.75)"
        )
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("number_type", "moet een getal zijn")
    if not math.isfinite(value):
        raise PydanticCustomError("number_type", "moet een eindig getal zijn")
    return value


def _integer(value: Any, info: ValidationInfo) -> Any:
    if _stored(info):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError("integer_type", "moet een geheel getal zijn (zonder aanhalingstekens)")
    return value


def _boolean(value: Any, info: ValidationInfo) -> Any:
    if _stored(info):
        return value
    if not isinstance(value, bool):
        raise PydanticCustomError("boolean_type", "moet ja (true) of nee (false) zijn")
    return value


Share = Annotated[float, Field(ge=0, le=1), BeforeValidator(_number)]
Weight = Annotated[float, Field(ge=0, le=100), BeforeValidator(_number)]
Flag = Annotated[bool, BeforeValidator(_boolean)]


def _hours(text: float) -> str:
    return f"{text:g}".replace(".", ",")


# --- parts ------------------------------------------------------------------------------------


class MatchingWeights(BaseModel):
    """The solver's weights (``solver.schema.Weights``) with the solver's defaults; the
    profile-C limit is a setting of its own (``RegionSettings.profile_c_limit``)."""

    model_config = ConfigDict(extra="forbid")

    need: Weight = _SOLVER.need
    intensity: Weight = _SOLVER.intensity
    distance: Weight = _SOLVER.distance
    care_form_preference: Weight = _SOLVER.care_form_preference
    priority: Weight = _SOLVER.priority
    placement_bonus: Weight = _SOLVER.placement_bonus
    distance_scale_km: Annotated[float, Field(gt=0, le=1000), BeforeValidator(_number)] = _SOLVER.distance_scale_km
    intensity_step_penalty: Weight = _SOLVER.intensity_step_penalty
    waiting_days_full: Annotated[float, Field(gt=0, le=3650), BeforeValidator(_number)] = _SOLVER.waiting_days_full


class DeclineReason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=40)
    label: str = Field(max_length=200)
    retired: Flag = False

    @field_validator("code")
    @classmethod
    def _code_shape(cls, code: str) -> str:
        if not DECLINE_CODE.match(code):
            raise ValueError(
                "gebruik 2 tot 40 kleine letters, cijfers of _, te beginnen met een letter "
                "(bijvoorbeeld wachtlijst_vol)"
            )
        return code

    @field_validator("label")
    @classmethod
    def _label_text(cls, label: str) -> str:
        label = " ".join(label.split())
        if len(label) < 2:
            raise ValueError("vul een omschrijving in")
        if len(label) > 120:
            raise ValueError("is te lang (hoogstens 120 tekens)")
        return refuse_bsn(label)


def _default_bands() -> list[tuple[str, float]]:
    return [(letter, float(lower)) for letter, lower in DEFAULT_INTENSITY_BANDS]


def _default_reasons() -> list[DeclineReason]:
    return [DeclineReason(code=code, label=label) for code, label in DECLINE_REASONS.items()]


Band = tuple[Annotated[str, Field(max_length=1)], Annotated[float, Field(ge=0, le=100), BeforeValidator(_number)]]


# --- the settings -----------------------------------------------------------------------------


class RegionSettings(BaseModel):
    """Everything a region configures. Every field has a default; see the module docstring.
    Frozen: a region's parsed settings are shared between readers (see ``load_settings``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Post-calculation (nacalculatie) of availability funding.
    availability_share: Share = DEFAULT_AVAILABILITY_SHARE
    availability_share_by_care_form: dict[str, Share] = Field(default_factory=dict)
    availability_share_by_group: dict[str, Share] = Field(default_factory=dict)
    fund_not_admitting_nights: Flag = True
    # Stay intensity and family homes.
    intensity_bands: list[Band] = Field(default_factory=_default_bands)
    family_home_max_children: Annotated[int, Field(ge=1, le=12), BeforeValidator(_integer)] = (
        DEFAULT_FAMILY_HOME_MAX_CHILDREN
    )
    # Crisis.
    hold_minutes: Annotated[int, Field(ge=5, le=MAX_HOLD_MINUTES), BeforeValidator(_integer)] | None = None
    neighbours: list[Annotated[str, Field(max_length=12)]] = Field(default_factory=list, max_length=42)
    # Proposals and freshness.
    proposal_expiry_hours: Annotated[float, Field(gt=0, le=MAX_EXPIRY_HOURS), BeforeValidator(_number)] | None = None
    stale_after_hours: Annotated[float, Field(gt=0, le=MAX_EXPIRY_HOURS), BeforeValidator(_number)] | None = None
    # Shown on every proposal a provider receives: whom to call about it. None: no contact shown.
    coordinator_contact: Annotated[str, Field(max_length=200)] | None = None
    # Notifications (backend/notifications): a provider hears that an open proposal expires
    # within this many hours; that its figure is this old (before the screens call it stale);
    # coordinators hear of a youth waiting this many days without a proposal.
    proposal_expiring_hours: Annotated[float, Field(gt=0, le=MAX_EXPIRY_HOURS), BeforeValidator(_number)] = 4.0
    stale_notice_hours: Annotated[float, Field(gt=0, le=MAX_EXPIRY_HOURS), BeforeValidator(_number)] = 20.0
    waiting_notice_days: Annotated[float, Field(gt=0, le=365), BeforeValidator(_number)] = 14.0
    # Matching.
    matching_weights: MatchingWeights = Field(default_factory=MatchingWeights)
    profile_c_limit: Annotated[int, Field(ge=0, le=20), BeforeValidator(_integer)] = _SOLVER.profile_c_limit
    matching_time_limit_s: Annotated[float, Field(gt=0, le=120), BeforeValidator(_number)] = (
        DEFAULT_MATCHING_TIME_LIMIT_S
    )
    decline_reasons: list[DeclineReason] = Field(default_factory=_default_reasons, min_length=1, max_length=60)
    # Crisis capacity planner: the chance of finding no free crisis place the region accepts.
    crisis_loss_target: Annotated[float, Field(gt=0, lt=1), BeforeValidator(_number)] = 0.05
    # Data quality: a group is non-compliant after this many days running without an update of
    # its free places, or this many days without one in a calendar month (Colorado's rule).
    compliance_days_running: Annotated[int, Field(ge=1, le=31), BeforeValidator(_integer)] = 2
    compliance_days_per_month: Annotated[int, Field(ge=1, le=31), BeforeValidator(_integer)] = 5

    @field_validator("availability_share_by_care_form")
    @classmethod
    def _known_care_forms(cls, shares: dict[str, float]) -> dict[str, float]:
        unknown = sorted(code for code in shares if code not in CARE_FORMS)
        if unknown:
            raise ValueError(
                f"onbekende zorgvorm {', '.join(repr(c) for c in unknown)}; kies uit {', '.join(CARE_FORMS)}"
            )
        return shares

    @field_validator("availability_share_by_group")
    @classmethod
    def _group_numbers(cls, shares: dict[str, float]) -> dict[str, float]:
        wrong = sorted(key for key in shares if not key.isdigit() or len(key) > 12)
        if wrong:
            raise ValueError(f"{', '.join(repr(k) for k in wrong)} is geen groepsnummer")
        return {str(int(key)): share for key, share in shares.items()}

    @field_validator("coordinator_contact")
    @classmethod
    def _contact_text(cls, contact: str | None) -> str | None:
        contact = " ".join(contact.split()) if contact else None
        return refuse_bsn(contact) if contact else None

    @field_validator("intensity_bands")
    @classmethod
    def _bands_in_order(cls, bands: list[tuple[str, float]]) -> list[tuple[str, float]]:
        if not bands:
            raise ValueError("de tabel heeft minstens de letter A met ondergrens 0 nodig")
        if len(bands) > len(INTENSITY_LETTERS):
            raise ValueError(f"de tabel heeft hoogstens {len(INTENSITY_LETTERS)} letters (A tot en met S)")
        for position, ((letter, _lower), expected) in enumerate(zip(bands, INTENSITY_LETTERS, strict=False)):
            if letter != expected:
                after = f"na {INTENSITY_LETTERS[position - 1]} " if position else "eerst "
                raise ValueError(
                    f"de letters lopen oplopend vanaf A, zonder gaten of dubbele letters: {after}komt {expected}, "
                    f"niet '{letter}'"
                )
        if bands[0][1] != 0:
            raise ValueError(f"de ondergrens van A moet 0 zijn, niet {_hours(bands[0][1])}")
        for (low_letter, low), (high_letter, high) in pairwise(bands):
            if high <= low:
                raise ValueError(
                    f"de ondergrenzen moeten oplopend zijn, zonder gaten of dubbelingen: {high_letter} "
                    f"({_hours(high)}) ligt niet boven {low_letter} ({_hours(low)})"
                )
        return bands

    @field_validator("neighbours")
    @classmethod
    def _region_codes(cls, codes: list[str]) -> list[str]:
        cleaned = [code.strip().upper() for code in codes]
        wrong = [code for code in cleaned if not REGION_CODE.match(code)]
        if wrong:
            raise ValueError(f"{', '.join(repr(c) for c in wrong)} is geen regiocode (bijvoorbeeld JZ07)")
        twice = sorted({code for code in cleaned if cleaned.count(code) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} staat er meer dan eens in")
        return cleaned

    @field_validator("decline_reasons")
    @classmethod
    def _reasons(cls, reasons: list[DeclineReason]) -> list[DeclineReason]:
        codes = [reason.code for reason in reasons]
        twice = sorted({code for code in codes if codes.count(code) > 1})
        if twice:
            raise ValueError(f"de code {', '.join(twice)} komt meer dan eens voor")
        if all(reason.retired for reason in reasons):
            raise ValueError("houd minstens één reden die niet vervallen is, anders kan een aanbieder niet afwijzen")
        return reasons

    # --- what the readers need ---------------------------------------------------------------

    def bands(self) -> list[tuple[str, float]]:
        return [(letter, float(lower)) for letter, lower in self.intensity_bands]

    def share_for(self, *, group_id: int | None, care_form: str) -> float:
        """Availability share of a group: the group's own, else its care form's, else the default."""
        if group_id is not None and str(group_id) in self.availability_share_by_group:
            return float(self.availability_share_by_group[str(group_id)])
        if care_form in self.availability_share_by_care_form:
            return float(self.availability_share_by_care_form[care_form])
        return float(self.availability_share)

    def active_decline_reasons(self) -> dict[str, str]:
        """Code -> label of the reasons a provider may choose now."""
        return {reason.code: reason.label for reason in self.decline_reasons if not reason.retired}

    def decline_labels(self) -> dict[str, str]:
        """Code -> label of every reason, retired ones included (for declines made earlier)."""
        return {reason.code: reason.label for reason in self.decline_reasons}

    def stored(self) -> dict[str, Any]:
        """The JSON to store: only what differs from the defaults."""
        return self.model_dump(mode="json", exclude_defaults=True)


DEFAULT_SETTINGS = RegionSettings()
MANAGED_KEYS = frozenset(RegionSettings.model_fields)


# --- reading ----------------------------------------------------------------------------------


def _legacy(stored: dict[str, Any]) -> dict[str, Any]:
    """Known keys only, in today's shape. Older JSON could put ``profile_c_limit`` among the
    matching weights (the solver's Weights has it); the top-level key wins, as it did."""
    data = {key: value for key, value in stored.items() if key in MANAGED_KEYS}
    weights = data.get("matching_weights")
    if isinstance(weights, dict) and "profile_c_limit" in weights:
        weights = dict(weights)
        limit = weights.pop("profile_c_limit")
        data["matching_weights"] = weights
        data.setdefault("profile_c_limit", limit)
    return data


def _error_messages(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(part) for part in error["loc"]) or None, "message": dutch_field_error(dict(error))}
        for error in exc.errors()
    ]


def load_settings(stored: dict[str, Any] | None) -> tuple[RegionSettings, list[dict[str, Any]]]:
    """The settings in stored JSON, and the problems found: a setting that does not pass the
    rules is left at its default and reported (field and Dutch message), so that an admin can
    still open the settings screen and repair it.

    Parsed once per distinct JSON text and process (a crisis hold reads the hold minutes on
    every request: a lookup instead of a validation of some 40 values)."""
    text = json.dumps(stored or {}, sort_keys=True, separators=(",", ":"), default=str)
    settings, problems = _load(text)
    return settings, [dict(problem) for problem in problems]


@lru_cache(maxsize=512)
def _load(text: str) -> tuple[RegionSettings, tuple[dict[str, Any], ...]]:
    data = _legacy(json.loads(text))
    try:
        return RegionSettings.model_validate(data, context={"stored": True}), ()
    except ValidationError as exc:
        problems = tuple(_error_messages(exc))
        broken = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
    clean = {key: value for key, value in data.items() if key not in broken}
    return RegionSettings.model_validate(clean, context={"stored": True}), problems


_STALE_HOURS = "plekwijzer.region_stale_after_hours"


def region_stale_hours(session: Session, region_id: int | None, default: float) -> float:
    """How old a group's report may be before the screens call it stale: its region's own
    ``stale_after_hours``, else the service-wide ``default`` (``PLEKWIJZER_STALE_AFTER_HOURS``).

    List screens ask this for every group, so the regions are read once per session (one small
    query) and kept in ``session.info``; ``forget_stale_hours`` drops that when a region's
    settings change. A stored value that breaks the rules counts as not set, as on the settings
    screen: a staleness flag is no reason to refuse a list of places."""
    hours: dict[int, float] | None = session.info.get(_STALE_HOURS)
    if hours is None:
        hours = {}
        for rid, stored in session.connection().execute(select(Region.id, Region.settings)):  # type: ignore[call-overload]
            own = load_settings(stored)[0].stale_after_hours
            if own:
                hours[rid] = own
        session.info[_STALE_HOURS] = hours
    return hours.get(region_id, default) if region_id is not None else default


def forget_stale_hours(session: Session) -> None:
    session.info.pop(_STALE_HOURS, None)


def region_settings(region: Region | None) -> RegionSettings:
    """The settings of a region, defaults filled in (the defaults for no region at all).

    Settings that break the rules (written to the database by hand) are refused in Dutch rather
    than guessed at: 422 ``region_settings_invalid``, naming the setting."""
    if region is None:
        return DEFAULT_SETTINGS
    settings, problems = load_settings(region.settings)
    if problems:
        raise RuleViolation(
            f"De instellingen van regio {region.code} zijn ongeldig: "
            + "; ".join(problem["message"] for problem in problems)
            + ". Een beheerder kan ze herstellen onder Regio-instellingen.",
            code="region_settings_invalid",
        )
    return settings


# --- what the API answers ---------------------------------------------------------------------


class SettingDoc(BaseModel):
    label: str
    help: str


class RegionRef(BaseModel):
    code: str
    name: str


class ServiceDefaults(BaseModel):
    """The service-wide values that apply where a region leaves a setting empty."""

    hold_minutes: int
    proposal_expiry_hours: float
    stale_after_hours: float


class SettingProblem(BaseModel):
    field: str | None
    message: str


class RegionSettingsView(BaseModel):
    """A region's settings with every default filled in, and what the settings screen needs to
    explain them: a label and help text per setting (Dutch), the service-wide defaults, and any
    stored value that breaks the rules (left at its default here, until an admin saves)."""

    region: RegionRef
    settings: RegionSettings
    service_defaults: ServiceDefaults
    fields: dict[str, SettingDoc]
    weights: dict[str, SettingDoc]
    problems: list[SettingProblem]
    version: str
