from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "casework.feedback"
    label = "feedback"

    def ready(self) -> None:
        from casework.cases.panels import register_panel
        from casework.feedback import panel

        register_panel("feedback", "feedback/_panel.html", panel.context, order=60)
