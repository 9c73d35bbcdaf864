from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "casework.indicators"
    label = "indicators"
