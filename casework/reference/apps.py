from django.apps import AppConfig


class ReferenceConfig(AppConfig):
    name = "casework.reference"
    label = "reference"
    verbose_name = "Reference lists"
