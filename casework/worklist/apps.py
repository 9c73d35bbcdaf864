from django.apps import AppConfig


class WorklistConfig(AppConfig):
    name = "casework.worklist"
    label = "worklist"
