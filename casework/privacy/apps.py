from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "casework.privacy"
    label = "privacy"
    verbose_name = "Data protection"
