from django.urls import path

from casework.worklist import views

app_name = "worklist"

urlpatterns = [
    path("tasks/", views.task_list, name="list"),
    path("tasks/<int:task_pk>/done/", views.complete, name="complete"),
    path("tasks/notifications/<int:notification_pk>/read/", views.read, name="read"),
    path("tasks/notifications/read-all/", views.read_all, name="read_all"),
]
