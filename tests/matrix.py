"""The permission matrix's world and its machinery: one of every kind of object, owned by amina's
North team, a map from every route parameter to the id of its object, and request bodies built
from the OpenAPI request schemas.

A route parameter the map does not know fails the matrix (`UnknownParameter`): a new route joins
the matrix by naming its object here, never by slipping through with an id that does not exist.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.test import Client
from django.utils import timezone

from casework.api import api

API_PREFIX = "/api/v1"
WRITE_METHODS = ("post", "put", "patch", "delete")


class UnknownParameter(AssertionError):
    """A route names an object the matrix cannot fill in: add it to the world and the map."""


@dataclass
class Operation:
    method: str
    template: str
    operation_id: str
    params: list[str]
    if_match: bool
    body: dict[str, Any] | None = None
    multipart: bool = False
    query: str = ""  # the required query parameters, e.g. "?period=2026-Q3"


@dataclass
class World:
    """The ids of amina's objects, by kind."""

    ids: dict[str, int | str] = field(default_factory=dict)
    case: Any = None
    users: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# The world


def _spread_ids() -> None:
    """On PostgreSQL, start every table's ids at a different thousand, so that an id of one kind
    of object used where another kind is meant names nothing (a 404 the matrix reports) instead
    of happening to name an object of the right kind."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() "
            "ORDER BY sequencename"
        )
        for number, (name,) in enumerate(cursor.fetchall(), start=1):
            cursor.execute("SELECT setval(%s, %s, false)", [name, 100_000 + 1_000 * number])


def build_world(
    users: dict[str, Any], register: Callable[..., Any], make_user: Callable[..., Any]
) -> World:
    """One of every kind of object in amina's North team, made through the services. `users`
    gains rhea, the supervisor of the agency a case of amina's is offered to."""
    _spread_ids()
    from casework.accounts import tokens
    from casework.accounts.models import Agency, ApiToken, Team
    from casework.assessments import services as assessments
    from casework.assessments.tests.xlsforms import household_form
    from casework.cases import merging, relationships, workflow
    from casework.cases import services as cases
    from casework.indicators import frozen
    from casework.indicators.periods import last_complete_quarter
    from casework.interchange.importer import check_upload
    from casework.interchange.models import ColumnMapping, ExportFile, ExportRun
    from casework.interchange.tests.conftest import case_rows, cases_bytes
    from casework.people import duplicates
    from casework.people.models import DuplicateCandidate
    from casework.plans import services as plans
    from casework.plans.models import PlanMatch
    from casework.plans.tests.conftest import content, participation
    from casework.privacy import services as privacy
    from casework.privacy.models import ReadAlert
    from casework.referrals import services as referrals
    from casework.referrals.models import Organisation, Service
    from casework.retention.models import PurgeRequest
    from casework.worklist.models import Notification, Task

    amina, sam, adam, paul = users["amina"], users["sam"], users["adam"], users["paul"]
    world = World(users=users)
    case = register(amina)
    world.case = case

    # Consent to share with priya's clinic and with the receiving agency of the transfer.
    receiving = Agency.objects.create(code="RCV", name="Receiving Agency", require_mfa=False)
    users["rhea"] = make_user(
        "rhea",
        agency=receiving,
        team=Team.objects.create(agency=receiving, name="Riverside"),
        role="supervisor",
    )
    clinic = Organisation.objects.create(
        code="PRT", name="Partner Clinic", agency=users["priya"].agency, referral_method="form"
    )
    care = Service.objects.create(
        organisation=clinic, name="General health care", sector="health", nationwide=True
    )
    consent = cases.record_consent(
        case,
        by=amina,
        details=cases.ConsentDetails(
            receive_services=True,
            given_by="client",
            share_for_referral=True,
            recipients=[
                cases.RecipientDetails(
                    organisation_name="Partner Clinic",
                    organisation_code="PRT",
                    information=["case_summary"],
                ),
            ],
        ),
    )
    referral = referrals.send_referral(
        case,
        by=amina,
        details=referrals.ReferralDetails(
            service=care, need_code="health", summary="Needs a check-up."
        ),
    )
    # A need no service answers (a service gap), open.
    unmet_need = referrals.record_unmet_need(
        case, by=amina, need_code="food", reason="full", step="plan"
    )
    note = cases.add_note(
        case, by=amina, text="Met at the office.", contact_type="office", contact_on=None
    )
    relative = relationships.add_relative(
        case, by=amina, details=relationships.RelativeDetails(given_name="Awa", kind="sibling")
    )

    # Assessed and planned, with a near-identical plan on a second case for a match.
    assessment = assessments.record_assessment(
        case,
        by=amina,
        details=assessments.AssessmentDetails(
            risk_level="medium",
            risk_rationale="Lives with the person who exploited her.",
            findings=[
                assessments.FindingDetails(
                    domain="shelter", need_level="high", services=["shelter"]
                )
            ],
        ),
    )
    case.refresh_from_db()
    if case.status == "identified":
        cases.transition_case(case, to="assessed", by=amina)
    plan = plans.create_plan(case, by=amina, content=content())
    # Submitted, so that the supervisor's decision is reachable (the rest answer with its state).
    plans.record_participation(plan, by=amina, details=participation())
    twin_case = register(amina, given_name="Mariam", family_name="Coulibaly", age=25)
    cases.transition_case(twin_case, to="assessed", by=amina)
    plans.create_plan(
        twin_case,
        by=amina,
        content=content(
            goals=[
                "Mariam finds safe housing near her sister in Bamako",
                "Mariam returns to her tailoring apprenticeship",
            ]
        ),
    )
    plans.submit_plan(plan, by=amina)
    match = PlanMatch.objects.filter(plan=plan).first() or PlanMatch.objects.first()

    # A transfer offered to another agency and a closure waiting for the supervisor, each on its
    # own case of amina's so that neither blocks the other writes.
    transferred = register(amina, given_name="Salif", family_name="Diarra", age=40)
    cases.record_consent(
        transferred,
        by=amina,
        details=cases.ConsentDetails(
            receive_services=True,
            given_by="client",
            share_for_referral=True,
            recipients=[
                cases.RecipientDetails(
                    organisation_name="Receiving Agency",
                    organisation_code="RCV",
                    purpose="transfer",
                )
            ],
        ),
    )
    transfer = workflow.request_transfer(
        transferred, to_agency=receiving, by=amina, reason="Moved to another region."
    )
    closing = register(amina, given_name="Oumar", family_name="Sangaré", age=50)
    closure = workflow.request_closure(closing, by=amina, reason="relocated", summary="Moved away.")

    # Two records of one person: a duplicate candidate, and a merge of another pair.
    register(amina, given_name="Fatima", family_name="Traore", age=31)
    duplicates.find_duplicates(amina.agency_id)
    candidate = (
        DuplicateCandidate.objects.filter(
            first_id__in=[case.person_id], status=DuplicateCandidate.Status.OPEN
        ).first()
        or DuplicateCandidate.objects.filter(second_id=case.person_id).first()
    )
    kept = register(amina, given_name="Kadiatou", family_name="Bah", age=22)
    folded = register(amina, given_name="Kadiatou", family_name="Ba", age=22)
    merge = merging.merge_persons(
        kept.person,
        folded.person,
        by=sam,
        choices={name: merging.KEEP for name in merging.conflicts(kept.person, folded.person)},
    )

    # A third record of her, for the merge the matrix asks for (a real id, not 1: PostgreSQL's
    # sequences do not start again for each test).
    spare = register(amina, given_name="Kadiatou", family_name="Bah", age=22)

    task = Task.objects.filter(case=case).first()
    notification = Notification.objects.create(
        user=amina, case=case, task=task, kind=Notification.Kind.TASK_OVERDUE
    )
    questionnaire = assessments.upload_questionnaire(
        by=adam, data=household_form(), file_name="household.xlsx"
    )
    # An upload checked and waiting for paul's confirmation.
    run = check_upload(
        by=paul, cases=cases_bytes(case_rows(1, caseworker="amina")), surveys=None, mapping=None
    ).run
    assert run is not None
    mapping = ColumnMapping.objects.create(
        agency=amina.agency, name="Partner sheet", columns={"Ref": "case_ref"}, created_by=paul
    )

    # The data-protection officer's desk: a request whose identity a second officer checked,
    # its compiled package, and an alert about unusual reading.
    users["deputy"] = make_user("deputy", agency=amina.agency, role="data_protection_officer")
    data_request = privacy.confirm_identity(
        privacy.receive_request(
            by=users["dana"],
            kind="access",
            requested_by="subject",
            received_on=timezone.localdate(),
            identifier=case.reference,
        ),
        by=users["deputy"],
    )
    package = privacy.compile_package(data_request, by=users["dana"])
    now = timezone.now()
    alert = ReadAlert.objects.create(
        agency=amina.agency,
        reader=amina,
        raised_at=now,
        window_start=now,
        cases_read=50,
        threshold=40,
    )
    # The administration area: a service account, and a purge waiting for a second administrator.
    service_account = make_user(
        "harvester", agency=amina.agency, role="me_officer", is_service_account=True
    )
    purge_request = PurgeRequest.objects.create(
        agency=amina.agency, requested_by=adam, requested_at=now
    )
    # amina's own API token.
    tokens.create_token(owner=amina, by=amina, name="Phone", scopes=["read"], days=30)
    token = ApiToken.objects.filter(user=amina).latest("pk")
    # An export with names paul keeps for download (made directly: the world's consents do not
    # cover an export, and the file's content does not matter to the gate).
    export_run = ExportRun.objects.create(
        agency_id=paul.agency_id, created_by=paul, file_format="csv", with_names=True
    )
    export_file = ExportFile.objects.create(
        run=export_run,
        agency_id=paul.agency_id,
        created_by=paul,
        expires_at=timezone.now() + datetime.timedelta(days=7),
        name="casework-export.cwx",
        content="Q1dYMQ==",
    )

    # A report the M&E officer froze as it went to a donor.
    frozen_report = frozen.freeze_report(
        by=users["mei"],
        period=last_complete_quarter(timezone.localdate()),
        disaggregations=[("sex",)],
        recipient="Donor report",
    )
    # The consortium: the receiving agency shares its figures with amina's (the lead), and
    # amina's agency shares with the receiving one (the agreement adam may revoke); adam
    # accepted the first (the one his agency answers, as lead); a DHIS2
    # mapping of amina's agency.
    from casework.indicators.models import ConsortiumAgreement, Dhis2Mapping

    received_agreement = ConsortiumAgreement.objects.create(
        member=receiving,
        lead=amina.agency,
        starts_on=datetime.date(2020, 1, 1),
        agreed_by=users["rhea"],
        agreed_at=timezone.now(),
        accepted_by=adam,
        accepted_at=timezone.now(),
    )
    consortium_agreement = ConsortiumAgreement.objects.create(
        member=amina.agency,
        lead=receiving,
        starts_on=datetime.date(2020, 1, 1),
        agreed_by=adam,
        agreed_at=timezone.now(),
    )
    dhis2_mapping = Dhis2Mapping.objects.create(
        agency=amina.agency,
        indicator_code="CM_CHILDREN_YOUTH",
        data_element="AbCdEfGhIj1",
        org_unit="OrgUnit0001",
    )
    # A supervision session sam held with amina about her case, with an agreed action.
    from casework.supervision import services as supervision

    supervision_session = supervision.record_session(
        by=sam,
        details=supervision.SessionDetails(
            kind="individual",
            held_on=timezone.localdate(),
            caseworkers=[amina],
            discussed=[supervision.DiscussionDetails(case, "Keep weekly visits.")],
            actions=[
                supervision.ActionDetails(
                    case=case,
                    text="Visit the shelter",
                    assignee=amina,
                    due_on=timezone.localdate() + datetime.timedelta(days=7),
                )
            ],
        ),
    )
    # An attribute the administrator defined (agency-defined attributes, GESI).
    from casework.attributes import services as attributes

    attribute = attributes.define_attribute(
        by=adam,
        code="ethnicity",
        label="Ethnicity",
        applies_to="person",
        sensitive=True,
        choices=[attributes.ChoiceDetails("group_a", "Group A")],
    )
    # A supervisor's sample of North's plans for spot checks, with the checks to record.
    from casework.core.periods import current_quarter
    from casework.plans import verification

    sample = verification.draw_sample(by=sam, period=current_quarter(timezone.localdate()), seed=1)
    spot_check = sample.checks.first()

    world.ids = {
        "case": case.pk,
        "person": case.person_id,
        "note": note.pk,
        "consent": consent.pk,
        "relative": relative.relative_id,
        "assessment_number": assessment.number,
        "plan": plan.pk,
        "match": match.pk if match else 0,
        "spot_check_sample": sample.pk,
        "spot_check": spot_check.pk if spot_check else 0,
        "referral": referral.pk,
        "unmet_need": unmet_need.pk,
        "transfer": transfer.pk,
        "transferred_case": transferred.pk,
        "closure": closure.pk,
        "closing_case": closing.pk,
        "candidate": candidate.pk if candidate else 0,
        "merge": merge.pk,
        "merge_person": kept.person_id,
        "merge_other": spare.person_id,
        "task": task.pk if task else 0,
        "notification": notification.pk,
        # The upload answers with the version it made; routes name the questionnaire.
        "questionnaire": questionnaire.questionnaire_id,
        "questionnaire_version": questionnaire.number,
        "organisation_code": clinic.code,
        "organisation": clinic.pk,
        "service": care.pk,
        "run": run.pk,
        "mapping": mapping.pk,
        "data_request": data_request.pk,
        "package": package.pk,
        "alert": alert.pk,
        "service_account": service_account.pk,
        "purge_request": purge_request.pk,
        "export_file": export_file.pk,
        "setting": "cases.caseload_threshold",
        "token": token.pk,
        "member": amina.pk,
        "frozen_report": frozen_report.pk,
        "supervision_session": supervision_session.pk,
        "consortium_agreement": consortium_agreement.pk,
        "received_agreement": received_agreement.pk,
        "dhis2_mapping": dhis2_mapping.pk,
        "attribute": attribute.pk,
    }
    missing = [kind for kind, pk in world.ids.items() if not pk]
    assert not missing, f"the matrix's world lacks: {missing}"
    return world


