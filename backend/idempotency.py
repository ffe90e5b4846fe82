"""Safe retries: a write sent again with the same ``Idempotency-Key`` returns the first answer.

The key is claimed (a row inserted) before the work is done, inside the same transaction. A
concurrent request with the same key then waits on the unique index until the first one
commits, fails to insert, and replays the stored answer: the change happens once. A key reused
with another body is refused with 422.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from backend.auth import Principal
from backend.availability.models import IdempotencyRecord
from backend.domain import utcnow
from backend.errors import RuleViolation

Outcome = tuple[int, Any, dict[str, str]]  # status code, JSON body, headers


def _fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> JSONResponse:
    if record.body_hash != fingerprint:
        raise RuleViolation(
            "Deze Idempotency-Key is al gebruikt voor een ander verzoek; "
            "gebruik een nieuwe sleutel voor een nieuwe wijziging.",
            code="idempotency_key_reused",
        )
    headers = dict(record.headers)
    headers["Idempotent-Replayed"] = "true"
    return JSONResponse(record.response.get("body"), status_code=record.status_code,
                        headers=headers)


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
    existing = session.exec(select(IdempotencyRecord).where(
        IdempotencyRecord.principal == owner, IdempotencyRecord.key == key)).first()
    if existing is not None:
        return _replay(existing, fingerprint)

    record = IdempotencyRecord(principal=owner, key=key, method=method, path=path,
                               body_hash=fingerprint, status_code=0, created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        # A concurrent request with the same key committed first: answer as it did.
        existing = session.exec(select(IdempotencyRecord).where(
            IdempotencyRecord.principal == owner, IdempotencyRecord.key == key)).one()
        return _replay(existing, fingerprint)

    status, content, headers = action()
    record.status_code = status
    record.response = {"body": content}
    record.headers = headers
    session.add(record)
    return JSONResponse(content, status_code=status, headers=headers)
