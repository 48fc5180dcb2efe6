"""What every model module shares: money and fraction fields, the business date, the audit
decorator of transitions, private file storage."""

import secrets
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.validators import MaxValueValidator, MinValueValidator
from django_fsm_log.decorators import fsm_log_by, fsm_log_description

from ..domain import clock

MONEY = {"max_digits": 14, "decimal_places": 2}
NOT_NEGATIVE = [MinValueValidator(Decimal("0"))]
FRACTION = {
    "max_digits": 5,
    "decimal_places": 4,
    "validators": [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
}


def today() -> date:
    """The business date (licensing/clock.py): the local date, or the day a sweep runs as of."""
    return clock.today()


def audited(func):
    """Let a transition take `by=` (who) and `description=` (why) for the transition log."""
    return fsm_log_by(fsm_log_description(func))


def transition_label(method) -> str:
    """The human label of a transition method (one label per method, whatever the source)."""
    meta = method._django_fsm
    return next(iter(meta.transitions.values())).custom.get("label", meta.field.name)


# The largest price or fee an offer may ask (CNY); an offer above it is a typing mistake.
MAX_PRICE = Decimal("10000000000.00")


def new_token() -> str:
    return secrets.token_urlsafe(32)


class PrivateStorage(FileSystemStorage):
    """Files under PRIVATE_MEDIA_ROOT, outside the web root, served only through views that check
    who asks. The setting is read on use, not frozen when the model is defined."""

    @property
    def base_location(self):
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self):
        return str(Path(self.base_location).resolve())


def private_storage():
    return PrivateStorage()
