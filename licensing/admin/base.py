"""What every admin page of the TTO shares: rows scoped to the staff member's institution,
service buttons instead of editable state, read-only inlines, the audit trail; forms saved
through services."""

import functools
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin.utils import display_for_field, display_for_value, label_for_field, lookup_field, unquote
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import selectors, services
from ..domain.clock import today
from ..domain.numbers import money_text, percent
from ..formfields import NUMBER_OVERRIDES
from ..models import (
    Institution,
    is_fraction,
    is_money,
)
from ..replica import read_alias
from . import actions as admin_actions
from .paging import LongListAdmin


def _readable(model, name):
    """How a read-only field of the model reads: money_text for money, percent for a fraction,
    None for anything else (and for names that are not fields)."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return money_text if is_money(field) else percent if is_fraction(field) else None


@functools.cache
def shown_readable(model, name: str):
    """A read-only money or fraction field as people read it (30,000.00 and 80%, not Django's
    30000.00 and 0.8000): one display function per field, so the same object stands in the
    page's fields and its read-only ones."""
    field, readable = model._meta.get_field(name), _readable(model, name)

    def show(obj):
        return readable(getattr(obj, name))

    show.__name__ = name  # the cell's CSS class stays field-<name>
    return admin.display(description=field.verbose_name, ordering=name)(show)


class ReadableNumbersMixin:
    """Read-only money and fraction fields, list columns included, are shown with
    shown_readable. Editable ones stay form inputs, read by the one number parser."""

    formfield_overrides = NUMBER_OVERRIDES

    def _swap(self, names, readonly):
        return [
            shown_readable(self.model, n) if isinstance(n, str) and n in readonly and _readable(self.model, n) else n
            for n in names
        ]

    def get_readonly_fields(self, request, obj=None):
        names = super().get_readonly_fields(request, obj)
        return self._swap(names, set(names))

    def get_fields(self, request, obj=None):
        readonly = {n for n in super().get_readonly_fields(request, obj) if isinstance(n, str)}
        return self._swap(super().get_fields(request, obj), readonly)

    def get_fieldsets(self, request, obj=None):
        readonly = {n for n in super().get_readonly_fields(request, obj) if isinstance(n, str)}
        return [
            (title, {**options, "fields": self._swap(options["fields"], readonly)})
            for title, options in super().get_fieldsets(request, obj)
        ]

    def get_list_display(self, request):
        names = super().get_list_display(request)
        return self._swap(names, set(names))