# ---------------------------------------------------------------------------------------------
# Parameters → objects

# The object an API path parameter names. A parameter that depends on its neighbours (the case
# of a closure or a transfer) is resolved by `api_object_of`.
API_PARAMETERS: dict[str, str] = {
    "case_id": "case",
    "person_id": "person",
    "note_id": "note",
    "consent_id": "consent",
    "relative_id": "relative",
    "number": "assessment_number",
    "plan_id": "plan",
    "match_id": "match",
    "sample_id": "spot_check_sample",
    "check_id": "spot_check",
    "referral_id": "referral",
    "unmet_need_id": "unmet_need",
    "transfer_id": "transfer",
    "closure_id": "closure",
    "candidate_id": "candidate",
    "merge_id": "merge",
    "task_id": "task",
    "notification_id": "notification",
    "questionnaire_id": "questionnaire",
    "code": "organisation_code",
    "service_id": "service",
    "run_id": "run",
    "export_id": "export_file",
    "key": "setting",
    "frozen_id": "frozen_report",
    "session_id": "supervision_session",
    "attribute_id": "attribute",
}


def fill_api(template: str, world: World) -> tuple[str, list[str]]:
    """The path with real ids, and the kinds of object it names."""
    kinds: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in API_PARAMETERS:
            raise UnknownParameter(f"{template}: no object in the matrix for {{{name}}}")
        kind = API_PARAMETERS[name]
        # The case a closure belongs to is the closing case.
        if kind == "case" and "{closure_id}" in template:
            kind = "closing_case"
        if kind == "person" and "/merge" in template:
            kind = "merge_person"
        kinds.append(kind)
        return str(world.ids[kind])

    return re.sub(r"\{(\w+)\}", replace, template), kinds


