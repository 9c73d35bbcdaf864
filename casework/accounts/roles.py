"""Roles, named permissions and which role sees which sensitive field: all in one place.

Change a role's reach here and nowhere else; the gates (casework/accounts/access.py for pages,
casework/cases/access.py and the other apps' access.py for records) apply it and
tests/test_permission_matrix.py walks every URL and API operation against it.
"""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CASEWORKER = "caseworker", _("Caseworker")
    SUPERVISOR = "supervisor", _("Supervisor")
    PROGRAMME_MANAGER = "programme_manager", _("Programme manager")
    ME_OFFICER = "me_officer", _("M&E officer")
    PARTNER = "partner", _("Partner organisation")
    DATA_PROTECTION_OFFICER = "data_protection_officer", _("Data-protection officer")
    NONE = "none", _("No case role")


class Perm(StrEnum):
    REGISTER_CASES = "register_cases"
    WORK_ON_CASES = "work_on_cases"  # notes, consents, lifecycle moves on cases they may write
    APPROVE_PLANS = "approve_plans"
    APPROVE_CLOSURES = "approve_closures"
    REASSIGN_IN_TEAM = "reassign_in_team"
    VIEW_ACCESS_LOG = "view_access_log"
    OVERRIDE_CONSENT = "override_consent"
    VIEW_INDICATORS = "view_indicators"
    VIEW_UNSUPPRESSED = "view_unsuppressed"
    FREEZE_REPORTS = "freeze_reports"  # freeze a period's report as it goes to a donor or cluster
    EXPORT_PERSONAL_DATA = "export_personal_data"
    IMPORT_CASES = "import_cases"
    ANSWER_REFERRALS = "answer_referrals"
    MANAGE_USERS = "manage_users"
    MANAGE_CONFIGURATION = "manage_configuration"
    VIEW_AUDIT_LOG = "view_audit_log"
    MERGE_PERSONS = "merge_persons"  # review duplicates; merge two records of one person, unmerge
    HANDLE_DATA_REQUESTS = "handle_data_requests"  # clients' access, rectification, erasure
    # Draw random samples of plans and record spot checks (seed 001): a supervisor for the team,
    # an M&E officer for the agency, each seeing the plan only as their role allows.
    VERIFY_PLANS = "verify_plans"


class Sensitive(StrEnum):
    """Groups of personal fields. Anything not listed here is non-identifying."""

    NAMES = "names"  # client and household names
    CONTACT = "contact"  # phone, address
    BIRTH_DATE = "birth_date"
    NOTES = "notes"  # case notes and transition/consent reasons
    FREE_TEXT = "free_text"  # free-text answers in assessments, plans, surveys
    ATTRIBUTES = "attributes"  # agency-defined attributes marked sensitive (ethnicity …)


ALL_SENSITIVE = frozenset(Sensitive)

ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.CASEWORKER: frozenset({Perm.REGISTER_CASES, Perm.WORK_ON_CASES}),
    Role.SUPERVISOR: frozenset(
        {
            Perm.REGISTER_CASES,
            Perm.WORK_ON_CASES,
            Perm.APPROVE_PLANS,
            Perm.APPROVE_CLOSURES,
            Perm.REASSIGN_IN_TEAM,
            Perm.VIEW_ACCESS_LOG,
            Perm.OVERRIDE_CONSENT,
            Perm.VIEW_INDICATORS,
            Perm.MERGE_PERSONS,
            Perm.VERIFY_PLANS,
        }
    ),
    Role.PROGRAMME_MANAGER: frozenset(
        {
            Perm.VIEW_INDICATORS,
            Perm.VIEW_UNSUPPRESSED,
            Perm.FREEZE_REPORTS,
            Perm.EXPORT_PERSONAL_DATA,
            Perm.IMPORT_CASES,
        }
    ),
    Role.ME_OFFICER: frozenset(
        {Perm.VIEW_INDICATORS, Perm.FREEZE_REPORTS, Perm.IMPORT_CASES, Perm.VERIFY_PLANS}
    ),
    Role.PARTNER: frozenset({Perm.ANSWER_REFERRALS}),
    # The audit log and clients' requests about their data; no case content (no caseload).
    Role.DATA_PROTECTION_OFFICER: frozenset({Perm.VIEW_AUDIT_LOG, Perm.HANDLE_DATA_REQUESTS}),
    Role.NONE: frozenset(),
}

ADMINISTRATOR_PERMISSIONS = frozenset(
    {Perm.MANAGE_USERS, Perm.MANAGE_CONFIGURATION, Perm.VIEW_AUDIT_LOG}
)

# Which sensitive fields each role is shown. A programme manager reads every case of the agency
# for oversight, but de-identified: oversight does not need a survivor's name.
ROLE_SENSITIVE_FIELDS: dict[str, frozenset[Sensitive]] = {
    Role.CASEWORKER: ALL_SENSITIVE,
    Role.SUPERVISOR: ALL_SENSITIVE,
    Role.PROGRAMME_MANAGER: frozenset(),
    Role.ME_OFFICER: frozenset(),
    Role.PARTNER: frozenset(),  # partners see only what each referral shares
    Role.DATA_PROTECTION_OFFICER: frozenset(),
    Role.NONE: frozenset(),
}

# Roles that can see personal data must use two-factor sign-in (where the agency requires it).
ROLES_SEEING_PERSONAL_DATA = frozenset(
    role for role, fields in ROLE_SENSITIVE_FIELDS.items() if fields
) | {Role.PARTNER, Role.PROGRAMME_MANAGER, Role.DATA_PROTECTION_OFFICER}
