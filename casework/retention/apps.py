from django.apps import AppConfig


class RetentionConfig(AppConfig):
    name = "casework.retention"
    label = "retention"
    verbose_name = "Retention"

    def ready(self) -> None:
        from casework.retention import rekeying

        rekeying.subscribe()
