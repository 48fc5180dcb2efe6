from django.core.management.base import BaseCommand
from django.utils import timezone

from licensing.models import Installment, License
from licensing.workdays import effective_date


class Command(BaseCommand):
    help = "Recompute effective (working-day) dates of open deadlines, after a calendar package update."

    def handle(self, *args, **options):
        today = timezone.localdate()
        changed = []
        for inst in Installment.objects.filter(state=Installment.State.DUE, due_date__gte=today).iterator(2000):
            new = effective_date(inst.due_date)
            if new != inst.effective_due_date:
                inst.effective_due_date = new
                changed.append(inst)
        Installment.objects.bulk_update(changed, ["effective_due_date"], batch_size=2000)
        trials = []
        for lic in License.objects.filter(state=License.State.TRIAL, trial_end__gte=today).iterator(2000):
            new = effective_date(lic.trial_end)
            if new != lic.trial_end_effective:
                lic.trial_end_effective = new
                trials.append(lic)
        License.objects.bulk_update(trials, ["trial_end_effective"], batch_size=2000)
        self.stdout.write(f"Updated {len(changed)} installments and {len(trials)} trials.")
