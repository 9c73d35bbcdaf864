"""/api/v1/assessments: the same operations as the assessment and questionnaire screens.

Case endpoints answer 404 for a case the caller may not see. Free text (the risk rationale,
notes, the client's own words, free-text answers) is sent only to roles that see free text.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from casework.accounts.access import require_perm
from casework.accounts.http import AuthenticatedHttpRequest
from casework.accounts.models import User
from casework.accounts.roles import Perm, Sensitive
from casework.assessments import questionnaires, services
from casework.assessments.models import (
    Assessment,
    Domain,
    NeedLevel,
    Questionnaire,
    QuestionnaireVersion,
    ServiceNeed,
)
from casework.cases import access, deadlines
from casework.cases.deadlines import windows_for
from casework.cases.models import RiskLevel
from casework.core.api import (
    READ_LATER,
    DocumentedAs,
    RawBody,
    answers,
    checked_body,
    if_match,
    send_version,
)

router = Router(tags=["assessments"])


# --- schemas ------------------------------------------------------------------------------------


class FindingIn(Schema):
    domain: Domain
    need_level: NeedLevel
    notes: str = ""
    strengths: str = ""
    barriers: str = ""
    services: list[ServiceNeed] = []


class AnswersIn(Schema):
    version: int
    answers: dict[str, Any] = {}


class AssessmentIn(Schema):
    risk_level: RiskLevel
    risk_rationale: str
    findings: list[FindingIn]
    client_needs: str = ""
    client_strengths: str = ""
    client_barriers: str = ""
    assessed_on: datetime.date | None = None
    questionnaires: list[AnswersIn] = []


class FindingOut(Schema):
    domain: str
    need_level: str
    services: list[str]
    notes: str | None = None
    strengths: str | None = None
    barriers: str | None = None


class ResponseOut(Schema):
    questionnaire: str
    version: int
    version_number: int
    answers: dict[str, Any]


class AssessmentSummaryOut(Schema):
    number: int
    assessed_on: datetime.date
    assessed_by: str
    risk_level: str
    previous_risk_level: str
    follow_up_due_at: datetime.datetime
    follow_up_target_at: datetime.datetime


class AssessmentOut(AssessmentSummaryOut):
    risk_rationale: str | None = None
    client_needs: str | None = None
    client_strengths: str | None = None
    client_barriers: str | None = None
    findings: list[FindingOut]
    responses: list[ResponseOut]


class QuestionnaireVersionOut(Schema):
    id: int
    questionnaire: str
    title: str
    number: int
    source: str
    form_version: str
    created_at: datetime.datetime
    definition: dict[str, Any]


class QuestionnaireOut(Schema):
    id: int
    code: str
    title: str
    is_active: bool
    versions: list[int]


class QuestionIn(Schema):
    type: str
    name: str
    labels: dict[str, str]
    required: bool = False
    hint: dict[str, str] = {}
    relevant: str = ""
    constraint: str = ""
    constraint_message: dict[str, str] = {}
    choices: list[dict[str, Any]] = []


class NewQuestionnaireIn(Schema):
    title: str


class ActiveIn(Schema):
    active: bool


class WindowOut(Schema):
    level: str
    due_hours: int
    target_hours: int


class WindowIn(Schema):
    due_hours: int
    target_hours: int


class RiskPolicyIn(Schema):
    """Only the levels given change; the others keep their current window."""

    high: WindowIn | None = None
    medium: WindowIn | None = None
    low: WindowIn | None = None


# --- shaping output -----------------------------------------------------------------------------


def _summary(assessment: Assessment) -> dict[str, Any]:
    return {
        "number": assessment.number,
        "assessed_on": assessment.assessed_on,
        "assessed_by": assessment.assessed_by.username,
        "risk_level": assessment.risk_level,
        "previous_risk_level": assessment.previous_risk_level,
        "follow_up_due_at": assessment.follow_up_due_at,
        "follow_up_target_at": assessment.follow_up_target_at,
    }


def _assessment(assessment: Assessment, user: User) -> dict[str, Any]:
    free = user.sees(Sensitive.FREE_TEXT)
    return _summary(assessment) | {
        "risk_rationale": assessment.risk_rationale if free else None,
        "client_needs": assessment.client_needs if free else None,
        "client_strengths": assessment.client_strengths if free else None,
        "client_barriers": assessment.client_barriers if free else None,
        "findings": [
            {
                "domain": finding.domain,
                "need_level": finding.need_level,
                "services": finding.services,
                "notes": finding.notes if free else None,
                "strengths": finding.strengths if free else None,
                "barriers": finding.barriers if free else None,
            }
            for finding in sorted(assessment.findings.all(), key=lambda f: f.domain)
        ],
        "responses": [
            {
                "questionnaire": response.version.questionnaire.code,
                "version": response.version_id,
                "version_number": response.version.number,
                "answers": response.answers(include_free_text=free),
            }
            for response in assessment.responses.all()
        ],
    }


def _version(version: QuestionnaireVersion) -> dict[str, Any]:
    return {
        "id": version.pk,
        "questionnaire": version.questionnaire.code,
        "title": version.questionnaire.title,
        "number": version.number,
        "source": version.source,
        "form_version": version.form_version,
        "created_at": version.created_at,
        "definition": version.definition,
    }


def _questionnaire(user: User, questionnaire_id: int) -> Questionnaire:
    require_perm(user, Perm.MANAGE_CONFIGURATION)
    questionnaire = Questionnaire.objects.filter(
        pk=questionnaire_id, agency_id=user.agency_id or 0
    ).first()
    if questionnaire is None:
        raise Http404(_("No such questionnaire."))
    return questionnaire


# --- assessments of a case ----------------------------------------------------------------------


@router.get(
    "/cases/{case_id}",
    response=answers(list[AssessmentSummaryOut], 404),
    summary="A case's assessments, newest (current) first",
)
def list_assessments(request: AuthenticatedHttpRequest, case_id: int) -> Any:
    case = access.get_case_for_user(request.user, case_id)
    return [_summary(assessment) for assessment in services.assessments_of(case)]


@router.get(
    "/cases/{case_id}/questionnaires",
    response=answers(list[QuestionnaireVersionOut], 404),
    summary="The questionnaires a new assessment of this case asks",
)
def case_questionnaires(request: AuthenticatedHttpRequest, case_id: int) -> Any:
    case = access.get_case_for_user(request.user, case_id)
    return [_version(version) for version in services.current_questionnaires(case.agency_id)]


@router.post(
    "/cases/{case_id}",
    response=answers(AssessmentOut, 400, 403, 404, status=201, precondition=True),
    summary="Record a (re)assessment (If-Match: the case's version)",
    openapi_extra=if_match(),
)
def record_assessment(
    request: AuthenticatedHttpRequest,
    case_id: int,
    response: HttpResponse,
    payload: Annotated[RawBody, DocumentedAs(AssessmentIn)] = READ_LATER,
) -> Any:
    """Sets the risk level and the follow-up deadline; the first assessment moves the case to
    "assessed". Answers are checked by each questionnaire's rules (relevant, required,
    constraint); `questionnaires` must name the current version of each."""
    user = request.user
    case = access.get_case_for_user(user, case_id, write=True)
    payload_in = checked_body(request, AssessmentIn, payload, version=case.version)
    assessment = services.record_assessment(
        case,
        by=user,
        details=services.AssessmentDetails(
            risk_level=payload_in.risk_level,
            risk_rationale=payload_in.risk_rationale,
            findings=[
                services.FindingDetails(
                    domain=finding.domain,
                    need_level=finding.need_level,
                    notes=finding.notes,
                    strengths=finding.strengths,
                    barriers=finding.barriers,
                    services=[str(code) for code in finding.services],
                )
                for finding in payload_in.findings
            ],
            client_needs=payload_in.client_needs,
            client_strengths=payload_in.client_strengths,
            client_barriers=payload_in.client_barriers,
            assessed_on=payload_in.assessed_on,
            answers={item.version: item.answers for item in payload_in.questionnaires},
        ),
        expected_version=case.version,
    )
    # Read back with its findings and answers (just written, so it is there).
    shown = services.assessment_of(case, assessment.number) or assessment
    send_version(response, case.version)
    return Status(201, _assessment(shown, user))


@router.get(
    "/cases/{case_id}/{int:number}",
    response=answers(AssessmentOut, 404),
    summary="One assessment of a case",
)
def get_assessment(request: AuthenticatedHttpRequest, case_id: int, number: int) -> Any:
    user = request.user
    case = access.get_case_for_user(user, case_id)
    assessment = services.assessment_of(case, number)
    if assessment is None:
        raise Http404(_("No such assessment."))
    return _assessment(assessment, user)


# --- questionnaires -----------------------------------------------------------------------------


@router.get("/questionnaires", response=answers(list[QuestionnaireOut], 404))
def list_questionnaires(request: AuthenticatedHttpRequest) -> Any:
    user = request.user
    require_perm(user, Perm.MANAGE_CONFIGURATION)
    items = Questionnaire.objects.filter(agency_id=user.agency_id or 0).prefetch_related("versions")
    return [
        {
            "id": item.pk,
            "code": item.code,
            "title": item.title,
            "is_active": item.is_active,
            "versions": sorted(version.pk for version in item.versions.all()),
        }
        for item in items
    ]


@router.post(
    "/questionnaires",
    response=answers(QuestionnaireVersionOut, 400, 403, 404, 413, status=201),
    summary="Upload an XLSForm as a new questionnaire",
)
def upload_questionnaire(
    request: AuthenticatedHttpRequest, file: File[UploadedFile], title: Form[str] = ""
) -> Any:
    """A broken form is refused (400, code `form_refused`) with `problems`: [{row, reason}];
    a workbook over the upload limits (size, unpacked size, rows) with 413."""
    user = request.user
    require_perm(user, Perm.MANAGE_CONFIGURATION)
    version = services.upload_questionnaire(
        by=user, data=file.read(), file_name=file.name or "", title=title
    )
    return Status(201, _version(version))


@router.post(
    "/questionnaires/new",
    response=answers(QuestionnaireOut, 400, 404, status=201),
    summary="An empty questionnaire, to build with the editor",
)
def new_questionnaire(request: AuthenticatedHttpRequest, payload: NewQuestionnaireIn) -> Any:
    user = request.user
    require_perm(user, Perm.MANAGE_CONFIGURATION)
    item = services.create_questionnaire(by=user, title=payload.title)
    return Status(
        201,
        {
            "id": item.pk,
            "code": item.code,
            "title": item.title,
            "is_active": item.is_active,
            "versions": [],
        },
    )


@router.get(
    "/questionnaires/{questionnaire_id}",
    response=answers(QuestionnaireVersionOut, 404),
    summary="The current version of a questionnaire",
)
def get_questionnaire(request: AuthenticatedHttpRequest, questionnaire_id: int) -> Any:
    questionnaire = _questionnaire(request.user, questionnaire_id)
    version = questionnaire.versions.select_related("questionnaire").order_by("-number").first()
    if version is None:
        raise Http404(_("This questionnaire has no questions yet."))
    return _version(version)


@router.post(
    "/questionnaires/{questionnaire_id}/versions",
    response=answers(QuestionnaireVersionOut, 400, 404, 413, status=201),
    summary="Upload an XLSForm as the next version",
)
def upload_version(
    request: AuthenticatedHttpRequest, questionnaire_id: int, file: File[UploadedFile]
) -> Any:
    user = request.user
    questionnaire = _questionnaire(user, questionnaire_id)
    version = services.upload_questionnaire(
        by=user, data=file.read(), file_name=file.name or "", questionnaire=questionnaire
    )
    return Status(201, _version(version))


@router.post(
    "/questionnaires/{questionnaire_id}/questions",
    response=answers(QuestionnaireVersionOut, 400, 404, status=201),
    summary="Add a question (the form editor): a new version",
)
def add_question(
    request: AuthenticatedHttpRequest, questionnaire_id: int, payload: QuestionIn
) -> Any:
    user = request.user
    questionnaire = _questionnaire(user, questionnaire_id)
    version = services.add_question(
        questionnaire,
        by=user,
        question=questionnaires.QuestionInput(
            type=payload.type,
            name=payload.name,
            labels=payload.labels,
            required=payload.required,
            hint=payload.hint,
            relevant=payload.relevant,
            constraint=payload.constraint,
            constraint_message=payload.constraint_message,
            choices=[
                (str(choice.get("name", "")), dict(choice.get("label") or {}))
                for choice in payload.choices
            ],
        ),
    )
    return Status(201, _version(version))


@router.post(
    "/questionnaires/{questionnaire_id}/active",
    response=answers(None, 404, status=204),
    summary="Ask (or stop asking) a questionnaire in new assessments",
)
def set_active(request: AuthenticatedHttpRequest, questionnaire_id: int, payload: ActiveIn) -> Any:
    user = request.user
    questionnaire = _questionnaire(user, questionnaire_id)
    services.set_questionnaire_active(questionnaire, by=user, active=payload.active)
    return Status(204, None)


# --- risk policy --------------------------------------------------------------------------------


def _windows(agency_id: int | None) -> list[dict[str, Any]]:
    return [
        {"level": level, "due_hours": window.due_hours, "target_hours": window.target_hours}
        for level, window in windows_for(agency_id).items()
    ]


@router.get("/risk-policy", response=answers(list[WindowOut], 404))
def get_risk_policy(request: AuthenticatedHttpRequest) -> Any:
    """The agency's follow-up windows per risk level (hours to the target and to the due time)."""
    user = request.user
    if not (
        user.has_casework_perm(Perm.MANAGE_CONFIGURATION)
        or user.has_casework_perm(Perm.WORK_ON_CASES)
    ):
        raise Http404(_("Not found."))
    return _windows(user.agency_id)


@router.put("/risk-policy", response=answers(list[WindowOut], 400, 404))
def put_risk_policy(request: AuthenticatedHttpRequest, payload: RiskPolicyIn) -> Any:
    user = request.user
    require_perm(user, Perm.MANAGE_CONFIGURATION)
    services.set_risk_policy(
        by=user,
        windows={
            level: deadlines.Window(window.due_hours, window.target_hours)
            for level in RiskLevel.values
            if (window := getattr(payload, level)) is not None
        },
    )
    return _windows(user.agency_id)
