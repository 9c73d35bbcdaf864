from django.urls import path

from casework.cases import views

app_name = "cases"

urlpatterns = [
    path("", views.caseload, name="caseload"),
    path("register/", views.register, name="register"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/notes/add/", views.add_note, name="add_note"),
    path("<int:pk>/notes/<int:note_pk>/edit/", views.edit_note, name="edit_note"),
    path("<int:pk>/move/", views.transition, name="transition"),
    path("<int:pk>/consents/add/", views.add_consent, name="add_consent"),
    path(
        "<int:pk>/consents/<int:consent_pk>/withdraw/",
        views.withdraw_consent,
        name="withdraw_consent",
    ),
]
