"""An access package: everything the agency holds on one person, as JSON (and as the PDF made
from it), with third parties redacted.

"Everything" is found the way retention finds what to blank (casework/retention/services.py): every
model with an encrypted column that leads to the person through foreign keys, plus the models about
the person that hold no encrypted column (`UNENCRYPTED`), less what is not theirs to receive
(`NOT_IN_PACKAGE`, with the reason). A new model with personal data therefore joins the package
without anyone remembering to add it, and a test holds the package to retention's list.

Redaction, done before anyone reads the package:
- another person linked to the row (a relative, a caregiver who consented) is named as "a third
  party", never by name; so are the fields that name someone else (`THIRD_PARTY_FIELDS`);
- the names of the person's relatives, household members and caregivers are blanked out of every
  free text (`NameRedactor`), except the words of the person's own names;
- staff are named by their role, not their name: in this work knowing who handled a file can put
  a caseworker at risk, and staff names are not the client's data.
Free text can still mention someone the system does not know of; that is what the review is for
(the reviewer may withhold items before release).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from casework.accounts.models import User
from casework.cases.models import Case, Consent, ConsentRecipient
from casework.feedback.models import ParticipationSurvey
from casework.people.models import Person, Relationship
from casework.plans.models import ActionUpdate, PlanAction
from casework.retention.services import path_to_person, personal_columns
from casework.vault.crypto import Unreadable
from casework.vault.fields import EncryptedMixin

FORMAT = "casework.access-package/1"

# About the person, but without an encrypted column (so retention's search does not list them).
UNENCRYPTED: tuple[type[models.Model], ...] = (
    Case,
    Relationship,
    ConsentRecipient,
    ParticipationSurvey,
    ActionUpdate,
)

# Found by the search, but not the person's to receive, and why.
NOT_IN_PACKAGE: dict[str, str] = {
    # A supervisor's comparison of this plan with another person's plan: it is as much about
    # the other person, whose plan it points to.
    "plans.planmatch": "compares the plan with another person's plan",
    # The packages themselves: earlier copies of the same data.
    "privacy.accesspackage": "an earlier copy of this package",
}

# The order sections are shown in; any other model found follows, by label.
ORDER = (
    "people.person",
    "people.personrevision",
    "people.relationship",
    "cases.case",
    "cases.caserevision",
    "cases.transition",
    "cases.consent",
    "cases.consentrecipient",
    "cases.casenote",
    "cases.noterevision",
    "cases.followup",
    "cases.assignment",
    "cases.transferrequest",
    "cases.closurerequest",
    "cases.personmerge",
    "assessments.assessment",
    "assessments.domainfinding",
    "assessments.questionnaireresponse",
    "plans.caseplan",
    "plans.planneed",
    "plans.plangoal",
    "plans.planaction",
    "plans.participation",
    "plans.plandecision",
    "plans.planreview",
    "plans.goalprogress",
    "plans.actionupdate",
    "referrals.referral",
    "referrals.referralevent",
    "referrals.noreferralneeded",
    "feedback.participationsurvey",
    "feedback.exitinterview",
)

# Bookkeeping that says nothing about the person (hashes, versions, positions in a list).
HIDDEN_FIELDS = frozenset(
    {
        "id",
        "version",
        "revision",
        "fold_hash",
        "plan_fold_hash",
        "plan_text_shared",
        "plan_is_group",
        "position",
        "copied_from",
        "next_due_at",
        "overdue_flagged_at",
    }
)


def _always(row: models.Model) -> bool:
    return True


def _not_an_organisation(row: models.Model) -> bool:
    return getattr(row, "responsible", "") != PlanAction.Responsible.ORGANISATION


# Fields that name someone other than the person (when the rule says so for the row).
THIRD_PARTY_FIELDS: dict[str, Callable[[models.Model], bool]] = {
    "cases.consent.caregiver_name": _always,
    "referrals.referral.accompanied_by_name": _always,
    "plans.planaction.responsible_name": _not_an_organisation,
}


def third_party() -> str:
    return _("[third party]")


@dataclass(frozen=True)
class Section:
    model: type[models.Model]
    path: str  # from the model to the person

    @property
    def key(self) -> str:
        return self.model._meta.label_lower


def sections() -> list[Section]:
    """Every kind of row the package holds, in the order it shows them."""
    found: dict[str, Section] = {}
    for model in [columns.model for columns in personal_columns()] + list(UNENCRYPTED):
        label = model._meta.label_lower
        path = path_to_person(model)
        if label in NOT_IN_PACKAGE or label in found or path is None:
            continue
        found[label] = Section(model, path)
    ranked = {label: position for position, label in enumerate(ORDER)}
    return sorted(found.values(), key=lambda item: (ranked.get(item.key, len(ORDER)), item.key))


class NameRedactor:
    """Blanks the names of third parties out of a text, whole names first, then each of their
    words, except the words of the person's own names (a mother often shares a family name)."""

    def __init__(self, third_parties: Iterable[str], own_names: Iterable[str]) -> None:
        own_words = {word.casefold() for name in own_names for word in name.split()}
        own_whole = {" ".join(name.split()).casefold() for name in own_names}
        candidates: set[str] = set()
        for name in third_parties:
            whole = " ".join(str(name).split())
            if len(whole) >= 2 and whole.casefold() not in own_whole:
                candidates.add(whole)
            for word in whole.split():
                if len(word) >= 2 and word.casefold() not in own_words:
                    candidates.add(word)
        self.pattern: re.Pattern[str] | None = None
        if candidates:
            longest_first = sorted(candidates, key=lambda text: (-len(text), text))
            alternatives = "|".join(re.escape(text) for text in longest_first)
            self.pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
        self.count = 0

    def __call__(self, text: str) -> str:
        if self.pattern is None or not text:
            return text
        redacted, found = self.pattern.subn(third_party(), text)
        self.count += found
        return redacted


