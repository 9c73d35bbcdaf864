"""Install the three indicators of the seeds exactly as the interchange contract defines them."""

from django.db import migrations


def install(apps, schema_editor):
    from casework.indicators.definitions import BUILTIN_INDICATORS

    IndicatorDefinition = apps.get_model("indicators", "IndicatorDefinition")
    for spec in BUILTIN_INDICATORS:
        values = {key: value for key, value in spec.items() if key != "code"}
        IndicatorDefinition.objects.update_or_create(
            agency=None, code=spec["code"], defaults={**values, "is_builtin": True, "unit": "persons"}
        )


def remove(apps, schema_editor):
    apps.get_model("indicators", "IndicatorDefinition").objects.filter(is_builtin=True).delete()


class Migration(migrations.Migration):
    dependencies = [("indicators", "0001_initial")]

    operations = [migrations.RunPython(install, remove)]
