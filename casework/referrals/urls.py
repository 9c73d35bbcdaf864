from django.urls import path

from casework.referrals import views

app_name = "referrals"

urlpatterns = [
    # The service directory
    path("services/", views.directory, name="directory"),
    path("services/import/", views.import_directory, name="import"),
    path("services/import/template.csv", views.import_template, name="import_template"),
    path("services/organisations/add/", views.organisation_form, name="organisation_add"),
    path("services/organisations/<int:pk>/", views.organisation, name="organisation"),
    path(
        "services/organisations/<int:pk>/edit/", views.organisation_form, name="organisation_edit"
    ),
    path(
        "services/organisations/<int:organisation_pk>/services/add/",
        views.service_form,
        name="service_add",
    ),
    path(
        "services/organisations/<int:organisation_pk>/services/<int:pk>/edit/",
        views.service_form,
        name="service_edit",
    ),
    # Referrals of a case (staff)
    path("cases/<int:case_pk>/referrals/new/", views.create, name="create"),
    path("cases/<int:case_pk>/referrals/not-needed/", views.not_needed, name="not_needed"),
    path("cases/<int:case_pk>/unmet-needs/new/", views.unmet_need_add, name="unmet_need_add"),
    path(
        "cases/<int:case_pk>/unmet-needs/<int:pk>/resolve/",
        views.unmet_need_resolve,
        name="unmet_need_resolve",
    ),
    path("cases/<int:case_pk>/referrals/<int:pk>/", views.detail, name="detail"),
    path("cases/<int:case_pk>/referrals/<int:pk>/move/", views.move, name="move"),
    # Referrals received (partner organisations)
    path("referrals/inbox/", views.inbox, name="inbox"),
    path("referrals/<int:pk>/", views.received, name="received"),
    path("referrals/<int:pk>/answer/", views.answer, name="answer"),
]
