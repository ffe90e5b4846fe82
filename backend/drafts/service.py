"""Keeping, reading and discarding a person's drafts; youth-data drafts are audited."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from backend.audit import service as audit
from backend.audit.purposes import Purpose
from backend.auth import Principal
from backend.db import Database
from backend.domain import as_utc, utcnow
from backend.drafts.models import (
    FORM_KEY,
    FORMS,
    KEEP_DAYS,
    MAX_BYTES,
    MAX_PER_PERSON,
    REFERRAL_FORMS,
    Draft,
    DraftPublic,
)
from backend.errors import Forbidden, NotFound, RuleViolation
from backend.validation import BSN_MESSAGE, looks_like_bsn


def _form(form_key: str) -> tuple[str, bool, int | None]:
    """(form name, holds youth data, object id) of a key from the fixed list."""
    match = FORM_KEY.match(form_key)
    if match is None or match.group("form") not in FORMS:
        raise RuleViolation("Voor dit formulier kan geen concept worden bewaard.", code="draft_form_unknown")
    name = match.group("form")
    obj = match.group("object")
    return name, FORMS[name][1], int(obj) if obj else None


def _person(principal: Principal) -> int:
    # A provider system (API key) has no forms to finish.
    if principal.kind != "user":
        raise Forbidden("Concepten zijn er alleen voor ingelogde gebruikers.", code="draft_person_only")
    return principal.id


def _texts(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [t for k, v in node.items() for t in (*_texts(k), *_texts(v))]
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    return []


def _audit(session: Session, principal: Principal, draft: Draft, action: str) -> None:
    name, youth, obj = _form(draft.form_key)
    if not youth:
        return
    audit.record(
        session=session,
        actor=principal,
        action=action,
        object_type="draft",
        object_id=draft.id or 0,
        purpose=Purpose.draft,
        detail={"form_key": draft.form_key},
        youth=audit.referrals([obj]) if name in REFERRAL_FORMS else (),
        region_id=principal.region_id,
    )


def to_public(draft: Draft) -> DraftPublic:
    return DraftPublic(
        form_key=draft.form_key,
        form_label=FORMS[_form(draft.form_key)[0]][0],
        data=draft.data,
        updated_at=as_utc(draft.updated_at),  # type: ignore[arg-type]
        expires_at=as_utc(draft.expires_at),  # type: ignore[arg-type]
        version=draft.version,
    )


def _find(session: Session, user_id: int, form_key: str, *, for_update: bool = False) -> Draft | None:
    query = select(Draft).where(Draft.user_id == user_id, Draft.form_key == form_key)
    if for_update:
        query = query.with_for_update()
    return session.exec(query).first()


def read_draft(*, session: Session, principal: Principal, form_key: str) -> Draft:
    _form(form_key)
    draft = _find(session, _person(principal), form_key)
    if draft is None or as_utc(draft.expires_at) <= utcnow():  # type: ignore[operator]
        raise NotFound("Er is geen concept van dit formulier bewaard.", code="draft_not_found")
    _audit(session, principal, draft, "draft.read")
    return draft


def save_draft(*, session: Session, principal: Principal, form_key: str, data: dict[str, Any]) -> Draft:
    _form(form_key)
    user_id = _person(principal)
    encoded = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    size = len(encoded.encode("utf-8"))
    if size > MAX_BYTES:
        raise RuleViolation(
            f"Het concept is te groot om te bewaren ({size} bytes, hoogstens {MAX_BYTES}).", code="draft_too_large"
        )
    if any(looks_like_bsn(text) for text in _texts(data)):
        raise RuleViolation(f"Het concept {BSN_MESSAGE}.", code="bsn_refused")
    now = utcnow()
    expires = now + timedelta(days=KEEP_DAYS)
    draft = _find(session, user_id, form_key, for_update=True)
    if draft is None:
        _make_room(session, user_id)
        draft = Draft(
            user_id=user_id, form_key=form_key, data=data, size=size, created_at=now, updated_at=now, expires_at=expires
        )
        try:
            # Two devices saving the first draft of a form at once: the later one updates it.
            with session.begin_nested():
                session.add(draft)
                session.flush()
        except IntegrityError:
            draft = _find(session, user_id, form_key, for_update=True)
            assert draft is not None
            _update(session, draft, data=data, size=size, now=now, expires=expires)
    else:
        _update(session, draft, data=data, size=size, now=now, expires=expires)
    _audit(session, principal, draft, "draft.save")
    return draft


def _update(session: Session, draft: Draft, *, data: dict[str, Any], size: int, now: Any, expires: Any) -> None:
    draft.data = data
    draft.size = size
    draft.updated_at = now
    draft.expires_at = expires
    draft.version += 1
    session.add(draft)
    session.flush()


def _make_room(session: Session, user_id: int) -> None:
    """Expired drafts go; beyond the limit the least recently saved one gives way."""
    rows = session.exec(select(Draft).where(Draft.user_id == user_id).order_by(col(Draft.updated_at).desc())).all()
    now = utcnow()
    for index, row in enumerate(rows):
        if index >= MAX_PER_PERSON - 1 or as_utc(row.expires_at) <= now:  # type: ignore[operator]
            session.delete(row)
    session.flush()


def discard_draft(*, session: Session, principal: Principal, form_key: str) -> None:
    """The form was sent or given up: its draft goes (no draft is no error)."""
    _form(form_key)
    draft = _find(session, _person(principal), form_key, for_update=True)
    if draft is None:
        return
    _audit(session, principal, draft, "draft.discard")
    session.delete(draft)
    session.flush()


def purge_expired(db: Database) -> None:
    """Periodic: drafts nobody saved for ``KEEP_DAYS`` days are deleted."""
    table = Draft.__table__  # type: ignore[attr-defined]
    with db.transaction() as session:
        session.execute(table.delete().where(table.c.expires_at < utcnow()))
