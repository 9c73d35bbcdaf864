from django.urls import path

from casework.supervision import views

app_name = "supervision"

urlpatterns = [
    path("supervision/", views.session_list, name="list"),
    path("supervision/new/", views.new_session, name="new"),
    path("supervision/<int:pk>/", views.session_detail, name="detail"),
    path("supervision/<int:pk>/cases/add/", views.add_case, name="add_case"),
    path("supervision/<int:pk>/actions/add/", views.add_action, name="add_action"),
]
