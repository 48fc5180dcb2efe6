"""Patents and offers."""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import selectors, services
from ..formfields import NUMBER_OVERRIDES
from ..models import (
    DealTerms,
    Offer,
    OfferMilestone,
    OfferShape,
    Patent,
)
from . import actions as admin_actions
from .base import AuditTrailMixin, InstitutionScopedAdmin, ServiceActionsAdmin


@admin.register(Patent)
class PatentAdmin(AuditTrailMixin, InstitutionScopedAdmin):
    list_display = [
        "number",
        "title",
        "patent_type",
        "ipc_class",
        "owner",
        "filing_date",
        "expiry_date",
        "legal_status",
    ]
    list_filter = ["patent_type", "legal_status", "expiry_date"]
    list_select_related = ["owner"]
    search_fields = ["number", "title", "ipc_class"]
    readonly_fields = ["patent_type", "inventors", "history"]
    date_hierarchy = "filing_date"

    @admin.display(description=_("inventors"))
    def inventors(self, obj):
        """The inventors' shares in force now and a link to record new ones (from a later day)."""
        if obj is None or obj.pk is None:
            return "—"
        latest = obj.share_sets.order_by("-effective_from").first()
        add = reverse("admin:licensing_inventorshareset_add") + f"?patent={obj.pk}"
        if latest is None:
            return format_html('<a href="{}">{}</a>', add, gettext("Record the inventors and their shares"))
        return format_html(
            '{} <span class="help">({})</span> · <a href="{}">{}</a>',
            latest.summary,
            gettext("from %(date)s") % {"date": latest.effective_from},
            add,
            gettext("Change the shares"),
        )

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        institution = selectors.institution_of(request.user)
        if institution:
            initial["owner"] = institution
        return initial


class MilestoneInline(admin.TabularInline):
    """A draft's milestones are edited here; a published offer's are read-only (a new version changes them)."""

    model = OfferMilestone
    extra = 0
    formfield_overrides = NUMBER_OVERRIDES

    def has_add_permission(self, request, obj=None):
        return obj is None or obj.state == Offer.State.DRAFT

    def has_change_permission(self, request, obj=None):
        return obj is None or obj.state == Offer.State.DRAFT

    def has_delete_permission(self, request, obj=None):
        return obj is None or obj.state == Offer.State.DRAFT


class OfferForm(forms.ModelForm):
    """The offer's terms, and the other patents of its package (a draft's only). Composed in one
    shape (OfferAdmin sets `shape`): the terms the shape does not use take their neutral value, so
    a royalty offer keeps no installments and a free one no price."""

    shape: OfferShape | None = None

    package = forms.ModelMultipleChoiceField(
        queryset=Patent.objects.none(),
        required=False,
        label=_("other patents in the package"),
        help_text=_("Patents of the same institution licensed together with the lead patent."),
    )

    class Meta:
        model = Offer
        fields = ["patent", "name", *DealTerms.term_names()]

    def _post_clean(self):
        if self.shape:
            self.instance.take_shape(self.shape)
        super()._post_clean()
        if self.shape:
            try:
                self.instance.check_shape(self.shape)
            except ValidationError as exc:
                self._update_errors(exc)

    def clean(self):
        cleaned = super().clean()
        lead = cleaned.get("patent") or getattr(self.instance, "patent", None)
        if lead is not None and "package" in self.fields:
            try:
                services.check_package(lead, cleaned.get("package") or [])
            except ValidationError as exc:
                self.add_error("package", exc.message_dict["package"])
        return cleaned


# What each shape means, as the chooser and the form's header say it.
SHAPE_MEANS = {
    OfferShape.FREE: _("Nothing to pay once the trial ends: the SME takes the license."),
    OfferShape.FIXED: _("A price, in one payment or installments; an entry fee and milestones if you wish."),
    OfferShape.ROYALTY: _(
        "A running royalty on reported net sales or profit, with an entry fee, a minimum, caps, milestones and "
        "a deferral if you wish (the 先用后付 shape)."
    ),
    OfferShape.MIXED: _("A fixed price and a running royalty together."),
    OfferShape.OPEN: _(
        "An open-licence declaration (Patent Law Art. 50): ordinary licenses to any SME that applies, on the fees "
        "declared here, with no decision to wait for."
    ),
}


