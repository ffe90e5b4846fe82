"""Objects owned by provider A, per path parameter name, for the object-level checks.

A domain's route with a new kind of id gets a factory here; a parameter without one is still
probed (with an id that does not exist: the answer must be a clean 404, never a 500).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MISSING_ID = 987_654

Factory = Callable[[Any, Any, Any], Any]  # (client, world, db) -> id owned by provider A


def _group(client: Any, world: Any, db: Any) -> int:
    return int(world.groups_a[0])


def _provider(client: Any, world: Any, db: Any) -> int:
    return int(world.provider_a)


FACTORIES: dict[str, Factory] = {
    "group_id": _group,
    "provider_id": _provider,
}


def owned_by_a(params: list[str], client: Any, world: Any, db: Any) -> tuple[dict[str, Any], bool]:
    """Values for the path parameters, and whether all of them are real objects of provider A."""
    values: dict[str, Any] = {}
    all_known = True
    for name in params:
        factory = FACTORIES.get(name)
        if factory is None:
            values[name] = MISSING_ID
            all_known = False
        else:
            values[name] = factory(client, world, db)
    return values, all_known
