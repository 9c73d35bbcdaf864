""""No referral needed: service not available locally" was a service gap recorded apart from the
others. Each such row becomes an UnmetNeed (reason "no service", recorded at the referral step, in
the case's area) and the old row goes, so there is one notion of a gap."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def forwards(apps: Any, schema_editor: Any) -> None:
    NoReferralNeeded = apps.get_model("referrals", "NoReferralNeeded")
    UnmetNeed = apps.get_model("referrals", "UnmetNeed")
    old = NoReferralNeeded.objects.filter(reason="not_available_locally").select_related("case")
    for row in old.iterator():
        UnmetNeed.objects.create(
            case_id=row.case_id,
            need_code=row.need_code,
            location_id=row.case.location_id,
            reason="no_service",
            step="referral",
            note=row.note or "",
            recorded_by_id=row.recorded_by_id,
            recorded_on=row.recorded_at.date(),
            recorded_at=row.recorded_at,
        )
        row.delete()


def backwards(apps: Any, schema_editor: Any) -> None:
    NoReferralNeeded = apps.get_model("referrals", "NoReferralNeeded")
    UnmetNeed = apps.get_model("referrals", "UnmetNeed")
    moved = UnmetNeed.objects.filter(reason="no_service", step="referral", referral__isnull=True)
    for row in moved.iterator():
        NoReferralNeeded.objects.create(
            case_id=row.case_id,
            need_code=row.need_code,
            reason="not_available_locally",
            note=row.note or "",
            recorded_by_id=row.recorded_by_id,
            recorded_at=row.recorded_at,
        )
        row.delete()


class Migration(migrations.Migration):
    dependencies = [("referrals", "0003_unmet_need")]

    operations = [migrations.RunPython(forwards, backwards)]
