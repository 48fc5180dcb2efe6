"""License contracts: issued from the license page (services.issue_contract), listed here with
every version of their document, each downloadable by the staff of the issuing institution."""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import Http404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import services
from ..domain.clock import today
from ..formfields import NumberField
from ..models import Contract, ContractVersion, License, Patent, Recordal
from ..receipts import contract_document_response, signed_copy_response
from ..widgets import DateInput
from .actions import ServiceAction
from .base import AuditTrailMixin, ReadOnlyInline, ServiceActionsAdmin


def document_link(version: ContractVersion) -> str:
    url = reverse("admin:licensing_contract_document", args=[version.contract_id, version.version])
    return format_html('<a href="{}">{}</a>', url, version.filename)


class VersionInline(ReadOnlyInline):
    model = ContractVersion
    fields = ["version", "download", "created_at", "created_by", "reason", "sha256"]
    readonly_fields = fields
    show_change_link = False
    verbose_name_plural = _("Versions of the document")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("contract", "created_by").order_by("version")

    @admin.display(description=_("document"))
    def download(self, obj):
        return document_link(obj)


class SigningForm(forms.Form):
    signed_copy = forms.FileField(
        label=_("Copy signed and sealed by both parties (PDF)"), help_text=_("A scan of every page.")
    )
    signed_on = forms.DateField(label=_("Signed on"), initial=today, widget=DateInput())
    effective_on = forms.DateField(
        label=_("Takes effect on"),
        initial=today,
        widget=DateInput(),
        help_text=_(
            "The deferral, the payments, dated milestones and the report periods count from this day, "
            "and the recordal's three months."
        ),
    )


def _signed(contract: Contract, signed: Contract) -> str:
    return gettext(
        "Signing recorded: contract %(number)s takes effect on %(date)s; the schedule counts from that day. "
        "The enterprise is told."
    ) % {"number": signed.number, "date": signed.effective_on}


class RegistrationForm(forms.Form):
    registration_number = forms.CharField(label=_("Registration number"), max_length=40)
    registered_on = forms.DateField(label=_("Registered on"), initial=today, widget=DateInput())


def _registered(contract: Contract, done: Contract) -> str:
    return gettext("Registered as a technology contract: %(number)s on %(date)s. Its fees are invoiced VAT-exempt.") % {
        "number": done.registration_number,
        "date": done.registered_on,
    }


