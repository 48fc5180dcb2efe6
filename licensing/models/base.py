"""What every model module shares: money and fraction fields, the business date, the refusal
reasons of transitions, private file storage."""

import secrets
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class Digits(TypedDict):
    max_digits: int
    decimal_places: int


class Fraction(Digits):
    validators: list[MinValueValidator | MaxValueValidator]
    help_text: Any


MONEY: Digits = {"max_digits": 14, "decimal_places": 2}
NOT_NEGATIVE = [MinValueValidator(Decimal("0"))]
FRACTION: Fraction = {
    "max_digits": 5,
    "decimal_places": 4,
    "validators": [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    # Typed as a fraction, shown everywhere else as a percentage.
    "help_text": gettext_lazy("A fraction between 0 and 1: 0.8 means 80%."),
}


def is_fraction(field: Any) -> bool:
    """A share or ratio, stored as 0.8 and read as 80%: a decimal field with one digit before the
    point (those declared with FRACTION, and an equity conversion's stake, kept to 6 places)."""
    return isinstance(field, models.DecimalField) and field.max_digits - field.decimal_places == 1


def is_money(field: Any) -> bool:
    """A field declared with MONEY: an amount in CNY, read as 1,200,000.00."""
    return isinstance(field, models.DecimalField) and field.decimal_places == MONEY["decimal_places"]


def refuses_with(message: Any) -> Callable[[Callable[[Any], bool]], Callable[[Any], bool]]:
    """Give a transition condition the reason a refusal states when it does not hold: a text, or a
    function of the object that words one. The services' runner reports it (`why_not`), so no
    service re-checks a condition to word an error."""

    def attach(condition: Callable[[Any], bool]) -> Callable[[Any], bool]:
        condition.refusal = message  # type: ignore[attr-defined]  # read back by why_not
        return condition

    return attach


def allows(obj: models.Model, method_name: str) -> bool:
    """The object's state allows the transition (its conditions aside: the service explains those)."""
    meta = getattr(obj, method_name)._django_fsm
    return meta.has_transition(getattr(obj, meta.field.name))


def why_not(obj: models.Model, method_name: str) -> str | None:
    """Why the transition `method_name` cannot run on `obj` now, in the reader's language: its state,
    or the first of its conditions that does not hold; None when it can run."""
    method = getattr(obj, method_name)
    meta = method._django_fsm
    state = getattr(obj, meta.field.name)
    if not meta.has_transition(state):
        return _("“%(action)s” is not possible while %(object)s is “%(state)s”.") % {
            "action": transition_label(method),
            "object": obj,
            "state": getattr(obj, f"get_{meta.field.name}_display")(),
        }
    for condition in meta.get_transition(state).conditions:
        if not condition(obj):
            refusal = getattr(condition, "refusal", None)
            if refusal is None:
                return _("“%(action)s” is not possible now.") % {"action": transition_label(method)}
            return refusal(obj) if callable(refusal) else str(refusal)
    return None


def transition_label(method: Callable[..., Any]) -> str:
    """The human label of a transition method (one label per method, whatever the source)."""
    meta = method._django_fsm  # type: ignore[attr-defined]  # set by @transition
    return next(iter(meta.transitions.values())).custom.get("label", meta.field.name)


# The largest price or fee an offer may ask (CNY); an offer above it is a typing mistake.
MAX_PRICE = Decimal("10000000000.00")


def new_token() -> str:
    return secrets.token_urlsafe(32)


class PrivateStorage(FileSystemStorage):
    """Files under PRIVATE_MEDIA_ROOT, outside the web root, served only through views that check
    who asks. The setting is read on use, not frozen when the model is defined."""

    @property
    def base_location(self) -> str:
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self) -> str:
        return str(Path(self.base_location).resolve())


def private_storage() -> PrivateStorage:
    return PrivateStorage()
