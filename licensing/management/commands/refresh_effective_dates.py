from django.core.management.base import BaseCommand
from django.utils import timezone

from licensing.domain.workdays import effective_date
from licensing.models import Installment, License


def refresh(queryset, contractual: str, effective: str) -> int:
    """Recompute `effective` from `contractual` on each row; save those that changed."""
    changed = []
    for row in queryset.iterator(chunk_size=2000):
        new = effective_date(getattr(row, contractual))
        if new != getattr(row, effective):
            setattr(row, effective, new)
            changed.append(row)
    queryset.model.objects.bulk_update(changed, [effective], batch_size=2000)
    return len(changed)


class Command(BaseCommand):
    help = "Recompute effective (working-day) dates of open deadlines, after a calendar package update."

    def handle(self, *args, **options):
        today = timezone.localdate()
        installments = refresh(
            Installment.objects.filter(state=Installment.State.DUE, due_date__gte=today),
            "due_date",
            "effective_due_date",
        )
        trials = refresh(
            License.objects.filter(state=License.State.TRIAL, trial_end__gte=today), "trial_end", "trial_end_effective"
        )
        self.stdout.write(f"Updated {installments} installments and {trials} trials.")
