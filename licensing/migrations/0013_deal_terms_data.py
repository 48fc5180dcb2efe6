"""Deal terms (issue 13): an offer's yes/no "exclusive" becomes a license type (exclusive ->
exclusive, not exclusive -> ordinary), and every license gets its own copy of the terms of the
offer it was applied on, which its lifecycle reads from now on."""

from django.db import migrations
from django.db.models import F, OuterRef, Subquery

# What a license copies from its offer (price and trial fee it has copied since it was made).
COPIED = [
    "license_type",
    "territory",
    "field_of_use",
    "term_start",
    "trial_months",
    "lump_sum_allowed",
    "installment_count",
    "installment_interval_months",
    "first_due_months",
    "grace_days",
    "equity_allowed",
    "equity_max_share",
    "insurance_required",
    "coverage_ratio",
    "use_reports_required",
]


def forward(apps, schema_editor):
    Offer = apps.get_model("licensing", "Offer")
    License = apps.get_model("licensing", "License")
    Offer.objects.filter(exclusive=True).update(license_type="exclusive")
    offer = Offer.objects.filter(pk=OuterRef("offer_id"))
    License.objects.update(**{name: Subquery(offer.values(name)[:1]) for name in COPIED})
    # The term of a license already applied for: until its patent expires, from its purchase.
    License.objects.update(term_end=Subquery(offer.values("patent__expiry_date")[:1]))
    License.objects.filter(purchased_on__isnull=False).update(term_start=F("purchased_on"))


def backward(apps, schema_editor):
    Offer = apps.get_model("licensing", "Offer")
    Offer.objects.filter(license_type__in=["exclusive", "sole"]).update(exclusive=True)


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0012_deal_terms"),
    ]

    operations = [migrations.RunPython(forward, backward)]
