"""Who may do what, written out here from the roles as the project describes them, not read from
casework/accounts/roles.py: a permission added to or taken from a role there turns this red
(`make mutate` adds and removes every one of them).

- caseworker: registers cases and works on the cases they may write;
- supervisor: the same, plus approvals (plans, closures), reassignment within the team, the
  access log of their cases, overriding a refused consent, team indicators, merging duplicates,
  spot checks of their team's plans;
- programme manager: indicators, unsuppressed, exports with names, imports, freezing a report as
  submitted; no case work;
- M&E officer: indicators (suppressed), imports, freezing a report as submitted, spot checks;
- partner: answers the referrals sent to them, nothing else;
- data-protection officer: the audit log and clients' data requests;
- administrator (any role, or none): users, configuration and the audit log on top of the role.
"""

from __future__ import annotations

from typing import Any

import pytest

from casework.accounts.access import navigation_for, require_perm
from casework.accounts.roles import Perm

P = Perm
EXPECTED: dict[str, set[Perm]] = {
    "amina": {P.REGISTER_CASES, P.WORK_ON_CASES},
    "omar": {P.REGISTER_CASES, P.WORK_ON_CASES},
    "sam": {
        P.REGISTER_CASES,
        P.WORK_ON_CASES,
        P.APPROVE_PLANS,
        P.APPROVE_CLOSURES,
        P.REASSIGN_IN_TEAM,
        P.VIEW_ACCESS_LOG,
        P.OVERRIDE_CONSENT,
        P.VIEW_INDICATORS,
        P.MERGE_PERSONS,
        P.VERIFY_PLANS,
    },
    "paul": {
        P.VIEW_INDICATORS,
        P.VIEW_UNSUPPRESSED,
        P.EXPORT_PERSONAL_DATA,
        P.IMPORT_CASES,
        P.FREEZE_REPORTS,
    },
    "mei": {P.VIEW_INDICATORS, P.IMPORT_CASES, P.FREEZE_REPORTS, P.VERIFY_PLANS},
    "priya": {P.ANSWER_REFERRALS},
    "dana": {P.VIEW_AUDIT_LOG, P.HANDLE_DATA_REQUESTS},
    "adam": {P.MANAGE_USERS, P.MANAGE_CONFIGURATION, P.VIEW_AUDIT_LOG},
}
EXPECTED["olga"] = EXPECTED["sam"]
EXPECTED["xena"] = EXPECTED["amina"]

# The menu each named user is offered (accounts.access.navigation_for), written out.
MENUS: dict[str, set[str]] = {
    "amina": {"caseload", "register", "tasks", "services", "surveys", "supervision"},
    "sam": {"caseload", "register", "tasks", "approvals", "team", "duplicates", "services"}
    | {"indicators", "exports", "surveys", "supervision", "spot_checks"},
    "paul": {"caseload", "services", "indicators", "imports", "exports"},
    "mei": {"indicators", "imports", "spot_checks"},
    "priya": {"referrals_inbox"},
    "dana": {"audit_log", "data_requests"},
    "adam": {"administration", "matching", "audit_log"},
}
# Every section of the menu, offered or not.
SECTIONS = set().union(*MENUS.values())


