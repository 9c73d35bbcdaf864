from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "casework.plans"
    label = "plans"
    verbose_name = "Plans"

    def ready(self) -> None:
        from casework.cases.panels import register_panel, register_team_line
        from casework.plans import panel, sharing

        register_panel("plan", "plans/_panel.html", panel.context, order=30)
        register_team_line("plans", "plans/_team_line.html", panel.team_line, order=10)
        sharing.subscribe()
