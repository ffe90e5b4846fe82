"""Sessions ended while their access tokens may still be in use, per app (one per API process).

An access token is a signed JWT, checked without the database, that lives at most
``access_token_minutes`` (15). A session that ends (logout, deactivation, role change, password
reset, reuse of a refresh token) must be refused at once, not when its token runs out, so every
API process keeps the ids of the sessions ended within that lifetime here: loaded from the
database when the live hub starts (a restarted process refuses them too), then kept current from
the ``auth.sessions_ended`` events that the hub applies (within a second in every process:
LISTEN/NOTIFY plus the poll of the events table). Older entries are forgotten: any token of such a
session has expired anyway. Imports nothing of the backend, so that ``db`` can hold one.
"""

from __future__ import annotations

import time
from collections.abc import Iterable


class Revocations:
    def __init__(self, keep_seconds: float) -> None:
        self.keep_seconds = keep_seconds
        self._ended: dict[int, float] = {}

    def end_sessions(self, session_ids: Iterable[int]) -> None:
        now = time.monotonic()
        for session_id in session_ids:
            self._ended[int(session_id)] = now
        if len(self._ended) > 1000:
            self._ended = {sid: at for sid, at in self._ended.items() if now - at < self.keep_seconds}

    def is_ended(self, session_id: int | None) -> bool:
        return session_id is not None and session_id in self._ended
