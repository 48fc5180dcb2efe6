"""The TTO's workplace in the Django admin, one module per context. Staff see only their
institution's rows (scoped querysets, so other rows 404); state changes go through the service
buttons (actions.py), never the form. The site (site.py) adds the dashboard and exports
(reports.py).

The model admins are registered by `register()`, which the app calls when it is ready, not on
import: importing this package is how Django finds the site class (licensing.admin.site), and a
registration made while the site is being created would land on a site that is then replaced."""


def register() -> None:
    from . import (  # noqa: F401
        catalogue,
        contracts,
        distribution,
        equity,
        exports,
        insurance,
        licenses,
        matching,
        parties,
        payments,
        reminders,
    )
