from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from casework.core.errors import CaseworkError
from casework.reference.models import Location


@transaction.atomic
def add_location(*, code: str, name: str, parent: Location | None = None) -> Location:
    level = 1 if parent is None else parent.level + 1
    if level > 3:
        raise CaseworkError(_("Admin areas go three levels deep at most."), field="parent")
    location = Location(code=code, name=name, parent=parent, level=level)
    codes = dict(parent.ancestor_codes()) if parent else {}
    codes[level] = code
    location.adm1_code = codes.get(1, "")
    location.adm2_code = codes.get(2, "")
    location.adm3_code = codes.get(3, "")
    location.save()
    return location
