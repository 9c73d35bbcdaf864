from django.db import migrations


def install(apps, schema_editor):
    from casework.reference.standard import install as install_standard

    install_standard(apps.get_model("reference", "Programme"), apps.get_model("reference", "ProtectionConcern"))


class Migration(migrations.Migration):
    dependencies = [("reference", "0001_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
