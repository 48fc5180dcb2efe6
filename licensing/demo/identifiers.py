"""Valid Chinese identifiers, and application dates, for demo books and tests."""

from stdnum.cn import uscc

from ..domain.identifiers import patent_check_digit


def make_uscc(serial: int, division: str = "110108") -> str:
    """A Unified Social Credit Code with correct check characters (enterprise, given division)."""
    body = f"91{division}{serial:09d}"[:17]
    return body + uscc.calc_check_digit(body)


def make_patent_number(year: int, serial: int, type_digit: str = "1") -> str:
    digits = f"{year}{type_digit}{serial:07d}"
    return f"{digits}.{patent_check_digit(digits)}"


def backdate_application(lic, day) -> None:
    """Date an application `day` (a paper application registered later, or a story told in the
    past: demo books and tests); the services date it when it is registered."""
    import datetime as dt

    from django.utils import timezone

    from ..models import License

    applied_at = timezone.make_aware(dt.datetime.combine(day, dt.time(9)))
    License.objects.filter(pk=lic.pk, applied_at__gt=applied_at).update(applied_at=applied_at)
    lic.refresh_from_db(fields=["applied_at"])
