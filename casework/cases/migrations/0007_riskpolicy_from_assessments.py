# The risk follow-up policy moves from assessments to cases, beside the deadlines it sets and
# CasePolicy, so that the worklist (which schedules follow-ups) does not import assessments. The
# rows stay: the table is renamed, and the model state moves (assessments 0002 drops its copy).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_agency_retention_days'),
        ('assessments', '0001_initial'),
        ('cases', '0006_case_plan_text_shared'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE assessments_riskpolicy RENAME TO cases_riskpolicy",
                    reverse_sql="ALTER TABLE cases_riskpolicy RENAME TO assessments_riskpolicy",
                ),
            ],
            state_operations=[
                migrations.CreateModel(
                    name='RiskPolicy',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('level', models.CharField(choices=[('high', 'High (emergency)'), ('medium', 'Moderate (urgent)'), ('low', 'Low')], max_length=8, verbose_name='risk level')),
                        ('due_hours', models.PositiveIntegerField(verbose_name='follow-up due within (hours)')),
                        ('target_hours', models.PositiveIntegerField(verbose_name='follow-up target (hours)')),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('agency', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='risk_policies', to='accounts.agency')),
                        ('updated_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'risk follow-up policy',
                        'verbose_name_plural': 'risk follow-up policies',
                        'constraints': [models.UniqueConstraint(fields=('agency', 'level'), name='one_policy_per_level')],
                    },
                ),
            ],
        ),
    ]