@pytest.fixture
def everyone(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {name: request.getfixturevalue(name) for name in EXPECTED}


def test_it_gives_each_role_exactly_its_permissions(everyone: dict[str, Any]) -> None:
    wrong = [
        f"{name} {'has' if held else 'lacks'} {perm}"
        for name, user in everyone.items()
        for perm in Perm
        if (held := user.has_casework_perm(perm)) != (perm in EXPECTED[name])
    ]
    assert wrong == []


def test_it_gives_a_deactivated_user_no_permission(everyone: dict[str, Any]) -> None:
    for user in everyone.values():
        user.is_active = False
        assert not any(user.has_casework_perm(perm) for perm in Perm), user.username


def test_it_offers_each_role_its_menu(everyone: dict[str, Any]) -> None:
    for name, menu in MENUS.items():
        offered = navigation_for(everyone[name])
        assert set(offered) == SECTIONS
        assert {section for section, shown in offered.items() if shown} == menu, name


def test_it_offers_no_menu_to_a_visitor_or_a_deactivated_user(amina: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert navigation_for(AnonymousUser()) == {}
    assert navigation_for(None) == {}
    amina.is_active = False
    assert navigation_for(amina) == {}


def test_require_perm_lets_the_role_through_and_refuses_others_with_a_404(
    amina: Any, mei: Any
) -> None:
    from django.http import Http404

    assert require_perm(amina, Perm.WORK_ON_CASES) == amina
    with pytest.raises(Http404):
        require_perm(mei, Perm.WORK_ON_CASES)


def test_check_perm_refuses_an_action_the_role_does_not_allow_with_a_403(
    amina: Any, mei: Any
) -> None:
    from casework.accounts.access import check_perm
    from casework.core.errors import NotAllowed

    check_perm(amina, Perm.WORK_ON_CASES)
    check_perm(None, Perm.APPROVE_PLANS)  # the system, acting for the agency
    with pytest.raises(NotAllowed):
        check_perm(mei, Perm.WORK_ON_CASES)


def test_a_refusal_is_audited_under_the_member_who_tried_and_no_one_else(
    mei: Any, amina: Any
) -> None:
    from django.contrib.auth.models import AnonymousUser
    from django.http import Http404

    from casework.accounts.access import agency_of, refusal
    from casework.audit.models import AuditEntry

    for user in (mei, AnonymousUser()):
        with pytest.raises(Http404):
            require_perm(user, Perm.WORK_ON_CASES)
    denied = AuditEntry.objects.filter(action="access.denied").order_by("id")
    assert [(entry.actor, entry.data, entry.outcome) for entry in denied] == [
        (mei, {"perm": "work_on_cases"}, "denied"),
        (None, {"perm": "work_on_cases"}, "denied"),
    ]
    assert str(refusal("x.denied", by=None, message="Gone.")) == "Gone."
    assert agency_of(amina) == amina.agency_id
    amina.agency_id = None
    with pytest.raises(Http404):
        agency_of(amina)


def test_a_user_without_a_role_who_is_no_administrator_may_do_nothing(
    make_user: Any, agency: Any
) -> None:
    """The "no role" row of the roles grants nothing: what adam may do comes from his being the
    agency's administrator, not from having no role."""
    nobody = make_user("nobody", agency=agency, role="none")
    assert [perm for perm in Perm if nobody.has_casework_perm(perm)] == []
    assert not any(navigation_for(nobody).values())


# Who must sign in with a second factor where the agency requires it: everyone who can see a
# client's personal data (caseworkers and supervisors; partners, programme managers and
# data-protection officers through referrals, exports and data requests) and every administrator.
# The M&E officer sees suppressed figures only.
MUST_USE_MFA = {"amina", "omar", "xena", "sam", "olga", "paul", "priya", "dana", "adam"}


def test_everyone_who_can_see_personal_data_must_use_two_factor_sign_in(
    everyone: dict[str, Any],
) -> None:
    for user in everyone.values():
        user.agency.require_mfa = True
    assert {name for name, user in everyone.items() if user.must_use_mfa} == MUST_USE_MFA
    for user in everyone.values():
        user.agency.require_mfa = False
    assert not any(user.must_use_mfa for user in everyone.values())


def test_a_visitor_or_a_deactivated_user_is_no_member(amina: Any) -> None:
    from django.contrib.auth.models import AnonymousUser

    from casework.accounts.access import is_member

    assert is_member(amina)
    assert not is_member(None)
    assert not is_member(AnonymousUser())
    amina.is_active = False
    assert not is_member(amina)
    amina.is_active = True
    amina.agency_id = None
    assert not is_member(amina)
