from django.apps import AppConfig


class AttributesConfig(AppConfig):
    name = "casework.attributes"
    label = "attributes"
    verbose_name = "Agency-defined attributes"

    def ready(self) -> None:
        from casework.attributes import panel, services
        from casework.cases.panels import register_panel

        services.subscribe()
        register_panel("attributes", "attributes/_panel.html", panel.panel_context, order=15)
