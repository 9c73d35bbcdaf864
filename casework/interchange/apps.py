from django.apps import AppConfig


class InterchangeConfig(AppConfig):
    name = "casework.interchange"
    label = "interchange"
