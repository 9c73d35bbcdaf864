# RiskPolicy now lives in cases (cases 0007 renamed its table): forget it here, state only.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('assessments', '0001_initial'),
        ('cases', '0007_riskpolicy_from_assessments'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name='RiskPolicy')],
        ),
    ]