# ---------------------------------------------------------------------------------------------
# Bodies from the OpenAPI schema


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


# Values the schema cannot know: real ids of the world, and texts the services require.
def _named(name: str, world: World) -> Any:
    users = world.users
    known: dict[str, Any] = {
        "service_id": world.ids["service"],
        "service": world.ids["service"],
        "to_user": users["amina"].pk,
        "to_user_id": users["amina"].pk,
        "caseworker_id": users["amina"].pk,
        "assignee_id": users["amina"].pk,
        "to_agency": "RCV",
        "organisation_code": "PRT",
        "code": "NEW",
        "consent_id": world.ids["consent"],
        "person_id": world.ids["person"],
        "relative_id": world.ids["relative"],
        "other_id": world.ids["person"],
        "other": world.ids["merge_other"],
        # The new value of the setting the matrix changes (cases.caseload_threshold).
        "value": 25,
        # Periods of the indicator reports.
        "period": "2026-Q3",
        "start": "2026-01",
        "end": "2026-06",
    }
    return known.get(name)


def instance(
    schema: dict[str, Any], components: dict[str, Any], world: World, name: str = ""
) -> Any:
    """A minimal valid instance: required properties only, with examples, the first enum value
    or the first choice."""
    schema = _resolve(schema, components)
    named = _named(name, world)
    if named is not None:
        return named
    if "example" in schema:
        return schema["example"]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            choices = [c for c in schema[key] if _resolve(c, components).get("type") != "null"]
            return instance(choices[0] if choices else schema[key][0], components, world, name)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {
            prop: instance(properties[prop], components, world, prop)
            for prop in schema.get("required", [])
        }
    if kind == "array":
        count = max(1, schema.get("minItems", 0))
        return [instance(schema.get("items", {}), components, world, name) for _ in range(count)]
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date":
            return timezone.localdate().isoformat()
        if fmt == "date-time":
            return timezone.now().isoformat()
        if fmt == "binary":
            return b"reference\n"
        return "Checked with the client." if schema.get("minLength", 1) <= 24 else "x" * 30
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    return None


