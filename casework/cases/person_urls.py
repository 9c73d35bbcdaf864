from django.urls import path

from casework.cases import person_views

app_name = "persons"

urlpatterns = [
    path("duplicates/", person_views.duplicates, name="duplicates"),
    path("duplicates/<int:pk>/dismiss/", person_views.dismiss_duplicate, name="dismiss_duplicate"),
    path("merges/<int:merge_pk>/undo/", person_views.unmerge, name="unmerge"),
    path("<int:pk>/merge/<int:other_pk>/", person_views.merge, name="merge"),
    path("<int:pk>/", person_views.person, name="detail"),
    path("<int:pk>/cases/new/", person_views.open_case, name="open_case"),
]
