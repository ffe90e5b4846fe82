"""Safe retries: a write sent again with the same ``Idempotency-Key`` returns the first answer.

Every create (holds, referrals, proposals, matching runs, occupancy batches) takes the one
dependency ``IdempotencyDep`` and hands its work to ``respond`` (inside the request's
transaction) or ``respond_job`` (a create that runs as a job of several transactions); the
availability report does the same in its own hot path.

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
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from backend.auth import CurrentPrincipal
from backend.availability.models import IdempotencyRecord
from backend.db import Database
from backend.domain import utcnow
from backend.errors import Conflict, RuleViolation

_RECORDS = IdempotencyRecord.__table__  # type: ignore[attr-defined]
_r = _RECORDS.c


# The statements are built once (bind parameters, not values), so a request only fills them
# in. ("b_": SQLAlchemy reserves the column names for its own parameters.)
def _claim(insert: Any) -> Any:
    return (
        insert(_RECORDS)
        .values(
            principal=bindparam("b_principal"),
            key=bindparam("b_key"),
            method=bindparam("b_method"),
            path=bindparam("b_path"),
            body_hash=bindparam("b_body_hash"),
            status_code=0,
            response={},
            headers={},
            created_at=bindparam("b_created_at"),
        )
        .on_conflict_do_nothing(index_elements=["principal", "key"])
        .returning(_r.id)
    )


_CLAIM_PG = _claim(pg_insert)
_CLAIM_SQLITE = _claim(sqlite_insert)
_STORED = select(_r.body_hash, _r.status_code, _r.response, _r.headers).where(
    _r.principal == bindparam("b_principal"), _r.key == bindparam("b_key")
)
_ANSWER = (
    _RECORDS.update()
    .where(_r.id == bindparam("b_id"))
    .values(status_code=bindparam("b_status_code"), response=bindparam("b_response"), headers=bindparam("b_headers"))
)


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Answer:
    """The stored answer to an earlier request with the same key."""

    status_code: int
    body: Any
    headers: dict[str, str]

    @classmethod
    def check(
        cls, stored_hash: str, status_code: int, response: dict[str, Any], headers: dict[str, Any], body_hash: str
    ) -> Answer:
        """The stored answer, if the retry carries the same body (422 otherwise)."""
        if stored_hash != body_hash:
            raise RuleViolation(
                "Deze Idempotency-Key is al gebruikt voor een ander verzoek; "
                "gebruik een nieuwe sleutel voor een nieuwe wijziging.",
                code="idempotency_key_reused",
            )
        return cls(status_code, response.get("body"), dict(headers))

    def response(self) -> JSONResponse:
        """The first answer again, marked as a replay."""
        return JSONResponse(
            self.body, status_code=self.status_code, headers={**self.headers, "Idempotent-Replayed": "true"}
        )


def check_key(key: str) -> None:
    if not 1 <= len(key) <= 200:
        raise RuleViolation("Idempotency-Key moet 1 tot 200 tekens lang zijn.", code="idempotency_key_invalid")


def replay(conn: Any, *, owner: str, key: str, body_hash: str) -> Answer:
    """The stored answer to an earlier request with this key (422 if its body differed)."""
    row = conn.execute(_STORED, {"b_principal": owner, "b_key": key}).one()
    return Answer.check(row.body_hash, row.status_code, row.response, row.headers, body_hash)


def claim_key(conn: Any, *, owner: str, key: str, method: str, path: str, body_hash: str) -> int | Answer:
    """Claim the key for this request (its record's id), or the answer given to it before.

    A concurrent request with the same key waits on the unique index until the first one
    commits, then finds the key taken and gets that request's answer."""
    claimed = conn.execute(
        _CLAIM_PG if conn.dialect.name == "postgresql" else _CLAIM_SQLITE,
        {
            "b_principal": owner,
            "b_key": key,
            "b_method": method,
            "b_path": path,
            "b_body_hash": body_hash,
            "b_created_at": utcnow(),
        },
    ).scalar()
    return replay(conn, owner=owner, key=key, body_hash=body_hash) if claimed is None else int(claimed)


def record_answer(conn: Any, *, claim_id: int, status: int, body: Any, headers: dict[str, str]) -> None:
    conn.execute(
        _ANSWER, {"b_id": claim_id, "b_status_code": status, "b_response": {"body": body}, "b_headers": headers}
    )


# Headers of an answer that are not stored: the replay computes its own.
_NOT_STORED = frozenset({"content-length", "content-type"})


def _stored_headers(response: Response) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name.lower() not in _NOT_STORED}


@dataclass(frozen=True)
class IdempotentCreate:
    """A create request and its ``Idempotency-Key`` (None: no key sent, nothing stored)."""

    key: str | None
    owner: str
    method: str
    path: str

    def _claim(self, conn: Any, body: Any) -> int | Answer:
        assert self.key is not None
        body_hash = fingerprint(self.method, self.path, body)
        return claim_key(conn, owner=self.owner, key=self.key, method=self.method, path=self.path, body_hash=body_hash)

    def respond(self, session: Session, body: Any, create: Callable[[], Response]) -> Response:
        """Do ``create`` once per key, in the request's transaction: the key is claimed first
        (a concurrent request with the same key waits on the unique index until this one
        commits, then replays its answer), and the answer is stored beside the object. A
        refused request rolls back with its claim, so a retry tries again. Call it after any
        job of its own (lazy expiry): the claim begins the request's write transaction."""
        if self.key is None:
            return create()
        conn = session.connection()
        claimed = self._claim(conn, body)
        if isinstance(claimed, Answer):
            return claimed.response()
        response = create()
        record_answer(
            conn,
            claim_id=claimed,
            status=response.status_code,
            body=json.loads(bytes(response.body)),
            headers=_stored_headers(response),
        )
        return response

    def respond_job(self, db: Database, body: Any, create: Callable[[], Response]) -> Response:
        """``respond`` for a create that runs as a job of several transactions (a matching run):
        the claim is committed first, so a concurrent retry waits only for that and then hears
        that the first request is still busy (409); the answer is stored when the job is done.
        A job that fails gives its key back, so a retry starts it again."""
        if self.key is None:
            return create()
        with db.transaction() as session:
            claimed = self._claim(session.connection(), body)
        if isinstance(claimed, Answer):
            if claimed.status_code == 0:
                raise Conflict(
                    "Een eerder verzoek met deze Idempotency-Key wordt nog uitgevoerd; "
                    "probeer het over een ogenblik opnieuw met dezelfde sleutel.",
                    code="idempotency_in_progress",
                )
            return claimed.response()
        try:
            response = create()
        except BaseException:
            with db.transaction() as session:
                session.connection().execute(delete(_RECORDS).where(_r.id == claimed))
            raise
        with db.transaction() as session:
            record_answer(
                session.connection(),
                claim_id=claimed,
                status=response.status_code,
                body=json.loads(bytes(response.body)),
                headers=_stored_headers(response),
            )
        return response


async def idempotent_create(
    request: Request,
    principal: CurrentPrincipal,
    idempotency_key: Annotated[
        str | None,
        Header(
            description="Maakt een herhaald verzoek veilig: met dezelfde sleutel en inhoud "
            "komt het eerste antwoord terug."
        ),
    ] = None,
) -> IdempotentCreate:
    # Async: it only reads headers, so it costs no thread-pool hop.
    if idempotency_key is not None:
        check_key(idempotency_key)
    return IdempotentCreate(
        key=idempotency_key, owner=principal.label, method=request.method, path=request.scope["path"]
    )


IdempotencyDep = Annotated[IdempotentCreate, Depends(idempotent_create)]
