"""Rate limits for what costs someone else an email or an account: password resets and sign-ups,
per address typed and per client. Counters live in the database (one row per key and window,
incremented atomically), so every web worker and process shares them.

| action | per email address | per client address |
|---|---|---|
| password reset | 3 an hour | 10 an hour |
| sign-up | 3 an hour | 10 an hour |
"""

import datetime as dt
import hashlib
import unicodedata

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from .domain import clock
from .models import RateLimit

WINDOW = dt.timedelta(hours=1)


def same_address(value: str) -> str:
    """An address as the account lookup compares it (Django's PasswordResetForm: NFKC, then
    case-folded), so every spelling that reaches one mailbox ("ſam", "ＳＡＭ", "Sam") counts as one."""
    return unicodedata.normalize("NFKC", value.strip()).casefold()


def _key(action: str, kind: str, value: str) -> str:
    # Hashed: the table holds no email addresses, and any input fits the column.
    digest = hashlib.sha256(same_address(value).encode()).hexdigest()[:32]
    return f"{action}:{kind}:{digest}"


def _window_start(now: dt.datetime) -> dt.datetime:
    seconds = int(WINDOW.total_seconds())
    return dt.datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=dt.UTC)


def hit(key: str, limit: int, now: dt.datetime | None = None) -> bool:
    """Count one attempt under `key`; False once more than `limit` fall in the current window."""
    start = _window_start(now or clock.wall_clock())
    with transaction.atomic():
        updated = RateLimit.objects.filter(key=key, window_start=start).update(count=F("count") + 1)
        if not updated:
            try:
                with transaction.atomic():
                    RateLimit.objects.create(key=key, window_start=start, count=1)
            except IntegrityError:  # another request created it first
                RateLimit.objects.filter(key=key, window_start=start).update(count=F("count") + 1)
        count = RateLimit.objects.filter(key=key, window_start=start).values_list("count", flat=True).get()
    return count <= limit


def allow(action: str, *, email: str, client: str) -> bool:
    """One attempt at `action` ("password_reset", "sign_up") for `email` from `client`: both
    counters move, and the attempt is allowed while neither is over its limit."""
    limits = settings.RATE_LIMITS[action]
    by_email = hit(_key(action, "email", email or "-"), limits["per_email"])
    by_client = hit(_key(action, "client", client or "-"), limits["per_client"])
    return by_email and by_client


def purge(now: dt.datetime | None = None) -> int:
    """Drop windows that ended (the hourly sweep calls this)."""
    deleted, _ = RateLimit.objects.filter(window_start__lt=_window_start(now or clock.wall_clock()) - WINDOW).delete()
    return deleted