def operations(world: World) -> list[Operation]:
    schema = api.get_openapi_schema()
    components = schema.get("components", {}).get("schemas", {})
    found = []
    for path, methods in schema["paths"].items():
        template = path if path.startswith(API_PREFIX) else API_PREFIX + path
        for method, spec in methods.items():
            if method not in ("get", *WRITE_METHODS):
                continue
            body = None
            multipart = False
            content = spec.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = instance(content["application/json"]["schema"], components, world)
            elif "multipart/form-data" in content:
                body = instance(content["multipart/form-data"]["schema"], components, world)
                multipart = True
            required = {
                parameter["name"]: instance(
                    parameter.get("schema", {}), components, world, parameter["name"]
                )
                for parameter in spec.get("parameters", [])
                if parameter.get("in") == "query" and parameter.get("required")
            }
            found.append(
                Operation(
                    method=method,
                    template=template,
                    operation_id=spec.get("operationId", ""),
                    params=re.findall(r"\{(\w+)\}", template),
                    if_match=spec.get("x-if-match") is not None,
                    body=body,
                    multipart=multipart,
                    query="?" + urlencode(required) if required else "",
                )
            )
    return sorted(found, key=lambda op: (op.template, op.method))


# ---------------------------------------------------------------------------------------------
# Requests


