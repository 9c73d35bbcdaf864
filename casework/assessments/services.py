"""Recording (re)assessments, the agency's questionnaires and its risk follow-up policy.

Every function is keyword-only, runs in one transaction, validates before it writes, raises a
CaseworkError instead of changing anything, and writes its audit entry in the same transaction.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from casework.accounts import agency_settings
from casework.accounts.access import check_perm
from casework.accounts.models import User
from casework.accounts.roles import Perm
from casework.assessments import questionnaires
from casework.assessments.models import (
    Assessment,
    Domain,
    DomainFinding,
    NeedLevel,
    Questionnaire,
    QuestionnaireResponse,
    QuestionnaireVersion,
    ServiceNeed,
)
from casework.audit.log import record
from casework.cases import agency_settings as case_settings
from casework.cases import deadlines
from casework.cases.agency_settings import RISK_FOLLOW_UP
from casework.cases.models import Case, RiskLevel, Status
from casework.cases.services import has_service_consent, save_case, transition_case
from casework.core.errors import CaseworkError, Conflict, ConsentRequired, FieldErrors, NotAllowed
from casework.worklist import services as worklist
from casework.worklist.models import Task

# Steps of the lifecycle in which a case can be (re)assessed.
ASSESSABLE = frozenset(
    {Status.REGISTERED, Status.ASSESSED, Status.PLANNED, Status.IN_FOLLOW_UP, Status.REOPENED}
)
# From these, recording an assessment moves the case on to "assessed".
MOVES_TO_ASSESSED = frozenset({Status.REGISTERED, Status.REOPENED})
MAX_TEXT = 20_000


@dataclass
class FindingDetails:
    domain: str
    need_level: str
    notes: str = ""
    strengths: str = ""
    barriers: str = ""
    services: list[str] = field(default_factory=list)


@dataclass
class AssessmentDetails:
    risk_level: str
    risk_rationale: str
    findings: list[FindingDetails] = field(default_factory=list)
    client_needs: str = ""
    client_strengths: str = ""
    client_barriers: str = ""
    assessed_on: datetime.date | None = None
    # Raw answers by questionnaire version id: {version_id: {question name: value}}.
    answers: dict[int, dict[str, Any]] = field(default_factory=dict)


def _start_of(day: datetime.date, now: datetime.datetime) -> datetime.datetime:
    """When an assessment dated `day` happened: now if today, else midday (entered afterwards)."""
    if day == timezone.localdate(now):
        return now
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12, 0)))


# --- reading ------------------------------------------------------------------------------------


def current_questionnaires(agency_id: int | None) -> list[QuestionnaireVersion]:
    """The newest version of each questionnaire the agency asks (one query)."""
    if agency_id is None:
        return []
    newer = QuestionnaireVersion.objects.filter(
        questionnaire_id=OuterRef("questionnaire_id"), number__gt=OuterRef("number")
    )
    return list(
        QuestionnaireVersion.objects.filter(
            questionnaire__agency_id=agency_id, questionnaire__is_active=True
        )
        .exclude(Exists(newer))
        .select_related("questionnaire")
        .order_by("questionnaire__title", "questionnaire_id")
    )


def assessments_of(case: Case) -> QuerySet[Assessment]:
    return (
        Assessment.objects.filter(case_id=case.pk).select_related("assessed_by").order_by("-number")
    )


def assessment_of(case: Case, number: int) -> Assessment | None:
    """One assessment of the case with its findings and answers (three queries)."""
    assessment = (
        Assessment.objects.filter(case_id=case.pk, number=number)
        .select_related("assessed_by")
        .prefetch_related("findings", "responses__version__questionnaire")
        .first()
    )
    if assessment is not None:
        assessment.case = case
    return assessment


# --- recording an assessment --------------------------------------------------------------------


def _validate(
    case: Case,
    details: AssessmentDetails,
    *,
    today: datetime.date,
    latest: Assessment | None,
    forms: list[QuestionnaireVersion],
) -> tuple[datetime.date, dict[int, questionnaires.CheckedAnswers]]:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if details.risk_level not in RiskLevel.values:
        add("risk_level", _("Choose the risk level."))
    if not details.risk_rationale.strip():
        add("risk_rationale", _("Say why you chose this risk level."))
    day = details.assessed_on or today
    if day > today:
        add("assessed_on", _("An assessment cannot be dated in the future."))
    elif case.registered_on and day < case.registered_on:
        add("assessed_on", _("An assessment cannot be dated before registration."))
    elif latest is not None and day < latest.assessed_on:
        add("assessed_on", _("A reassessment cannot be dated before the previous assessment."))
    for name in ("risk_rationale", "client_needs", "client_strengths", "client_barriers"):
        if len(getattr(details, name)) > MAX_TEXT:
            add(name, _("Keep this under %(n)s characters.") % {"n": MAX_TEXT})
    seen: set[str] = set()
    for finding in details.findings:
        prefix = finding.domain
        if finding.domain not in Domain.values:
            add("findings", _("“%(domain)s” is not an assessment domain.") % {"domain": prefix})
            continue
        if finding.domain in seen:
            add(f"{prefix}_level", _("This domain is listed twice."))
        seen.add(finding.domain)
        if finding.need_level not in NeedLevel.values:
            add(f"{prefix}_level", _("Choose the level of need."))
        if any(code not in ServiceNeed.values for code in finding.services):
            add(f"{prefix}_services", _("Choose services from the list."))
        for part in ("notes", "strengths", "barriers"):
            if len(getattr(finding, part)) > MAX_TEXT:
                add(f"{prefix}_{part}", _("Keep this under %(n)s characters.") % {"n": MAX_TEXT})
    if not details.findings:
        add("findings", _("Record the level of need of at least one domain."))
    current_ids = {version.pk for version in forms}
    for version_id in details.answers:
        if version_id not in current_ids:
            add(
                "answers",
                _("A questionnaire of this form has changed since it was opened; reload it."),
            )
    checked: dict[int, questionnaires.CheckedAnswers] = {}
    for version in forms:
        try:
            checked[version.pk] = questionnaires.check_answers(
                version.definition,
                details.answers.get(version.pk, {}),
                today=today,
                prefix=f"answers.{version.pk}.",
            )
        except FieldErrors as error:
            for name, messages in error.errors.items():
                for message in messages:
                    add(name, message)
    if errors:
        raise FieldErrors(errors)
    return day, checked


@transaction.atomic
def record_assessment(
    case: Case,
    *,
    by: User,
    details: AssessmentDetails,
    expected_version: int | None = None,
) -> Assessment:
    """Record a (re)assessment: findings, the client's own view, answers and the risk level.

    The first assessment moves a registered (or reopened) case to "assessed", which needs the
    client's consent to services. Every assessment sets the case's risk level and the follow-up
    deadline; a raised risk brings an open follow-up forward at once.
    """
    check_perm(by, Perm.WORK_ON_CASES)
    if expected_version is not None and expected_version != case.version:
        raise Conflict(
            _("This case was changed by someone else since you opened it. Reload and try again.")
        )
    if case.status not in ASSESSABLE:
        raise CaseworkError(
            _("Only a registered case that is open (and not paused) can be assessed."),
            code="not_assessable",
        )
    if not has_service_consent(case):
        raise ConsentRequired(
            _(
                "A case cannot be assessed without the client's consent to services "
                "(or a caregiver's consent with the child's assent)."
            )
        )
    now = timezone.now()
    today = timezone.localdate(now)
    latest = Assessment.objects.filter(case_id=case.pk).order_by("-number").first()
    forms = current_questionnaires(case.agency_id)
    day, checked = _validate(case, details, today=today, latest=latest, forms=forms)
    start = _start_of(day, now)
    previous_level = case.risk_level
    number = (latest.number if latest else 0) + 1

    if case.status in MOVES_TO_ASSESSED:
        transition_case(case, to=Status.ASSESSED, by=by, occurred_at=start)
    case.risk_level = details.risk_level
    save_case(case, ["risk_level"])

    follow_up = worklist.schedule_follow_up(case, previous_level=previous_level, start=start, by=by)
    assessment = Assessment.objects.create(
        case=case,
        number=number,
        assessed_on=day,
        assessed_by=by,
        risk_level=details.risk_level,
        previous_risk_level=previous_level,
        risk_rationale=details.risk_rationale.strip(),
        client_needs=details.client_needs.strip(),
        client_strengths=details.client_strengths.strip(),
        client_barriers=details.client_barriers.strip(),
        follow_up_due_at=follow_up.due_at,
        follow_up_target_at=follow_up.target_at,
    )
    DomainFinding.objects.bulk_create(
        DomainFinding(
            assessment=assessment,
            domain=finding.domain,
            need_level=finding.need_level,
            notes=finding.notes.strip(),
            strengths=finding.strengths.strip(),
            barriers=finding.barriers.strip(),
            services=[code for code in ServiceNeed.values if code in finding.services],
        )
        for finding in details.findings
    )
    QuestionnaireResponse.objects.bulk_create(
        QuestionnaireResponse(
            assessment=assessment,
            version=version,
            coded_answers=checked[version.pk].coded,
            text_answers=json.dumps(checked[version.pk].text) if checked[version.pk].text else "",
        )
        for version in forms
    )
    worklist.close_tasks(case, kinds=[Task.Kind.ASSESSMENT_DUE], by=by)
    if latest is None and case.planned_on is None:
        # Planning follows the first assessment, within the same risk window.
        worklist.open_task(
            case,
            kind=Task.Kind.PLAN_DUE,
            due_at=follow_up.due_at,
            target_at=follow_up.target_at,
            by=by,
        )
    record(
        "assessments.assessment.recorded",
        by=by,
        target=assessment,
        case_id=case.pk,
        data={
            "number": number,
            "risk": details.risk_level,
            "raised": deadlines.is_raised(previous_level, details.risk_level),
            "domains": sorted(finding.domain for finding in details.findings),
            "questionnaires": sorted(version.pk for version in forms),
        },
    )
    return assessment


# --- questionnaires -----------------------------------------------------------------------------


def _agency_id(by: User) -> int:
    check_perm(by, Perm.MANAGE_CONFIGURATION)
    if not by.agency_id:
        raise NotAllowed(_("Your account is not in an agency."))
    return by.agency_id


def _free_code(agency_id: int, wanted: str) -> str:
    base = slugify(wanted)[:56] or "questionnaire"
    taken = set(
        Questionnaire.objects.filter(agency_id=agency_id, code__startswith=base).values_list(
            "code", flat=True
        )
    )
    code, counter = base, 2
    while code in taken:
        code, counter = f"{base}-{counter}", counter + 1
    return code


def _new_version(
    questionnaire: Questionnaire,
    *,
    by: User,
    definition: dict[str, Any],
    source: str,
    file_name: str = "",
    data: bytes | None = None,
) -> QuestionnaireVersion:
    latest = (
        QuestionnaireVersion.objects.select_for_update()
        .filter(questionnaire=questionnaire)
        .order_by("-number")
        .first()
    )
    version = QuestionnaireVersion.objects.create(
        questionnaire=questionnaire,
        number=(latest.number if latest else 0) + 1,
        definition=definition,
        source=source,
        file_name=file_name[:200],
        source_file=data,
        form_version=str(definition.get("form_version") or "")[:64],
        created_by=by,
    )
    record(
        "assessments.questionnaire.versioned",
        by=by,
        target=version,
        data={
            "questionnaire": questionnaire.pk,
            "number": version.number,
            "source": source,
            "questions": len(definition.get("questions") or []),
        },
    )
    return version


def upload_questionnaire(
    *,
    by: User,
    data: bytes,
    file_name: str,
    title: str = "",
    questionnaire: Questionnaire | None = None,
) -> QuestionnaireVersion:
    """A new questionnaire from an XLSForm, or a new version of `questionnaire`.

    A form the server could not check answers against is refused with its rows and reasons, a
    workbook over the upload limits with UploadTooLarge. The workbook is read before the
    transaction that saves it: reading may take seconds, and no one's writes wait for it.
    """
    agency_id = _agency_id(by)
    if questionnaire is not None and questionnaire.agency_id != agency_id:
        raise NotAllowed(_("This questionnaire belongs to another agency."))
    read = questionnaires.read_xlsform(data, file_name)
    return _save_uploaded_form(
        by=by,
        agency_id=agency_id,
        read=read,
        data=data,
        file_name=file_name,
        title=title,
        questionnaire=questionnaire,
    )


@transaction.atomic
def _save_uploaded_form(
    *,
    by: User,
    agency_id: int,
    read: questionnaires.ReadForm,
    data: bytes,
    file_name: str,
    title: str,
    questionnaire: Questionnaire | None,
) -> QuestionnaireVersion:
    if questionnaire is None:
        name = title.strip() or read.definition["title"] or file_name.rsplit(".", 1)[0]
        questionnaire = Questionnaire.objects.create(
            agency_id=agency_id,
            code=_free_code(agency_id, read.definition.get("form_id") or name),
            title=name[:200],
            created_by=by,
        )
    elif title.strip():
        questionnaire.title = title.strip()[:200]
        questionnaire.save(update_fields=["title", "updated_at"])
    return _new_version(
        questionnaire,
        by=by,
        definition=read.definition,
        source=QuestionnaireVersion.Source.XLSFORM,
        file_name=file_name,
        data=data,
    )


@transaction.atomic
def create_questionnaire(*, by: User, title: str) -> Questionnaire:
    """An empty questionnaire to build in the editor (asked once it has a question)."""
    agency_id = _agency_id(by)
    if not title.strip():
        raise FieldErrors({"title": [_("Give the questionnaire a title.")]})
    questionnaire = Questionnaire.objects.create(
        agency_id=agency_id,
        code=_free_code(agency_id, title),
        title=title.strip()[:200],
        created_by=by,
    )
    record("assessments.questionnaire.created", by=by, target=questionnaire)
    return questionnaire


@transaction.atomic
def add_question(
    questionnaire: Questionnaire, *, by: User, question: questionnaires.QuestionInput
) -> QuestionnaireVersion:
    """The editor: a new version with one more question (earlier versions keep their answers)."""
    agency_id = _agency_id(by)
    if questionnaire.agency_id != agency_id:
        raise NotAllowed(_("This questionnaire belongs to another agency."))
    latest = questionnaire.versions.order_by("-number").first()
    base = latest.definition if latest else questionnaires.empty_definition(questionnaire.title)
    definition = questionnaires.with_question(base, question)
    return _new_version(
        questionnaire, by=by, definition=definition, source=QuestionnaireVersion.Source.EDITOR
    )


@transaction.atomic
def set_questionnaire_active(questionnaire: Questionnaire, *, by: User, active: bool) -> None:
    agency_id = _agency_id(by)
    if questionnaire.agency_id != agency_id:
        raise NotAllowed(_("This questionnaire belongs to another agency."))
    questionnaire.is_active = active
    questionnaire.save(update_fields=["is_active", "updated_at"])
    record(
        "assessments.questionnaire.activated" if active else "assessments.questionnaire.retired",
        by=by,
        target=questionnaire,
    )


# --- risk policy --------------------------------------------------------------------------------


@transaction.atomic
def set_risk_policy(*, by: User, windows: dict[str, deadlines.Window]) -> None:
    """Set the agency's follow-up windows (open tasks keep their dates; new ones use these):
    the levels not given keep theirs. An agency setting, so the change is kept in its history."""
    agency_id = _agency_id(by)
    unknown = [level for level in windows if level not in RiskLevel.values]
    if unknown:
        raise FieldErrors({"level": [_("Unknown risk level.")]})
    merged = {**deadlines.windows_for(agency_id), **windows}
    agency_settings.change(by=by, key=RISK_FOLLOW_UP.key, value=case_settings.windows_value(merged))