@dataclass
class _Compiler:
    subject: Person
    subject_ids: set[int]
    rows: dict[str, list[models.Model]] = field(default_factory=dict)
    case_references: dict[int, str] = field(default_factory=dict)
    section_keys: set[str] = field(default_factory=set)
    redactor: NameRedactor | None = None
    fields_redacted: int = 0

    # --- loading ---------------------------------------------------------------------------------

    def load(self, found: list[Section]) -> None:
        self.section_keys = {section.key for section in found}
        for section in found:
            model = section.model
            follow = [
                relation.name
                for relation in model._meta.concrete_fields
                if relation.is_relation
                and _shown_by_name(relation.related_model, self.section_keys)
            ]
            many = [relation.name for relation in model._meta.many_to_many]
            self.rows[section.key] = list(
                model._base_manager.filter(**{f"{section.path}__in": self.subject_ids})
                .select_related(*follow)
                .prefetch_related(*many)
                .order_by("pk")
            )
        self.case_references = {
            case.pk: str(getattr(case, "reference", "")) for case in self.rows.get("cases.case", [])
        }

    def third_party_names(self) -> list[str]:
        """The names of the people linked to the person: relatives, household members, the
        caregivers who consented for them, whoever accompanied them or acts in their plan."""
        others = set(
            Relationship.objects.filter(person_id__in=self.subject_ids).values_list(
                "relative_id", flat=True
            )
        )
        consents = [row for row in self.rows.get("cases.consent", []) if isinstance(row, Consent)]
        others |= {consent.caregiver_id for consent in consents if consent.caregiver_id}
        if self.subject.household_id:
            others |= set(
                Person.objects.filter(household_id=self.subject.household_id).values_list(
                    "pk", flat=True
                )
            )
        others -= self.subject_ids
        names: list[str] = []
        for person in Person.objects.filter(pk__in=others):
            names += [person.given_name, person.family_name, person.other_names, person.full_name]
        for label, rule in THIRD_PARTY_FIELDS.items():
            app_model, name = label.rsplit(".", 1)
            names += [
                str(getattr(row, name, "") or "")
                for row in self.rows.get(app_model, [])
                if rule(row)
            ]
        return [name for name in names if name and not isinstance(name, Unreadable)]

    # --- writing ---------------------------------------------------------------------------------

    def value(self, row: models.Model, model_field: Any) -> Any:
        label = f"{row._meta.label_lower}.{model_field.name}"
        if model_field.is_relation:
            return self.related(row, model_field)
        value = getattr(row, model_field.attname)
        if value in (None, ""):
            return value
        if isinstance(value, Unreadable):
            return _("[unreadable]")
        rule = THIRD_PARTY_FIELDS.get(label)
        if rule is not None and rule(row):
            self.fields_redacted += 1
            return third_party()
        if model_field.choices:
            return str(dict(model_field.flatchoices).get(value, value))
        if isinstance(value, datetime.datetime | datetime.date):
            return value.isoformat()
        if (
            isinstance(value, str)
            and isinstance(model_field, EncryptedMixin)
            and self.redactor is not None
        ):
            return self.redactor(value)
        if isinstance(value, bytes | memoryview):
            return None
        return value

    def related(self, row: models.Model, model_field: Any) -> Any:
        if model_field.many_to_many:
            return [str(item) for item in getattr(row, model_field.name).all()]
        related_id = getattr(row, model_field.attname)
        if related_id is None:
            return None
        target = model_field.related_model
        if target is Person:
            return self.subject.reference if related_id in self.subject_ids else third_party()
        if target is Case:
            return self.case_references.get(related_id, f"cases.case:{related_id}")
        if isinstance(target, type) and issubclass(target, User):
            staff = getattr(row, model_field.name)
            return str(staff.get_role_display()) if staff.role != "none" else _("Staff")
        if _shown_by_name(target, self.section_keys):
            return str(getattr(row, model_field.name))
        return f"{target._meta.label_lower}:{related_id}"

    def section(self, section: Section) -> dict[str, Any]:
        meta = section.model._meta
        shown = [
            model_field
            for model_field in [*meta.concrete_fields, *meta.many_to_many]
            if model_field.name not in HIDDEN_FIELDS
        ]
        return {
            "key": section.key,
            "title": str(meta.verbose_name_plural),
            "fields": [model_field.name for model_field in shown],  # in the model's order
            "labels": {model_field.name: str(model_field.verbose_name) for model_field in shown},
            "items": [
                {
                    "key": f"{section.key}:{row.pk}",
                    "values": {
                        model_field.name: self.value(row, model_field) for model_field in shown
                    },
                }
                for row in self.rows.get(section.key, [])
            ],
        }


