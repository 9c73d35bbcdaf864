"""The rules around a survey's answers: its date, who may record it, what the audit trail says,
and the exit interview's checks. Screens over HTTP; checks the forms already make (a choice
from a list) through the service, which must hold them for any other caller too.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from casework.audit.models import AuditEntry
from casework.cases.models import Case
from casework.core.errors import FieldErrors, NotAllowed
from casework.feedback import services
from casework.feedback.models import ExitInterview, ParticipationSurvey

TODAY = timezone.localdate


def _survey(login: Any, user: Any, case: Case, day: datetime.date) -> Any:
    return login(user).post(
        f"/cases/{case.pk}/surveys/participation/",
        {"surveyed_on": day.isoformat(), "q1_aware": "no", "q2_involved": ""},
    )


def _interview(login: Any, user: Any, case: Case, **answers: Any) -> Any:
    data = {
        "interviewed_on": TODAY().isoformat(),
        "overall": "4",
        "needs_met": "partly",
        "felt_respected": "yes",
        "felt_safe": "no",
        "confidentiality_kept": "",
        "would_recommend": "yes",
        "comments": "  More evening hours.  ",
        **answers,
    }
    return login(user).post(f"/cases/{case.pk}/surveys/exit/", data)


# --- The date ----------------------------------------------------------------------------------


def test_it_refuses_a_survey_dated_tomorrow(login: Any, amina: Any, case: Case) -> None:
    response = _survey(login, amina, case, TODAY() + datetime.timedelta(days=1))
    assert response.status_code == 400
    assert "The date cannot be in the future." in response.content.decode()
    assert not ParticipationSurvey.objects.filter(case=case).exists()


def test_it_refuses_a_survey_dated_before_registration(login: Any, amina: Any, case: Case) -> None:
    assert case.registered_on is not None
    response = _survey(login, amina, case, case.registered_on - datetime.timedelta(days=1))
    assert "The date cannot be before the case was registered." in response.content.decode()
    assert not ParticipationSurvey.objects.filter(case=case).exists()


def test_it_records_a_survey_dated_the_day_of_registration(
    login: Any, amina: Any, case: Case
) -> None:
    Case.objects.filter(pk=case.pk).update(registered_on=TODAY() - datetime.timedelta(days=3))
    case.refresh_from_db()
    assert case.registered_on is not None
    assert _survey(login, amina, case, case.registered_on).status_code == 302
    assert ParticipationSurvey.objects.get(case=case).surveyed_on == case.registered_on


def test_it_dates_a_survey_today_when_no_date_is_given(amina: Any, case: Case) -> None:
    survey = services.record_participation_survey(case, by=amina, q1_aware=False)
    assert survey.surveyed_on == TODAY()


# --- Who asked, and what the audit trail keeps --------------------------------------------------


def test_it_notes_whether_the_clients_own_caseworker_asked(
    login: Any, amina: Any, sam: Any, case: Case
) -> None:
    assert _survey(login, sam, case, TODAY()).status_code == 302
    assert _interview(login, amina, case).status_code == 302
    survey = AuditEntry.objects.get(action="feedback.participation.recorded")
    interview = AuditEntry.objects.get(action="feedback.exit_interview.recorded")
    assert survey.data == {"by_own_caseworker": False}
    assert survey.case_id == case.pk and survey.actor == sam
    assert interview.data == {"overall": 4, "by_own_caseworker": True}
    assert ParticipationSurvey.objects.get(case=case).surveyed_by == sam


def test_it_refuses_a_role_that_does_not_work_on_cases(paul: Any, case: Case) -> None:
    with pytest.raises(NotAllowed):
        services.record_participation_survey(case, by=paul, q1_aware=False)
    with pytest.raises(NotAllowed):
        services.record_exit_interview(case, by=paul, overall=3, needs_met="yes")
    assert not ParticipationSurvey.objects.exists() and not ExitInterview.objects.exists()


def test_it_keeps_no_survey_when_its_audit_entry_cannot_be_written(
    amina: Any, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr(services, "record", broken)
    with pytest.raises(RuntimeError):
        services.record_participation_survey(case, by=amina, q1_aware=False)
    with pytest.raises(RuntimeError):
        services.record_exit_interview(case, by=amina, overall=3, needs_met="yes")
    assert not ParticipationSurvey.objects.exists() and not ExitInterview.objects.exists()


def test_it_refuses_a_q3_answer_that_is_not_on_the_list(amina: Any, case: Case) -> None:
    with pytest.raises(FieldErrors) as refused:
        services.record_participation_survey(
            case, by=amina, q1_aware=True, q2_involved=True, q3_ways=["bribed"]
        )
    assert refused.value.errors == {"q3_ways": ["Choose the answers from the list."]}


# --- The exit interview -------------------------------------------------------------------------


def test_it_records_an_exit_interview(login: Any, amina: Any, case: Case) -> None:
    assert _interview(login, amina, case).status_code == 302
    interview = ExitInterview.objects.get(case=case)
    assert (interview.overall, interview.needs_met) == (4, "partly")
    assert (interview.felt_respected, interview.felt_safe) == (True, False)
    assert interview.confidentiality_kept is None and interview.would_recommend is True
    assert interview.comments == "More evening hours."
    assert interview.interviewed_on == TODAY() and interview.interviewed_by == amina


def test_it_refuses_an_exit_interview_dated_tomorrow(login: Any, amina: Any, case: Case) -> None:
    tomorrow = (TODAY() + datetime.timedelta(days=1)).isoformat()
    response = _interview(login, amina, case, interviewed_on=tomorrow)
    assert "The date cannot be in the future." in response.content.decode()
    assert not ExitInterview.objects.exists()


@pytest.mark.parametrize(
    ("overall", "needs_met", "field"),
    [(0, "yes", "overall"), (6, "yes", "overall"), (3, "maybe", "needs_met")],
)
def test_it_refuses_an_exit_interview_answer_off_the_scale(
    amina: Any, case: Case, overall: int, needs_met: str, field: str
) -> None:
    with pytest.raises(FieldErrors) as refused:
        services.record_exit_interview(case, by=amina, overall=overall, needs_met=needs_met)
    assert set(refused.value.errors) == {field}
    assert not ExitInterview.objects.exists()


@pytest.mark.parametrize(("overall", "needs_met"), [(1, "no"), (5, "yes"), (3, "partly")])
def test_it_accepts_every_answer_on_the_scale(
    amina: Any, case: Case, overall: int, needs_met: str
) -> None:
    interview = services.record_exit_interview(case, by=amina, overall=overall, needs_met=needs_met)
    assert (interview.overall, interview.needs_met) == (overall, needs_met)
