from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views

app_name = "portal"

auth = [
    path("login/", auth_views.LoginView.as_view(template_name="portal/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(
            template_name="portal/form_page.html", success_url=reverse_lazy("portal:password_change_done")
        ),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="portal/password_change_done.html"),
        name="password_change_done",
    ),
    path(
        "password/reset/",
        views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="portal/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="portal/form_page.html", success_url=reverse_lazy("portal:password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="portal/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("signup/", views.sign_up, name="sign_up"),
    path("privacy/", views.privacy_notice, name="privacy"),
]

urlpatterns = [
    *auth,
    path("", views.catalogue, name="catalogue"),
    path("patents/<int:offer_id>/", views.offer_detail, name="offer"),
    path("patents/<int:offer_id>/apply/", views.apply, name="apply"),
    path("licenses/", views.licenses, name="licenses"),
    path("licenses/<int:pk>/", views.license_detail, name="license"),
    path("licenses/<int:pk>/buy/", views.buy, name="buy"),
    path("licenses/<int:pk>/return/", views.return_patent, name="return"),
    path("licenses/<int:pk>/equity/", views.propose_equity, name="equity"),
    path("licenses/<int:pk>/milestones/<int:milestone_id>/", views.reach_milestone, name="milestone"),
    path("licenses/<int:pk>/reports/<int:royalty_report_id>/", views.file_report, name="royalty_report"),
    path(
        "licenses/<int:pk>/reports/<int:royalty_report_id>/attachment/",
        views.report_attachment,
        name="report_attachment",
    ),
    path("licenses/<int:pk>/payments/new/", views.report_payment, name="report_payment"),
    path("licenses/<int:pk>/payments/<int:report_id>/receipt/", views.receipt, name="receipt"),
    path("licenses/<int:pk>/contract/<int:version>/", views.contract_document, name="contract_document"),
    path("licenses/<int:pk>/contract/signed/", views.upload_signed_copy, name="upload_signed_copy"),
    path("licenses/<int:pk>/payments/<int:payment_id>/invoice/", views.request_invoice, name="request_invoice"),
    path("licenses/<int:pk>/invoices/<int:request_id>/", views.invoice, name="invoice"),
    path("licenses/<int:pk>/contract/copy/<str:field>/", views.signed_copy, name="signed_copy"),
    path("enterprise/", views.enterprise_details, name="enterprise"),
    path("enterprise/needs/", views.enterprise_needs, name="needs"),
    path("enterprise/needs/pushes/", views.push_consent, name="push_consent"),
    path("p/<str:token>/", views.push_link, name="push"),
    path("p/<str:token>/decline/", views.decline_push, name="decline_push"),
    path("licenses/<int:pk>/feedback/", views.license_feedback, name="license_feedback"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("inventor/", views.inventor_home, name="inventor"),
    path("inventor/statements/<int:year>/", views.inventor_statement, name="inventor_statement"),
    path("inventor/statements/<int:year>.pdf", views.inventor_statement_pdf, name="inventor_statement_pdf"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/renew/", views.renew_calendar, name="renew_calendar"),
    path("calendar/<str:token>.ics", views.calendar_ics, name="calendar_ics"),
]
