from django.urls import path

from casework.feedback import views

app_name = "feedback"

urlpatterns = [
    path("cases/<int:pk>/surveys/participation/", views.participation, name="participation"),
    path("cases/<int:pk>/surveys/exit/", views.exit_interview, name="exit_interview"),
    path("surveys/still-to-survey/", views.still_to_survey, name="still_to_survey"),
]
