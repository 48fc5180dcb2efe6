"""The app's own bookkeeping: health of the parts outside it, rate-limit counters."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class HealthRecord(models.Model):
    """What a worker or request last met at a part outside the app; the admin index reads these
    instead of connecting to anything itself (licensing/health.py)."""

    class Part(models.TextChoices):
        BROKER = "broker", _("Task broker")
        SMTP = "smtp", _("Email")
        SWEEP = "sweep", _("Hourly sweep")

    part = models.CharField(_("part"), max_length=20, choices=Part.choices, unique=True)
    ok = models.BooleanField(_("working"))
    detail = models.TextField(_("detail"), blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("health record")
        verbose_name_plural = _("health records")

    def __str__(self) -> str:
        return f"{self.get_part_display()}: {'ok' if self.ok else 'failing'}"


class RateLimit(models.Model):
    """A counter per (action, who) and fixed time window, for throttling what costs someone else
    an email or an account (licensing/throttle.py)."""

    key = models.CharField(_("key"), max_length=200)
    window_start = models.DateTimeField(_("window start"))
    count = models.PositiveIntegerField(_("count"), default=0)

    class Meta:
        verbose_name = _("rate limit")
        verbose_name_plural = _("rate limits")
        constraints = [models.UniqueConstraint(fields=["key", "window_start"], name="rate_limit_window_unique")]
        indexes = [models.Index(fields=["window_start"], name="rate_limit_window")]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window_start}: {self.count}"
