"""Periodic work each API process runs in the background (expiring holds and proposals, ...).

The tasks are listed in ``backend/registry.py`` (``PERIODIC_TASKS``); each function gets the
app's ``Database`` and runs in a worker thread. It must be safe to run in several processes at once
(lock the rows it changes, e.g. ``with_for_update(skip_locked=True)``), because every API
replica runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from backend.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    seconds: float
    run: Callable[[Database], object]
    # The first round this long after the start (default: after ``seconds``), for work that
    # should not wait a whole interval after a deploy.
    first_after: float | None = None


async def _loop(task: PeriodicTask, db: Database) -> None:
    failures = 0
    wait = task.seconds if task.first_after is None else task.first_after
    while True:
        await asyncio.sleep(wait)
        wait = task.seconds
        try:
            await asyncio.to_thread(task.run, db)
        except Exception as exc:  # a failed round (database away) is retried at the next interval
            # The traceback once per outage, then one line a minute: a task that runs every
            # quarter second would otherwise flood the log while the database is away.
            if failures == 0:
                log.warning("periodic task %s failed", task.name, exc_info=True)
            elif failures % max(1, round(60 / task.seconds)) == 0:
                log.warning("periodic task %s still failing (%d rounds): %s", task.name, failures + 1, exc)
            failures += 1
        else:
            if failures:
                log.warning("periodic task %s works again after %d failed rounds", task.name, failures)
            failures = 0


def start_periodic_tasks(db: Database, tasks: list[PeriodicTask]) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(_loop(task, db), name=task.name) for task in tasks]


async def stop_periodic_tasks(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
