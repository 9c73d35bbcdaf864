from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "casework.cases"
    label = "cases"
    verbose_name = "Cases"

    def ready(self) -> None:
        from casework.cases import corrections

        corrections.subscribe()