class AuditedAdmin(ReadableNumbersMixin, admin.ModelAdmin):
    """What staff add, edit or delete in a form is saved by a service, with its audit event."""

    def save_model(self, request, obj, form, change):
        services.save_record(obj=obj, by=request.user)

    def delete_model(self, request, obj):
        services.delete_record(obj=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            services.delete_record(obj=obj, by=request.user)

    def save_formset(self, request, form, formset, change):
        """Rows edited in an inline (an offer's milestones) are saved and deleted by the services too."""
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            services.delete_record(obj=obj, by=request.user)
        for obj in instances:
            services.save_record(obj=obj, by=request.user)
        formset.save_m2m()


class InstitutionScopedAdmin(LongListAdmin, AuditedAdmin):
    """Rows of the staff member's own institution only; superusers see all. These are the tables
    that grow with the book, so their search matches related rows by key (`selectors.search`),
    and their lists count to a bound, read a page by its keys first and sort by an index (`paging`)."""

    def get_search_results(self, request, queryset, search_term):
        if search_term and request.method == "GET":  # a list to read (an action's POST acts on the primary)
            queryset = queryset.using(read_alias())
        return selectors.search(queryset, search_term, self.get_search_fields(request)), False

    @property
    def institution_path(self) -> str:
        return selectors.INSTITUTION_PATH[self.model]

    def get_queryset(self, request):
        if self.institution_path is None:
            return super().get_queryset(request)
        return selectors.scope_to_user(super().get_queryset(request), request.user, self.institution_path)

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if request.user.is_superuser and self.institution_path is not None:
            filters.append((self.institution_path, admin.RelatedFieldListFilter))  # few rows; no scan of the book
        return filters

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if related is Institution and not request.user.is_superuser:
            kwargs["queryset"] = Institution.objects.filter(staff__user=request.user)
        elif related in selectors.INSTITUTION_PATH:
            kwargs["queryset"] = selectors.scope_to_user(
                related.objects.all(), request.user, selectors.INSTITUTION_PATH[related]
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class RecordsOnlyAdmin(InstitutionScopedAdmin):
    """Records written by services (payments, the reminder ledger): listed, never edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceActionsAdmin(InstitutionScopedAdmin):
    """Adds one button per service action on the change page, each with its own small form."""

    service_actions: list[admin_actions.ServiceAction] = []
    changes_only_through_actions = True  # every field read-only: no Save button
    change_form_template = "admin/licensing/service_actions_change_form.html"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/act/<str:action>/",
                self.admin_site.admin_view(self.action_view),
                name="{}_{}_act".format(*info),
            ),
            *super().get_urls(),
        ]

    def available_actions(self, request, obj):
        return [a for a in self.service_actions if a.available(obj)]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST" and self.changes_only_through_actions:
            raise PermissionDenied  # nothing to save: every change is one of the page's buttons
        obj = self.get_object(request, unquote(object_id))
        extra_context = {**license_summary(obj), **(extra_context or {})}
        if getattr(self, "history_last", False) and obj is not None:
            extra_context["history_last"] = self.history(obj)
        if obj is not None and self.has_change_permission(request, obj):
            extra_context["service_actions"] = self.available_actions(request, obj)
        if self.changes_only_through_actions:  # every field read-only: a page to view, titled so
            extra_context.update(show_save=False, show_save_and_continue=False, show_delete=False)
            extra_context.setdefault("title", gettext("View %s") % self.opts.verbose_name)
        return super().change_view(request, object_id, form_url, extra_context)

    def action_view(self, request, object_id, action):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        spec = next((a for a in self.available_actions(request, obj) if a.name == action), None)
        if spec is None:
            raise Http404
        form_kwargs = spec.form_kwargs(obj, request.user)
        # A POST is always a submission, even with no fields: it acts, or says why not.
        posted = (request.POST, request.FILES) if request.method == "POST" else (None,)
        form = spec.form(*posted, **form_kwargs)
        change_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])
        if request.method == "POST" and form.is_valid():
            try:
                result = spec.perform(obj, request.user, form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc) if not hasattr(exc, "error_dict") else _add_field_errors(form, exc)
            else:
                said = spec.done(obj, result) if spec.done else _done(spec, result)
                self.message_user(request, said, messages.SUCCESS)
                if isinstance(result, self.model) and result.pk != obj.pk:  # e.g. a new version: open it
                    change_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[result.pk])
                return HttpResponseRedirect(change_url)
        if form.is_bound:
            _show_hidden_errors(form)
        context = {
            **self.admin_site.each_context(request),
            **license_summary(obj, show_rule=spec.name == "record_payment"),
            "opts": self.opts,
            "original": obj,
            "title": f"{spec.label}: {obj}",
            "form": form,
            "action": spec,
            "change_url": change_url,
            "confirming": self.confirming(obj),
        }
        return TemplateResponse(request, "admin/licensing/service_action.html", context)

    # The object's fields an action page shows above the form: what is being confirmed (a
    # report's base, royalty and attachment; a transfer's amount, reference and receipt).
    confirming_fields: tuple[str, ...] = ()

    def confirming(self, obj) -> list[tuple[str, str]]:
        rows = []
        for name in self.confirming_fields:
            field, attr, value = lookup_field(name, obj, self)
            label = label_for_field(name, self.model, self)
            if isinstance(value, Decimal):
                shown = money_text(value)
            elif field is not None:
                shown = display_for_field(value, field, "—")
            else:
                shown = display_for_value(value, "—", boolean=getattr(attr, "boolean", False))
            rows.append((label, shown))
        return rows


def _done(spec, result) -> str:
    """What an action without words of its own did: its name, and the state it left behind."""
    said = gettext("Done: %(action)s.") % {"action": spec.label}
    return f"{said} {admin_actions.state_now(result)}" if hasattr(result, "get_state_display") else said


def license_summary(obj, *, show_rule: bool = False) -> dict:
    """The balance of the license an admin page is about (a license, or one of its reports,
    claims, conversions): shown above every service action and on the license page."""
    from ..models import License

    lic = obj if isinstance(obj, License) else getattr(obj, "license", None)
    if not isinstance(lic, License):
        return {}
    return {"license": lic, "summary": selectors.balance_summary(lic, today()), "show_rule": show_rule}


def _add_field_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _show_hidden_errors(form) -> None:
    """A hidden field's error (an altered or expired form) is shown above the form, since the
    field itself is not: every refusal says why."""
    for field in form.hidden_fields():
        for error in field.errors:
            if error not in form.non_field_errors():
                form.add_error(None, error)


class ReadOnlyInline(ReadableNumbersMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AuditTrailMixin:
    """Shows the object's audit trail on its change page: who, when, what, from -> to, why (a
    license's includes its installments, payments, reports, claims and conversions)."""

    @admin.display(description=_("History"))
    def history(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        return render_to_string(
            "admin/licensing/audit_trail.html", {"events": selectors.name_related(selectors.audit_trail(obj))}
        )
