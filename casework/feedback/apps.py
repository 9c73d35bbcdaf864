from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "casework.feedback"
    label = "feedback"
