"""Safe retries: a write sent again with the same ``Idempotency-Key`` returns the first answer.

The key is claimed (a row inserted) before the work is done, inside the same transaction. A
concurrent request with the same key then waits on the unique index until the first one
commits, finds the key taken, and replays the stored answer: the change happens once. A key
reused with another body is refused with 422.

The claim is ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` (PostgreSQL and SQLite both
have it): a taken key returns no row instead of raising, so no savepoint is needed to survive
the failed insert, and the common case (a new key) costs one statement instead of a look-up,
a savepoint and an insert.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from backend.auth import Principal
from backend.availability.models import IdempotencyRecord
from backend.domain import utcnow
from backend.errors import RuleViolation

Outcome = tuple[int, Any, dict[str, str]]  # status code, JSON body, headers

_RECORDS = IdempotencyRecord.__table__  # type: ignore[attr-defined]


def _fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(body_hash: str, status_code: int, response: dict[str, Any],
            stored_headers: dict[str, Any], fingerprint: str) -> JSONResponse:
    if body_hash != fingerprint:
        raise RuleViolation(
            "Deze Idempotency-Key is al gebruikt voor een ander verzoek; "
            "gebruik een nieuwe sleutel voor een nieuwe wijziging.",
            code="idempotency_key_reused",
        )
    headers = dict(stored_headers)
    headers["Idempotent-Replayed"] = "true"
    return JSONResponse(response.get("body"), status_code=status_code, headers=headers)


def run_idempotent(
    *,
    session: Session,
    principal: Principal,
    key: str | None,
    method: str,
    path: str,
    body: Any,
    action: Callable[[], Outcome],
) -> JSONResponse:
    if key is None:
        status, content, headers = action()
        return JSONResponse(content, status_code=status, headers=headers)
    if not 1 <= len(key) <= 200:
        raise RuleViolation("Idempotency-Key moet 1 tot 200 tekens lang zijn.",
                            code="idempotency_key_invalid")
    fingerprint = _fingerprint(method, path, body)
    owner = principal.label
    conn = session.connection()
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    claimed = conn.execute(
        insert(_RECORDS)
        .values(principal=owner, key=key, method=method, path=path, body_hash=fingerprint,
                status_code=0, response={}, headers={}, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["principal", "key"])
        .returning(_RECORDS.c.id)
    ).scalar()
    if claimed is None:
        # The key was used before, or a concurrent request with it committed first (the
        # insert waited for it): answer as that request did.
        row = conn.execute(
            select(_RECORDS.c.body_hash, _RECORDS.c.status_code, _RECORDS.c.response,
                   _RECORDS.c.headers)
            .where(_RECORDS.c.principal == owner, _RECORDS.c.key == key)
        ).one()
        return _replay(row.body_hash, row.status_code, row.response, row.headers, fingerprint)

    status, content, headers = action()
    conn.execute(_RECORDS.update().where(_RECORDS.c.id == claimed).values(
        status_code=status, response={"body": content}, headers=headers))
    return JSONResponse(content, status_code=status, headers=headers)
