from django.urls import path

from casework.plans import verification_views, views

app_name = "plans"

urlpatterns = [
    path("approvals/", views.approvals, name="approvals"),
    path("spot-checks/", verification_views.spot_checks, name="spot_checks"),
    path("spot-checks/<int:sample_pk>/", verification_views.sample, name="spot_check_sample"),
    path("spot-checks/checks/<int:check_pk>/", verification_views.check, name="spot_check"),
    path("cases/<int:pk>/plans/new/", views.create, name="create"),
    path("cases/<int:pk>/plans/<int:plan_pk>/", views.detail, name="detail"),
    path("cases/<int:pk>/plans/<int:plan_pk>/edit/", views.edit, name="edit"),
    path("cases/<int:pk>/plans/<int:plan_pk>/new-version/", views.revise, name="revise"),
    path(
        "cases/<int:pk>/plans/<int:plan_pk>/participation/",
        views.participation,
        name="participation",
    ),
    path("cases/<int:pk>/plans/<int:plan_pk>/submit/", views.submit, name="submit"),
    path("cases/<int:pk>/plans/<int:plan_pk>/decide/", views.decide, name="decide"),
    path("cases/<int:pk>/plans/<int:plan_pk>/review/", views.review, name="review"),
    path(
        "cases/<int:pk>/plans/<int:plan_pk>/matches/<int:match_pk>/",
        views.decide_match,
        name="decide_match",
    ),
]