# Where the record a write changes is read, by the kind of object its path names.
RECORD_OF = {"case": "/cases/{}", "person": "/persons/{}", "plan": "/plans/{}"}


def etag_for(path: str, kinds: list[str], world: World, readers: list[Client]) -> str | None:
    """The ETag of the record a write would change: read with the longest readable prefix of
    its path, else from the record of the first object the path names."""
    parts = path.split("/")
    candidates = ["/".join(parts[:end]) for end in range(len(parts), 3, -1)]
    candidates += [
        API_PREFIX + RECORD_OF[kind].format(world.ids[kind]) for kind in kinds if kind in RECORD_OF
    ]
    if "transferred_case" in kinds or "/transfers/" in path:
        candidates.append(f"{API_PREFIX}/cases/{world.ids['transferred_case']}")
    if "merge" in kinds:
        candidates.append(f"{API_PREFIX}/persons/{world.ids['merge_person']}")
    for prefix in candidates:
        for reader in readers:
            response = reader.get(prefix)
            if response.status_code == 200 and response.get("ETag"):
                return str(response["ETag"])
    return None


def send(client: Client, op: Operation, path: str, etag: str | None) -> int:
    """Send the operation and roll back whatever it wrote, so each request meets the same world."""
    from casework.vault import keys

    headers = {"If-Match": etag} if etag else {}
    with transaction.atomic():
        if op.method == "get":
            status = client.get(path, headers=headers).status_code
        elif op.multipart:
            from django.core.files.uploadedfile import SimpleUploadedFile

            data = {
                name: SimpleUploadedFile(f"{name}.csv", value)
                if isinstance(value, bytes)
                else value
                for name, value in (op.body or {}).items()
            }
            status = getattr(client, op.method)(path, data=data, headers=headers).status_code
        else:
            import json

            status = getattr(client, op.method)(
                path,
                data=json.dumps(op.body if op.body is not None else {}),
                content_type="application/json",
                headers=headers,
            ).status_code
        transaction.set_rollback(True)
    keys.clear_cache()
    return status


