from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    name = "casework.indicators"
    label = "indicators"

    def ready(self) -> None:
        from casework.indicators import consortium

        # A transfer that leaves the person in both agencies links the two records.
        consortium.connect()
