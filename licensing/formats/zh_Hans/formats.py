"""Amounts as Chinese bank statements and invoices write them: 1,200,000.00 (Django's zh_Hans
locale has no thousands separator). Everything else comes from Django's own zh_Hans formats."""

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
