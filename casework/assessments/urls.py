from django.urls import path

from casework.assessments import views

app_name = "assessments"

urlpatterns = [
    path("cases/<int:pk>/assessments/", views.history, name="history"),
    path("cases/<int:pk>/assessments/new/", views.create, name="create"),
    path("cases/<int:pk>/assessments/new/questions/", views.questions, name="questions"),
    path("cases/<int:pk>/assessments/<int:number>/", views.detail, name="detail"),
    path("questionnaires/", views.questionnaire_list, name="questionnaires"),
    path("questionnaires/upload/", views.upload, name="upload"),
    path("questionnaires/new/", views.new_questionnaire, name="new_questionnaire"),
    path(
        "questionnaires/<int:questionnaire_pk>/", views.questionnaire_detail, name="questionnaire"
    ),
    path("questionnaires/<int:questionnaire_pk>/upload/", views.upload, name="upload_version"),
    path("questionnaires/<int:questionnaire_pk>/active/", views.set_active, name="set_active"),
    path(
        "questionnaires/<int:questionnaire_pk>/versions/<int:number>/file/",
        views.version_file,
        name="version_file",
    ),
    path("settings/risk-follow-up/", views.risk_policy, name="risk_policy"),
]
