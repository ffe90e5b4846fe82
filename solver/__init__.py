"""plekwijzer matching solver: a pure library (no web framework, no database).

Public API::

    prepare_groups(groups) -> GroupTable
    rank(youth, table, weights=None, limit=10, road_km=None) -> Ranking
    explain(youth, group, weights=None, road_km=None) -> Explanation
    assign(instance, k=300, time_limit_s=10.0, require_all=False, candidates=None) -> Result
    first_come_first_served(instance, k=300) -> Result
    min_cost_flow_floor(instance, k=300) -> Result
    validate(instance, solution) -> ValidationReport
"""

from solver.assign import (
    Candidates,
    assign,
    build_candidates,
    first_come_first_served,
    min_cost_flow_floor,
)
from solver.rank import GroupTable, RankedOption, Ranking, prepare_groups, rank
from solver.schema import (
    CARE_FORM_MAX_INTENSITY,
    CARE_FORMS,
    INTENSITIES,
    Assignment,
    Group,
    Instance,
    Result,
    Unplaced,
    Weights,
    Youth,
)
from solver.scoring import RULE_NAMES, RULE_REASON, RULES, Explanation, RuleFailure, explain
from solver.validation import ValidationReport, validate

__all__ = [
    "CARE_FORMS",
    "CARE_FORM_MAX_INTENSITY",
    "INTENSITIES",
    "RULES",
    "RULE_NAMES",
    "RULE_REASON",
    "Assignment",
    "Candidates",
    "Explanation",
    "Group",
    "GroupTable",
    "Instance",
    "RankedOption",
    "Ranking",
    "Result",
    "RuleFailure",
    "Unplaced",
    "ValidationReport",
    "Weights",
    "Youth",
    "assign",
    "build_candidates",
    "explain",
    "first_come_first_served",
    "min_cost_flow_floor",
    "prepare_groups",
    "rank",
    "validate",
]