# ---------------------------------------------------------------------------------------------
# Screens: the same world, named by URL patterns

# The object a screen's parameter names: first by its name in the route, then, for a bare `pk`,
# by the part of the path it follows. A route whose parameter is not here fails the matrix.
HTML_NAMED: dict[str, str] = {
    "case_pk": "case",
    "attribute_pk": "attribute",
    "closure_pk": "closure",
    "consent_pk": "consent",
    "note_pk": "note",
    "plan_pk": "plan",
    "match_pk": "match",
    "sample_pk": "spot_check_sample",
    "check_pk": "spot_check",
    "person_pk": "relative",
    "transfer_pk": "transfer",
    "merge_pk": "merge",
    "other_pk": "merge_other",
    "questionnaire_pk": "questionnaire",
    "organisation_pk": "organisation",
    "task_pk": "task",
    "notification_pk": "notification",
    "token_id": "token",
    "key": "setting",
}
# A password-reset link's parts: any text (a link that is not valid is its own page).
HTML_LITERAL = {"uidb64": "MQ", "token": "set-password"}
# For `pk`: the last literal part of the route before it.
HTML_PK: dict[str, str] = {
    "cases": "case",
    "persons": "person",
    "referrals": "referral",
    "unmet-needs": "unmet_need",
    "imports": "run",
    "mappings": "mapping",
    "alerts": "alert",
    "packages": "package",
    "requests": "data_request",
    "organisations": "organisation",
    "services": "service",
    "purge": "purge_request",
    "duplicates": "candidate",
    "exports": "export_file",
    "frozen": "frozen_report",
    "supervision": "supervision_session",
    "agreements": "consortium_agreement",
    "received": "received_agreement",
    "dhis2": "dhis2_mapping",
}