def _shown_by_name(target: Any, section_keys: set[str]) -> bool:
    """Related rows named by what they are (a programme, an organisation, a member of staff's
    role), as opposed to persons and rows of the package itself, which are named by reference."""
    if not isinstance(target, type) or not issubclass(target, models.Model):
        return False
    if target is Person or target is Case:
        return False
    if issubclass(target, User):
        return True
    return target._meta.label_lower not in section_keys


def subject_of(person: Person) -> Person:
    """The record a merged-away record now lives in (merges chain at most a few times)."""
    seen = {person.pk}
    while person.merged_into_id is not None and person.merged_into_id not in seen:
        seen.add(person.merged_into_id)
        person = Person.objects.get(pk=person.merged_into_id)
    return person


@dataclass(frozen=True)
class Compiled:
    content: dict[str, Any]
    text: str
    digest: str
    case_ids: list[int]


def compile_for(person: Person, *, agency_code: str, request_id: int) -> Compiled:
    """Everything held on `person` (and the records merged into theirs), redacted, as JSON."""
    subject = subject_of(person)
    subject_ids = {subject.pk} | set(
        Person.objects.filter(merged_into=subject).values_list("pk", flat=True)
    )
    compiler = _Compiler(subject=subject, subject_ids=subject_ids)
    found = sections()
    compiler.load(found)
    own = [subject.given_name, subject.family_name, subject.other_names, subject.full_name]
    compiler.redactor = NameRedactor(compiler.third_party_names(), [name for name in own if name])
    content = {
        "format": FORMAT,
        "agency": agency_code,
        "request": request_id,
        "person": subject.reference,
        "compiled_at": timezone.now().isoformat(),
        "language": translation.get_language() or "",
        "sections": [compiler.section(section) for section in found],
    }
    content["redacted"] = {
        "names_in_text": compiler.redactor.count,
        "fields": compiler.fields_redacted,
    }
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, indent=1)
    return Compiled(
        content=content,
        text=text,
        digest=hashlib.sha256(text.encode()).hexdigest(),
        case_ids=sorted(compiler.case_references),
    )


# --- what is released, and how it is shown ------------------------------------------------------


def item_keys(content: dict[str, Any]) -> list[str]:
    return [item["key"] for section in content.get("sections", []) for item in section["items"]]


def released(content: dict[str, Any], *, withheld: Iterable[str], reason: str) -> dict[str, Any]:
    """The package as released: the items the reviewer withheld taken out, and said so."""
    held = set(withheld)
    out = dict(content)
    out["sections"] = [
        {**section, "items": [item for item in section["items"] if item["key"] not in held]}
        for section in content.get("sections", [])
    ]
    out["withheld"] = {"items": len(held), "reason": reason}
    return out


def _shown(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(_shown(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def for_display(content: dict[str, Any]) -> list[dict[str, Any]]:
    """Sections with their items as (label, text) lines, for the page and the PDF."""
    shown = []
    for section in content.get("sections", []):
        if not section["items"]:
            continue
        labels = section["labels"]
        shown.append(
            {
                "key": section["key"],
                "title": section["title"],
                "items": [
                    {
                        "key": item["key"],
                        "lines": [
                            (labels.get(name, name), _shown(item["values"][name]))
                            for name in section.get("fields") or list(item["values"])
                            if item["values"].get(name) not in (None, "", [])
                        ],
                    }
                    for item in section["items"]
                ],
            }
        )
    return shown


def _refuse_fetch(url: str, timeout: int = 10, ssl_context: Any = None) -> dict[str, Any]:
    raise ValueError("The access package fetches no external resources.")


def as_pdf(content: dict[str, Any], *, digest: str) -> bytes:
    """The package as a PDF, made from the same JSON; it loads nothing from outside."""
    from weasyprint import HTML

    html = render_to_string(
        "privacy/package_pdf.html",
        {"content": content, "sections": for_display(content), "digest": digest},
    )
    pdf = HTML(string=html, url_fetcher=_refuse_fetch).write_pdf()
    return bytes(pdf or b"")
