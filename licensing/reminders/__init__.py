"""Reminders: the hourly sweep that finds what is due (sweep), the ledger of notices claimed once
(ledger), and their delivery, exactly once, in the recipient's language (delivery)."""