def fill_html(route: str, world: World) -> tuple[str, list[str]]:
    """The screen's path with real ids, and the kinds of object it names."""
    kinds: list[str] = []
    parts = route.split("/")
    filled = []
    for index, part in enumerate(parts):
        match = re.fullmatch(r"(.*)<(?:(\w+):)?(\w+)>(.*)", part)
        if not match:
            filled.append(part)
            continue
        before, _converter, name, after = match.groups()
        if name == "file_format":
            filled.append(f"{before}json{after}")
            continue
        if name in HTML_LITERAL:
            filled.append(f"{before}{HTML_LITERAL[name]}{after}")
            continue
        if name == "user_id":
            # The administration area's service account, or amina's account in the user list.
            kind = "service_account" if route.startswith("administration/") else "member"
            kinds.append(kind)
            filled.append(f"{before}{world.ids[kind]}{after}")
            continue
        if name == "number":
            kind = (
                "questionnaire_version"
                if route.startswith("questionnaires/")
                else ("assessment_number")
            )
        elif name == "pk":
            kind = HTML_PK.get(parts[index - 1], "") if index else ""
        else:
            kind = HTML_NAMED.get(name, "")
        if not kind:
            raise UnknownParameter(f"{route}: no object in the matrix for <{name}>")
        # The case a closure belongs to is the closing case; the merge's person is the kept one.
        if kind == "case" and "/closures/" in route:
            kind = "closing_case"
        if kind == "person" and "/merge/" in route:
            kind = "merge_person"
        kinds.append(kind)
        filled.append(f"{before}{world.ids[kind]}{after}")
    return "/" + "/".join(filled), kinds


class _FormReader(HTMLParser):
    """The fields of the page's forms that post back to it, as a browser would submit them
    untouched: inputs with their values, checked boxes, the selected (or first) option,
    textareas' text."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.forms: list[dict[str, list[str]]] = []
        self._form: dict[str, list[str]] | None = None
        self._select: str | None = None
        self._select_chosen = False
        self._first_option: str | None = None
        self._option: dict[str, str] | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            action = found.get("action", "")
            if found.get("method", "get").lower() == "post" and action in ("", self.path):
                self._form = {}
            return
        if self._form is None:
            return
        name = found.get("name")
        if tag == "input" and name:
            kind = found.get("type", "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in found:
                return
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            self._form.setdefault(name, []).append(
                found.get("value", "on" if kind in ("checkbox", "radio") else "")
            )
        elif tag == "select" and name:
            self._select, self._select_chosen, self._first_option = name, False, None
        elif tag == "option" and self._select:
            self._option = found
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)
        elif self._option is not None and "value" not in self._option:
            self._option["value"] = data.strip()

    def handle_endtag(self, tag: str) -> None:
        if self._form is None:
            return
        if tag == "option" and self._select and self._option is not None:
            value = self._option.get("value", "")
            if self._first_option is None and value:
                self._first_option = value
            if "selected" in self._option:
                self._form.setdefault(self._select, []).append(value)
                self._select_chosen = True
            self._option = None
        elif tag == "select" and self._select:
            if not self._select_chosen and self._first_option is not None:
                self._form.setdefault(self._select, []).append(self._first_option)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._form.setdefault(self._textarea, []).append("".join(self._text).strip())
            self._textarea = None
        elif tag == "form":
            self.forms.append(self._form)
            self._form = None


def form_of(page: str, path: str) -> dict[str, list[str]]:
    """What submitting the page's own form, untouched, would send (empty without one)."""
    reader = _FormReader(path)
    reader.feed(page)
    return reader.forms[0] if reader.forms else {}


def send_html(client: Client, method: str, path: str, data: dict[str, list[str]]) -> int:
    """Get or post a screen and roll back whatever it wrote."""
    from casework.vault import keys

    with transaction.atomic():
        if method == "get":
            status = client.get(path).status_code
        else:
            status = client.post(path, data=data).status_code
        transaction.set_rollback(True)
    keys.clear_cache()
    return status
