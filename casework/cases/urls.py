from django.urls import path

from casework.cases import views, workflow_views

app_name = "cases"

urlpatterns = [
    path("", views.caseload, name="caseload"),
    path("register/", views.register, name="register"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/notes/add/", views.add_note, name="add_note"),
    path("<int:pk>/notes/<int:note_pk>/edit/", views.edit_note, name="edit_note"),
    path("<int:pk>/correct/", views.correct, name="correct"),
    path("<int:pk>/relatives/add/", views.add_relative, name="add_relative"),
    path("<int:pk>/relatives/link/", views.link_person, name="link_person"),
    path("<int:pk>/relatives/<int:person_pk>/unlink/", views.unlink_person, name="unlink_person"),
    path("<int:pk>/move/", views.transition, name="transition"),
    path("<int:pk>/consents/add/", views.add_consent, name="add_consent"),
    path("<int:pk>/follow-ups/add/", workflow_views.follow_up, name="follow_up"),
    path("<int:pk>/reassign/", workflow_views.reassign, name="reassign"),
    path("<int:pk>/transfer/", workflow_views.transfer, name="transfer"),
    path("transfers/", workflow_views.transfers, name="transfers"),
    path("transfers/<int:transfer_pk>/", workflow_views.decide_transfer, name="decide_transfer"),
    path("<int:pk>/close/", workflow_views.close, name="close"),
    path(
        "<int:pk>/closures/<int:closure_pk>/decide/",
        workflow_views.decide_closure,
        name="decide_closure",
    ),
    path("team/", workflow_views.team, name="team"),
    path(
        "<int:pk>/consents/<int:consent_pk>/withdraw/",
        views.withdraw_consent,
        name="withdraw_consent",
    ),
]
