"""Issue 21, point 4.1: every choice list an officer is shown (model forms, inlines, service-action
forms) offers only what their institution may see, and the services refuse what is outside it."""

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import ModelChoiceField
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from licensing import selectors, services
from licensing.models import Enterprise, Institution, License

from .factories import EnterpriseFactory


def _visible(user, obj) -> bool:
    """May `user` see `obj`? By the same scopes the admin's lists use."""
    model = type(obj)
    if model in selectors.INSTITUTION_PATH:
        return selectors.scope_to_user(
            model.objects.filter(pk=obj.pk), user, selectors.INSTITUTION_PATH[model]
        ).exists()
    if model is Enterprise:
        return selectors.enterprises_for(user).filter(pk=obj.pk).exists()
    if model is Institution:
        return obj == user.staff_profile.institution
    raise AssertionError(f"A choice of {model.__name__}: say here who may see it")


def _choice_fields(form):
    """The choice lists a person sees (a formset's hidden row id is checked against its own rows)."""
    return [(n, f) for n, f in form.fields.items() if isinstance(f, ModelChoiceField) and not f.widget.is_hidden]


def _forms_an_officer_sees(user, objects):
    """(where, form) for the add and change forms of every admin the officer may use, their
    inlines, and the service-action forms of the objects given."""
    request = RequestFactory().get("/")
    request.user = user
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "licensing" or not model_admin.has_view_permission(request):
            continue
        obj = objects.get(model)
        for current in (None, obj):
            if current is None and not model_admin.has_add_permission(request):
                continue
            form_class = model_admin.get_form(request, current)
            yield f"{model.__name__} form", form_class(instance=current)
            for formset, inline in model_admin.get_formsets_with_inlines(request, current):
                yield f"{model.__name__} inline {type(inline).__name__}", formset(instance=current).empty_form
        for spec in getattr(model_admin, "available_actions", lambda r, o: [])(request, obj) if obj else []:
            yield f"{model.__name__} action {spec.name}", spec.form(None, **spec.form_kwargs(obj, user))


def test_every_choice_an_officer_is_shown_is_their_institutions(two_institutions):
    a = two_institutions["A"]
    EnterpriseFactory(name="Prospect of nobody")  # deals with no institution yet: anyone may register it
    objects = {License: a["license"], type(a["offer"]): a["offer"], type(a["patent"]): a["patent"]}
    checked, seen = 0, set()
    for where, form in _forms_an_officer_sees(a["user"], objects):
        for name, field in _choice_fields(form):
            for choice in field.queryset:
                assert _visible(a["user"], choice), f"{where}: {name} offers {choice!r}"
                seen.add(str(choice))
            checked += 1
    assert checked >= 5  # the walk reached the forms
    assert "SME of A" in seen and "Prospect of nobody" in seen and "SME of B" not in seen


def test_an_application_for_another_institutions_enterprise_is_refused_and_writes_nothing(client, two_institutions):
    a, b = two_institutions["A"], two_institutions["B"]
    client.force_login(a["user"])
    theirs = b["license"].enterprise
    before = License.objects.count()

    url = reverse("admin:licensing_offer_act", args=[a["offer"].pk, "apply"])
    page = client.post(url, {"enterprise": theirs.pk}, headers={"accept-language": "zh-hans"})

    assert page.status_code == 200 and "选择一个有效的选项" in page.content.decode()  # not among the choices
    with translation.override("en"), pytest.raises(ValidationError, match="another institution"):
        services.apply_for_trial(offer_id=a["offer"].pk, enterprise=theirs, by=a["user"])
    assert License.objects.count() == before
    assert not selectors.enterprises_for(a["user"]).filter(pk=theirs.pk).exists()  # still out of A's sight


def test_a_superuser_registers_an_application_for_any_enterprise(admin_user, two_institutions):
    a, b = two_institutions["A"], two_institutions["B"]
    lic = services.apply_for_trial(offer_id=a["offer"].pk, enterprise=b["license"].enterprise, by=admin_user)
    assert lic.state == License.State.APPLIED
