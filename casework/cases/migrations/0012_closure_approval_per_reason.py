"""Closure approval per closure reason (was one yes/no for all), and a supervisor's own
reasonable caseload. An agency that needed no approval keeps needing none for every reason."""

from typing import Any

from django.db import migrations, models

import casework.cases.models


def forwards(apps: Any, schema_editor: Any) -> None:
    CasePolicy = apps.get_model("cases", "CasePolicy")
    CasePolicy.objects.filter(closure_needs_approval=False).update(closure_approval_reasons=[])


def backwards(apps: Any, schema_editor: Any) -> None:
    CasePolicy = apps.get_model("cases", "CasePolicy")
    for policy in CasePolicy.objects.all():
        policy.closure_needs_approval = bool(policy.closure_approval_reasons)
        policy.save(update_fields=["closure_needs_approval"])


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0011_merges"),
    ]

    operations = [
        migrations.AddField(
            model_name="casepolicy",
            name="closure_approval_reasons",
            field=models.JSONField(
                default=casework.cases.models.all_closure_reasons,
                verbose_name="closures that need a supervisor's approval",
            ),
        ),
        migrations.AddField(
            model_name="casepolicy",
            name="supervisor_caseload_threshold",
            field=models.PositiveSmallIntegerField(
                default=10, verbose_name="reasonable caseload of a supervisor's own cases"
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="casepolicy", name="closure_needs_approval"),
    ]