class AmendForm(forms.Form):
    """The terms an amendment may change, as they stand; what is changed goes to the service."""

    territory = forms.CharField(label=_("Territory"), required=False, max_length=200)
    field_of_use = forms.CharField(label=_("Field of use"), required=False, max_length=300)
    term_end = forms.DateField(label=_("Term ends"), required=False, widget=DateInput())
    price = NumberField(label=_("Purchase price (CNY)"), max_digits=14, decimal_places=2, min_value=0)
    package = forms.ModelMultipleChoiceField(label=_("Patents"), queryset=Patent.objects.none())
    # A new schedule for what is still owed of the price (all three, or none).
    schedule_count = NumberField(
        label=_("Reschedule what is owed of the price: installments"), required=False, min_value=1, max_value=120
    )
    schedule_interval = NumberField(label=_("months apart"), required=False, min_value=1, max_value=24)
    schedule_first_due = forms.DateField(label=_("the first on"), required=False, widget=DateInput())
    reason = forms.CharField(label=_("Why (the new version says it)"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, obj: Contract, **kwargs):
        lic = obj.license
        kwargs.setdefault(
            "initial",
            {
                "territory": lic.territory,
                "field_of_use": lic.field_of_use,
                "term_end": lic.term_end,
                "price": lic.price,
                "package": list(lic.patents.values_list("pk", flat=True)),
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["package"].queryset = Patent.objects.filter(owner=obj.institution).order_by("number")

    @staticmethod
    def amendment_of(contract: Contract, data: dict) -> dict:
        """The service's arguments: only what differs from the license's terms now."""
        lic = contract.license
        changes = {name: data[name] for name in AMENDABLE if data[name] != getattr(lic, name)}
        if data.get("schedule_count"):
            changes["schedule"] = {
                "count": data["schedule_count"],
                "interval_months": data.get("schedule_interval") or 1,
                "first_due": data.get("schedule_first_due"),
            }
        patents = set(data["package"])
        same = patents == set(lic.patents.all())
        return {"changes": changes, "patents": None if same else patents, "reason": data["reason"]}


AMENDABLE = ("territory", "field_of_use", "term_end", "price")


def _amended(contract: Contract, version) -> str:
    return gettext("Version %(version)s of contract %(number)s written; the enterprise is told.") % {
        "version": version.version,
        "number": contract.number,
    }


CONTRACT_ACTIONS = [
    ServiceAction(
        "amend",
        _("Amend (a new version)"),
        AmendForm,
        lambda contract, by, form_data: services.amend_contract(
            contract_id=contract.pk, by=by, **AmendForm.amendment_of(contract, form_data)
        ),
        lambda contract: contract.license.state in License.AFTER_PURCHASE_STATES,
        takes_obj=True,
        done=_amended,
    ),
    ServiceAction(
        "register",
        _("Record the technology-contract registration"),
        RegistrationForm,
        lambda contract, by, d: services.register_technology_contract(contract_id=contract.pk, by=by, **d),
        lambda contract: contract.state == Contract.State.SIGNED,
        done=_registered,
    ),
    ServiceAction(
        "record_signing",
        _("Record the signing"),
        SigningForm,
        lambda contract, by, d: services.record_signing(contract_id=contract.pk, by=by, **d),
        lambda contract: contract.state == Contract.State.ISSUED,
        done=_signed,
    ),
]


class RegisteredFilter(admin.SimpleListFilter):
    """Signed contracts by their technology-contract registration (Contract.unregistered_q)."""

    title = _("technology-contract registration")
    parameter_name = "registered"

    def lookups(self, request, model_admin):
        return [("no", _("Signed, not registered (VAT applies)")), ("yes", _("Registered"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(Contract.unregistered_q())
        if self.value() == "yes":
            return queryset.filter(registered_on__isnull=False)
        return queryset


class RecordalInline(ReadOnlyInline):
    model = Recordal
    fields = ["kind", "state", "arose_on", "due_by", "recorded_on", "recordal_number"]
    readonly_fields = fields
    verbose_name_plural = _("CNIPA recordals")


class RecordForm(forms.Form):
    recordal_number = forms.CharField(label=_("Recordal number"), max_length=40)
    recorded_on = forms.DateField(label=_("Recorded on"), initial=today, widget=DateInput())


class LateFilter(admin.SimpleListFilter):
    """Recordals still to file after their deadline (Recordal.late_q)."""

    title = _("deadline")
    parameter_name = "late"

    def lookups(self, request, model_admin):
        return [("1", _("Past its deadline"))]

    def queryset(self, request, queryset):
        return queryset.filter(Recordal.late_q(today())) if self.value() == "1" else queryset


@admin.register(Recordal)
class RecordalAdmin(AuditTrailMixin, ServiceActionsAdmin):
    service_actions = [
        ServiceAction(
            "record",
            _("Record the filing"),
            RecordForm,
            lambda recordal, by, d: services.record_recordal(recordal_id=recordal.pk, by=by, **d),
            lambda recordal: recordal.state == Recordal.State.DUE,
            done=lambda recordal, done: (
                gettext("Recorded: %(kind)s %(number)s on %(date)s.")
                % {"kind": done.get_kind_display(), "number": done.recordal_number, "date": done.recorded_on}
            ),
        ),
    ]
    list_display = ["contract", "kind", "state", "arose_on", "due_by", "late", "recorded_on", "recordal_number"]
    list_filter = ["state", "kind", LateFilter]
    list_select_related = ["contract"]
    search_fields = ["contract__number", "recordal_number", "contract__license__enterprise__name"]
    fields = ["contract", "kind", "state", "arose_on", "due_by", "recorded_on", "recordal_number"]
    readonly_fields = fields
    history_last = True
    actions = None

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("late"), boolean=True)
    def late(self, obj):
        return obj.is_late_on(today())


@admin.register(Contract)
class ContractAdmin(AuditTrailMixin, ServiceActionsAdmin):
    service_actions = CONTRACT_ACTIONS
    list_display = [
        "number",
        "license",
        "enterprise",
        "state",
        "issued_at",
        "effective_on",
        "registered_on",
        "latest_document",
    ]
    list_filter = ["state", "year", RegisteredFilter]
    list_select_related = ["license__enterprise", "license__offer__patent"]
    search_fields = ["number", "license__enterprise__name", "license__enterprise__uscc"]
    fields = [
        "number",
        "license",
        "enterprise",
        "state",
        "issued_at",
        "licensee_copy_link",
        "signed_copy_link",
        "signed_on",
        "effective_on",
        "registration_number",
        "registered_on",
        "vat",
    ]
    readonly_fields = fields
    # What the officer checks before recording the signing: the licensee's signed copy, beside the document.
    confirming_fields = ("number", "licensee_copy_link", "issued_at")
    inlines = [VersionInline, RecordalInline]
    history_last = True
    actions = None

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("VAT on its fees"))
    def vat(self, obj):
        if obj.state != Contract.State.SIGNED:
            return "—"
        return gettext("Exempt (registered technology contract)") if obj.vat_exempt else gettext("VAT applies")

    @admin.display(description=_("copy signed by the licensee"))
    def licensee_copy_link(self, obj):
        return self._copy_link(obj, "licensee_copy")

    @admin.display(description=_("copy signed by both parties"))
    def signed_copy_link(self, obj):
        return self._copy_link(obj, "signed_copy")

    def _copy_link(self, obj, field):
        if not getattr(obj, field):
            return "—"
        url = reverse("admin:licensing_contract_signed_copy", args=[obj.pk, field])
        return format_html('<a href="{}">{}</a>', url, gettext("Download"))

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("versions")

    @admin.display(description=_("enterprise"))
    def enterprise(self, obj):
        return obj.license.enterprise

    @admin.display(description=_("document"))
    def latest_document(self, obj):
        versions = sorted(obj.versions.all(), key=lambda version: version.version)  # prefetched
        return document_link(versions[-1]) if versions else "—"

    def get_urls(self):
        view = self.admin_site.admin_view(self.document_view)
        copy = self.admin_site.admin_view(self.signed_copy_view)
        return [
            path("<path:object_id>/version/<int:version>/", view, name="licensing_contract_document"),
            path("<path:object_id>/copy/<str:field>/", copy, name="licensing_contract_signed_copy"),
            *super().get_urls(),
        ]

    def signed_copy_view(self, request, object_id, field):
        contract = self.get_object(request, unquote(object_id))
        if contract is None or field not in ("licensee_copy", "signed_copy") or not getattr(contract, field):
            raise Http404
        return signed_copy_response(contract, field)

    def document_view(self, request, object_id, version):
        """Scoped like the list: another institution's contract is 404, as is a version it does not have."""
        contract = self.get_object(request, unquote(object_id))
        if contract is None or not self.has_view_permission(request, contract):
            raise Http404
        found = contract.versions.filter(version=version).first()
        if found is None:
            raise Http404(gettext("No such version of this contract."))
        return contract_document_response(found)


def contract_on_license(lic) -> str:
    """The license page's line: the contract's number (to its page) and each version's document."""
    contract = getattr(lic, "contract", None)
    if contract is None:
        return gettext("No contract issued yet.")
    page = reverse("admin:licensing_contract_change", args=[contract.pk])
    versions = format_html_join(" · ", "{}", ((document_link(v),) for v in contract.versions.order_by("version")))
    return format_html('<a href="{}">{}</a> ({}) · {}', page, contract.number, contract.get_state_display(), versions)
