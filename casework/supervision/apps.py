from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "casework.supervision"
    label = "supervision"
    verbose_name = "Supervision"

    def ready(self) -> None:
        from casework.cases.panels import register_panel, register_team_line
        from casework.supervision import panel

        register_panel("supervision", "supervision/_panel.html", panel.panel_context, order=35)
        register_team_line("supervision", "supervision/_team_line.html", panel.team_line, order=20)