@admin.register(Offer)
class OfferAdmin(AuditTrailMixin, ServiceActionsAdmin):
    form = OfferForm
    inlines = [MilestoneInline]
    service_actions = admin_actions.OFFER_ACTIONS
    change_form_template = "admin/licensing/offer_change_form.html"
    changes_only_through_actions = False  # draft terms are edited in the form
    list_display = [
        "__str__",  # the offer's title: a package's name, else the lead patent's title
        "patent",
        "package_size",
        "state",
        "trial_months",
        "trial_fee",
        "price",
        "license_type",
        "open_licence",
        "version",
        "equity_allowed",
        "insurance_required",
    ]
    list_filter = ["state", "license_type", "open_licence", "equity_allowed", "insurance_required"]
    list_select_related = ["patent"]
    search_fields = ["patent__number", "patent__title"]
    autocomplete_fields = ["patent"]

    # The composer's groups, titled; each shape shows the terms it uses (DealTerms.SHAPE_TERMS).
    COMPOSER_TITLES = {
        "license": _("License"),
        "trial": _("Trial"),
        "fees": _("Fees"),
        "reports": _("Reports"),
        "deferral": _("Deferral: pay later"),
        "security": _("Security: default, equity, insurance"),
    }

    def shape_of(self, request, obj=None) -> OfferShape | None:
        """The shape being composed: the one asked for (a draft may change shape), else the offer's."""
        asked = request.GET.get("shape", "")
        if asked in OfferShape.values and (obj is None or obj.state == Offer.State.DRAFT):
            return OfferShape(asked)
        return obj.offer_shape if obj is not None else None

    def get_fieldsets(self, request, obj=None):
        shape = self.shape_of(request, obj)
        used = DealTerms.SHAPE_TERMS[shape] if shape else DealTerms.term_names()
        package = "package" if obj is None or obj.state == Offer.State.DRAFT else "package_list"
        groups = [(_("Patents"), {"fields": ["patent", package, "name", "state", "version", "replaces"]})]
        for group, names in DealTerms.GROUPS.items():
            title = self.COMPOSER_TITLES[group]
            fields = [name for name in names if name in used]
            if fields:
                groups.append((title, {"fields": fields}))
        if obj is not None and obj.state == Offer.State.PUBLISHED:
            groups.append((_("Fitting enterprises"), {"fields": ["fitting_enterprises", "feedback"]}))
        return [*groups, (_("History"), {"fields": ["history"]})] if obj else groups

    def get_inlines(self, request, obj):
        return [] if self.shape_of(request, obj) == OfferShape.FREE else self.inlines

    def add_view(self, request, form_url="", extra_context=None):
        shape = self.shape_of(request)
        if shape is None:
            return self.shape_chooser(request, None)
        extra_context = {
            **(extra_context or {}),
            "shape": shape,
            "shape_means": SHAPE_MEANS[shape],
            "other_shapes": [s for s in OfferShape if s != shape],
        }
        return super().add_view(request, form_url, extra_context)

    def shape_chooser(self, request, obj):
        """The composer's first step: the shape of the deal, each with what it means."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "title": _("What kind of offer?"),
            "shapes": [(shape, SHAPE_MEANS[shape], f"?shape={shape.value}") for shape in OfferShape],
        }
        return TemplateResponse(request, "admin/licensing/offer_shape.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            shape = self.shape_of(request, obj)
            extra_context = {
                **(extra_context or {}),
                "shape": shape,
                "shape_means": SHAPE_MEANS[shape],
                "other_shapes": [s for s in OfferShape if s != shape] if obj.state == Offer.State.DRAFT else [],
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="{}_{}_preview".format(*info),
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, object_id):
        """The offer's page as an SME will see it, for the officer before publishing."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        offer = (
            Offer.objects.with_availability()
            .select_related("patent__owner")
            .prefetch_related(selectors.PACKAGE, "milestones")
            .get(pk=obj.pk)
        )
        return TemplateResponse(request, "portal/offer.html", {"offer": offer, "patent": offer.patent, "preview": True})

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["state", "version", "replaces"]
        if obj.state == Offer.State.DRAFT:
            return (
                ["patent", "state", "version", "replaces", "history"]
                if obj.replaces_id
                else [
                    "state",
                    "version",
                    "replaces",
                    "history",
                ]
            )
        # Published terms are what licensees applied on: they change by a new version (the button).
        editable = [f.name for f in Offer._meta.fields if f.editable]
        return [*editable, "package_list", "state", "version", "replaces", "fitting_enterprises", "feedback", "history"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.shape = self.shape_of(request, obj) if obj is None or obj.state == Offer.State.DRAFT else None
        if obj is not None and obj.state != Offer.State.DRAFT:
            form.base_fields.pop("package", None)  # a published package changes by a new version
        if "package" in form.base_fields:
            field = form.base_fields["package"]
            field.queryset = selectors.scope_to_user(Patent.objects.all(), request.user, "owner")
            field.widget = AutocompleteSelectMultiple(Offer._meta.get_field("patents"), self.admin_site)
            if obj is not None:
                field.initial = [pk for pk in obj.patents.values_list("pk", flat=True) if pk != obj.patent_id]
        return form

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if "package" in form.cleaned_data:
            services.set_package(offer_id=form.instance.pk, patents=form.cleaned_data["package"], by=request.user)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(package_size=Count("patent_links"))

    @admin.display(description=_("patents"), ordering="package_size")
    def package_size(self, obj):
        return obj.package_size

    @admin.display(description=_("ranked by fit"))
    def fitting_enterprises(self, obj):
        """The enterprises that asked for fitting offers and whose needs this offer fits best,
        leaving out those that hold or applied for it; each with why."""
        matches = selectors.fitting_enterprises(obj) if obj is not None else []
        if not matches:
            return _("No enterprise that asked for fitting offers matches this offer yet.")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    m.item.name,
                    m.item.get_size_class_display(),
                    ", ".join(m.terms) or "—",
                    "; ".join(m.links) or "—",
                )
                for m in matches
            ),
        )
        return format_html(
            '<table class="fitting"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>'
            "<tbody>{}</tbody></table>",
            _("enterprise"),
            _("size class"),
            _("shared words"),
            _("industry link"),
            rows,
        )

    @admin.display(description=_("why enterprises said no"))
    def feedback(self, obj):
        """The answers of enterprises whose trial ended without a purchase or that declined a push."""
        counts, latest = selectors.offer_feedback(obj)
        if not latest:
            return _("No answers yet.")
        return format_html(
            "<p>{}</p><ul>{}</ul>",
            " · ".join(f"{label}: {n}" for label, n in counts if n),
            format_html_join(
                "",
                "<li>{} · {} · {}{}</li>",
                (
                    (
                        f.at.date().isoformat(),
                        f.enterprise.name,
                        f.get_reason_display(),
                        f" · {f.note}" if f.note else "",
                    )
                    for f in latest
                ),
            ),
        )

    @admin.display(description=_("patents in the package"))
    def package_list(self, obj):
        return ", ".join(obj.patents.order_by("number").values_list("number", flat=True)) if obj else "—"
