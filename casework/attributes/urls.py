from django.urls import path

from casework.attributes import views

app_name = "attributes"

urlpatterns = [
    path("administration/attributes/", views.attribute_list, name="list"),
    path(
        "administration/attributes/<int:attribute_pk>/",
        views.attribute_detail,
        name="detail",
    ),
    path("cases/<int:pk>/attributes/", views.case_values, name="case_values"),
]
