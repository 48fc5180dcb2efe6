from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate, pre_migrate
from django.utils.translation import gettext_lazy as _


class LicensingConfig(AppConfig):
    name = "licensing"
    verbose_name = _("Patent licensing")
    default_auto_field = "django.db.models.BigAutoField"
    default = True

    def ready(self):
        from . import admin, tasks  # noqa: F401  tasks: registered in every process, web ones too
        from .models import balances
        from .roles import sync_tto_staff_group

        admin.register()
        post_migrate.connect(sync_tto_staff_group, sender=self)
        # The balance triggers around every migrate: SQLite remakes a table to alter a column, and
        # its triggers neither survive it nor let it rename the new table (models/balances.py).
        pre_migrate.connect(balances.before_migrate, sender=self)
        post_migrate.connect(balances.after_migrate, sender=self)


class TTOAdminConfig(admin_apps.AdminConfig):
    """Replaces django.contrib.admin in INSTALLED_APPS so that admin.site is the TTO's site, with
    the dashboard (licensing/admin/site.py)."""

    default = False  # "licensing" in INSTALLED_APPS means LicensingConfig
    default_site = "licensing.admin.site.TTOAdminSite"


class LoginProtectionConfig(AxesAppConfig):
    """django-axes (failed-login lockouts) under a name staff read in their language."""

    verbose_name = _("Login protection")
