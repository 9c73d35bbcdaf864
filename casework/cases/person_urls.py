from django.urls import path

from casework.cases import person_views

app_name = "persons"

urlpatterns = [
    path("<int:pk>/", person_views.person, name="detail"),
    path("<int:pk>/cases/new/", person_views.open_case, name="open_case"),
]
