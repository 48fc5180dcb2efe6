"""Reads that may lag the primary by a moment go to a PostgreSQL read replica, when one is
configured (DATABASE_REPLICA_URL): the dashboard, data exports and admin searches, the heavy reads
of a large book. Everything else, and every write, stays on the primary.

Two ways in: `read_alias()` for a queryset that is iterated later (a streamed export), and
`reads_from_replica()` around a block that reads and returns (the dashboard), for the router.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

REPLICA = "replica"
_reading = ContextVar("reads_from_replica", default=False)


def replica_configured() -> bool:
    return getattr(settings, "READ_REPLICA", False) and REPLICA in settings.DATABASES


def read_alias() -> str:
    """The alias that lagging reads use: the replica when there is one."""
    return REPLICA if replica_configured() else DEFAULT_DB_ALIAS


@contextmanager
def reads_from_replica() -> Iterator[None]:
    """Route the block's reads to the replica. Not around a generator that outlives the block (a
    streamed response): use `read_alias()` on its queryset instead."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints) -> str | None:
        return REPLICA if _reading.get() and replica_configured() else None

    def db_for_write(self, model, **hints) -> str | None:
        return None  # always the primary

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        return True  # the same rows, wherever they were read

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool | None:
        return False if db == REPLICA else None  # a replica follows its primary's schema
