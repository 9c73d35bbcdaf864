"""An access package: everything the agency holds on one person, as JSON (and as the PDF made
from it), with third parties redacted.

"Everything" is found the way retention finds what to blank (casework/retention/services.py): every
model with an encrypted column that leads to the person through foreign keys (along each path
retention follows: an attribute value is the person's own or one of their cases'), plus the models about
the person that hold no encrypted column (`UNENCRYPTED`), less what is not theirs to receive
(`NOT_IN_PACKAGE`, with the reason). A new model with personal data therefore joins the package
without anyone remembering to add it, and a test holds the package to retention's list.

Redaction, done before anyone reads the package:
- another person linked to the row (a relative, a caregiver who consented) is named as "a third
  party", never by name; so are the fields that name someone else (`THIRD_PARTY_FIELDS`: a plan
  action's "organisation or person" unless it is exactly a registered organisation's name);
- the names of the person's relatives, household members and caregivers are blanked out of every
  free text (`NameRedactor`), whatever their case or accents, except the words of the person's
  own names; so are the names of the agency's other clients, found through the agency's blind
  name index (`ClientIndex`): a word pair that is one client's two names, or sounds like a
  client's names, or a single word written as a name that is a client's name;
- what corrections replaced (`previous`, JSON) is redacted value by value, like the fields;
- the supervisor's notes on a plan (`WITHHELD_UNLESS_INCLUDED`) are in the package for review
  but left out of what is released unless the reviewer includes them;
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
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from casework.accounts.models import User
from casework.attributes.models import AttributeChoice, AttributeValue
from casework.cases.models import Case, Consent, ConsentRecipient
from casework.core.models import Correction
from casework.feedback.models import ParticipationSurvey
from casework.people.models import Person, PersonNameIndex, Relationship
from casework.plans.models import ActionUpdate
from casework.referrals.models import Organisation
from casework.retention.services import paths_to_person, personal_columns
from casework.vault import blind
from casework.vault.crypto import Unreadable
from casework.vault.fields import EncryptedMixin

StrOrPromise = str | Promise

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
    "referrals.unmetneed",
    "feedback.participationsurvey",
    "feedback.exitinterview",
    "attributes.attributevalue",
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


# Fields of one model shown otherwise: an attribute value is shown as its choice's label, under
# its attribute's name (the code, sealed or in clear, and the keyed grouping code are bookkeeping).
HIDDEN_MODEL_FIELDS = frozenset(
    {"attributes.attributevalue.sealed_code", "attributes.attributevalue.grouping"}
)
SHOWN_AS: dict[str, StrOrPromise] = {"attributes.attributevalue.code": gettext_lazy("Value")}


def folded(text: str) -> str:
    """A name as compared here: case-folded, accents removed, punctuation and spaces collapsed."""
    return blind.normalise(str(text))


def _always(value: str, organisations: frozenset[str]) -> bool:
    return True


def _not_a_registered_organisation(value: str, organisations: frozenset[str]) -> bool:
    """A plan action's "organisation or person" may name a contact, a caregiver or a member of
    staff: it stays only when it is exactly the name of an organisation of the directory."""
    return folded(value) not in organisations


# Fields that name someone other than the person (when the rule says so for the value, given the
# folded names of the directory's organisations).
THIRD_PARTY_FIELDS: dict[str, Callable[[str, frozenset[str]], bool]] = {
    "cases.consent.caregiver_name": _always,
    "referrals.referral.accompanied_by_name": _always,
    "plans.planaction.responsible_name": _not_a_registered_organisation,
}
# The same fields as a correction's `previous` names them: always someone else's name there.
THIRD_PARTY_KEYS = frozenset(label.rsplit(".", 1)[1] for label in THIRD_PARTY_FIELDS)

# In the package for its review, left out of what is released unless the reviewer includes them:
# a supervisor's notes are about the work on the case as much as about the person.
WITHHELD_UNLESS_INCLUDED: dict[str, StrOrPromise] = {
    "plans.caseplan.supervision_notes": gettext_lazy("The supervisor's notes on the plan"),
    # Supervision is about the caseworker's practice as much as about the client: like the
    # notes above, the reviewer decides what of it is the client's to receive.
    "supervision.discussedcase.decisions": gettext_lazy("Decisions taken in supervision"),
    "supervision.agreedaction.text": gettext_lazy("Actions agreed in supervision"),
}


def third_party() -> str:
    return _("[third party]")


@dataclass(frozen=True)
class Section:
    model: type[models.Model]
    paths: tuple[str, ...]  # from the model to the person (a row is theirs along any of them)

    @property
    def key(self) -> str:
        return self.model._meta.label_lower


def sections() -> list[Section]:
    """Every kind of row the package holds, in the order it shows them."""
    found: dict[str, Section] = {}
    for model in [columns.model for columns in personal_columns()] + list(UNENCRYPTED):
        label = model._meta.label_lower
        paths = paths_to_person(model)
        if label in NOT_IN_PACKAGE or label in found or not paths:
            continue
        found[label] = Section(model, paths)
    ranked = {label: position for position, label in enumerate(ORDER)}
    return sorted(found.values(), key=lambda item: (ranked.get(item.key, len(ORDER)), item.key))


_WORD = re.compile(r"[^\W_]+")


def _word(text: str) -> str:
    """One word of a text, folded (a word folds to one word: its accents go, its case too)."""
    return "".join(folded(text).split())


def _written_as_a_name(word: str) -> bool:
    """Capitalised, or in a script without capitals (Arabic): "Grace" is a name, "grace" not."""
    first = word[0]
    return first.isupper() or first.lower() == first.upper()


class ClientIndex:
    """The agency's other clients among the words of the package's free texts, found through the
    agency's blind name index (casework/vault/blind.py): no name is decrypted to find them.

    `learn` looks every word and every two neighbouring words up at once; then `persons` says
    whose name token a word is, and `sounds_like_a_name` whether two words sound like one
    client's two names. The person and the records merged into theirs are left out."""

    def __init__(self, agency_id: int, exclude: set[int]) -> None:
        self.agency_id = agency_id
        self.exclude = exclude
        self.tokens: dict[str, set[int]] = {}
        self.pairs: set[tuple[str, str]] = set()

    def _digests(self, text: str, kind: str) -> list[str]:
        keys = blind.query_keys(text, agency_ids=[self.agency_id])
        return [digest for found_kind, digest in keys if found_kind == kind]

    def learn(self, texts: Iterable[str]) -> None:
        words: set[str] = set()
        pairs: set[tuple[str, str]] = set()
        for text in texts:
            found = [_word(word) for word in _WORD.findall(text)]
            words.update(found)
            pairs.update((a, b) for a, b in zip(found, found[1:], strict=False) if a != b)
        by_digest: dict[str, tuple[str, object]] = {}
        for word in words:
            for digest in self._digests(word, "token"):
                by_digest[digest] = ("token", word)
        for pair in pairs:
            for digest in self._digests(" ".join(pair), "pair"):
                by_digest[digest] = ("pair", pair)
        digests = list(by_digest)
        for start in range(0, len(digests), 500):
            rows = (
                PersonNameIndex.objects.filter(
                    agency_id=self.agency_id,
                    kind__in=["token", "pair"],
                    digest__in=digests[start : start + 500],
                )
                .exclude(person_id__in=self.exclude)
                .values_list("digest", "person_id")
            )
            for digest, person_id in rows:
                kind, value = by_digest[digest]
                if kind == "token" and isinstance(value, str):
                    self.tokens.setdefault(value, set()).add(person_id)
                elif isinstance(value, tuple):
                    self.pairs.add(value)

    def persons(self, word: str) -> set[int]:
        return self.tokens.get(word, set())

    def sounds_like_a_name(self, first: str, second: str) -> bool:
        return (first, second) in self.pairs


class NameRedactor:
    """Blanks the names of third parties out of a text, whole names first, then each of their
    words, except the words of the person's own names (a mother often shares a family name).
    Words are compared folded (`folded`): "MOUSSA", "Moussa" and "Moùssa" are one name.

    With a `ClientIndex`, the agency's other clients too: two neighbouring words that are the
    names of one client (or, written as names, sound like a client's two names), and a single
    word written as a name that is a client's name."""

    def __init__(
        self,
        third_parties: Iterable[str],
        own_names: Iterable[str],
        clients: ClientIndex | None = None,
        organisations: Iterable[str] = (),
    ) -> None:
        own = [folded(name).split() for name in own_names]
        self.own_words = {word for words in own for word in words}
        # A third party's "Mme X at Hope Shelter" does not make "Hope" a name to blank alone.
        organisation_words = {word for name in organisations for word in folded(name).split()}
        own_whole = {tuple(words) for words in own}
        self.names: set[tuple[str, ...]] = set()
        for name in third_parties:
            words = tuple(folded(name).split())
            if words and words not in own_whole and sum(map(len, words)) >= 2:
                self.names.add(words)
            self.names.update(
                (word,)
                for word in words
                if len(word) >= 2 and word not in self.own_words | organisation_words
            )
        self.longest = max((len(words) for words in self.names), default=0)
        self.clients = clients
        self.count = 0

    def _match(self, words: list[tuple[int, int, str, str]], at: int) -> int:
        """How many words from `at` on are a third party's name (0: none)."""
        for length in range(min(self.longest, len(words) - at), 0, -1):
            if tuple(word[3] for word in words[at : at + length]) in self.names:
                return length
        if self.clients is None:
            return 0
        text, word = words[at][2], words[at][3]
        if at + 1 < len(words):
            next_text, next_word = words[at + 1][2], words[at + 1][3]
            if {word, next_word} - self.own_words and (
                self.clients.persons(word) & self.clients.persons(next_word)
                or (
                    self.clients.sounds_like_a_name(word, next_word)
                    and _written_as_a_name(text)
                    and _written_as_a_name(next_text)
                )
            ):
                return 2
        if word not in self.own_words and self.clients.persons(word) and _written_as_a_name(text):
            return 1
        return 0

    def __call__(self, text: str) -> str:
        if not text or (not self.names and self.clients is None):
            return text
        words = [
            (found.start(), found.end(), found.group(), _word(found.group()))
            for found in _WORD.finditer(text)
        ]
        parts: list[str] = []
        last = 0
        at = 0
        while at < len(words):
            length = self._match(words, at)
            if not length:
                at += 1
                continue
            parts += [text[last : words[at][0]], third_party()]
            last = words[at + length - 1][1]
            self.count += 1
            at += length
        return "".join([*parts, text[last:]]) if parts else text


@dataclass
class _Compiler:
    subject: Person
    subject_ids: set[int]
    rows: dict[str, list[models.Model]] = field(default_factory=dict)
    case_references: dict[int, str] = field(default_factory=dict)
    section_keys: set[str] = field(default_factory=set)
    redactor: NameRedactor | None = None
    fields_redacted: int = 0
    organisations: frozenset[str] = frozenset()  # the directory's names, folded
    choice_labels: dict[int, dict[str, str]] = field(default_factory=dict)  # by attribute

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
            theirs = models.Q()
            for path in section.paths:
                theirs |= models.Q(**{f"{path}__in": self.subject_ids})
            self.rows[section.key] = list(
                model._base_manager.filter(theirs)
                .select_related(*follow)
                .prefetch_related(*many)
                .order_by("pk")
            )
        self.case_references = {
            case.pk: str(getattr(case, "reference", "")) for case in self.rows.get("cases.case", [])
        }
        self.organisations = frozenset(
            folded(name) for name in Organisation.objects.values_list("name", flat=True)
        )

    def free_texts(self) -> list[str]:
        """Every encrypted text the package holds (what corrections replaced, value by value)."""
        texts: list[str] = []
        for rows in self.rows.values():
            for row in rows:
                for model_field in row._meta.concrete_fields:
                    value = getattr(row, model_field.attname, None)
                    if isinstance(model_field, EncryptedMixin) and isinstance(value, str):
                        if not isinstance(value, Unreadable):
                            texts += (
                                _strings(_earlier(value))
                                if _is_previous(row, model_field)
                                else [value]
                            )
        return texts

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
            values = [getattr(row, name, "") for row in self.rows.get(app_model, [])]
            names += [
                str(value)
                for value in values
                if isinstance(value, str)
                and value
                and not isinstance(value, Unreadable)
                and rule(value, self.organisations)
            ]
        return [name for name in names if name and not isinstance(name, Unreadable)]

    # --- writing ---------------------------------------------------------------------------------

    def value(self, row: models.Model, model_field: Any) -> Any:
        label = f"{row._meta.label_lower}.{model_field.name}"
        if label in SHOWN_AS and isinstance(row, AttributeValue):
            return self.attribute_choice(row)
        if model_field.is_relation:
            return self.related(row, model_field)
        value = getattr(row, model_field.attname)
        if value in (None, ""):
            return value
        if isinstance(value, Unreadable):
            return _("[unreadable]")
        rule = THIRD_PARTY_FIELDS.get(label)
        if rule is not None:
            if not rule(str(value), self.organisations):
                return value  # a registered organisation's name, as the directory has it
            self.fields_redacted += 1
            return third_party()
        if _is_previous(row, model_field):
            return self.earlier(_earlier(str(value)))
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

    def attribute_choice(self, row: AttributeValue) -> Any:
        """The label of the value's choice (a sensitive one decrypted, as the person's other
        fields are); blank once anonymised."""
        code = row.sealed_code if row.attribute.sensitive else row.code
        if isinstance(code, Unreadable):
            return _("[unreadable]")
        if not code:
            return code
        labels = self.choice_labels.get(row.attribute_id)
        if labels is None:
            labels = dict(
                AttributeChoice.objects.filter(attribute_id=row.attribute_id).values_list(
                    "code", "label"
                )
            )
            self.choice_labels[row.attribute_id] = labels
        return labels.get(code, code)

    def earlier(self, value: Any, key: str = "") -> Any:
        """What a correction replaced, redacted value by value: a caregiver's or companion's
        earlier name is a third party's; any other text is redacted like the fields."""
        if isinstance(value, dict):
            return {name: self.earlier(item, str(name)) for name, item in value.items()}
        if isinstance(value, list):
            return [self.earlier(item, key) for item in value]
        if isinstance(value, str) and value:
            if key in THIRD_PARTY_KEYS:
                self.fields_redacted += 1
                return third_party()
            return self.redactor(value) if self.redactor is not None else value
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
            and f"{section.key}.{model_field.name}" not in HIDDEN_MODEL_FIELDS
        ]
        return {
            "key": section.key,
            "title": str(meta.verbose_name_plural),
            "fields": [model_field.name for model_field in shown],  # in the model's order
            "labels": {
                model_field.name: str(
                    SHOWN_AS.get(f"{section.key}.{model_field.name}", model_field.verbose_name)
                )
                for model_field in shown
            },
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


def _is_previous(row: models.Model, model_field: Any) -> bool:
    return isinstance(row, Correction) and model_field.name == "previous"


def _earlier(text: str) -> Any:
    """A correction's `previous` (JSON, its accents escaped), or the text if it is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if isinstance(value, str) else []


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


def compile_for(person: Person, *, agency_id: int, agency_code: str, request_id: int) -> Compiled:
    """Everything held on `person` (and the records merged into theirs), redacted, as JSON; the
    agency's other clients are found through its name index."""
    subject = subject_of(person)
    subject_ids = {subject.pk} | set(
        Person.objects.filter(merged_into=subject).values_list("pk", flat=True)
    )
    compiler = _Compiler(subject=subject, subject_ids=subject_ids)
    found = sections()
    compiler.load(found)
    own = [subject.given_name, subject.family_name, subject.other_names, subject.full_name]
    clients = ClientIndex(agency_id, exclude=subject_ids)
    clients.learn(compiler.free_texts())
    compiler.redactor = NameRedactor(
        compiler.third_party_names(),
        [name for name in own if name],
        clients,
        organisations=compiler.organisations,
    )
    content = {
        "format": FORMAT,
        "agency": agency_code,
        "request": request_id,
        "person": subject.reference,
        "compiled_at": timezone.now().isoformat(),
        "language": translation.get_language() or "",
        "sections": [compiler.section(section) for section in found],
        "withheld_unless_included": sorted(WITHHELD_UNLESS_INCLUDED),
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


def released(
    content: dict[str, Any],
    *,
    withheld: Iterable[str],
    reason: str,
    included: Iterable[str] = (),
) -> dict[str, Any]:
    """The package as released: the items the reviewer withheld taken out, and said so; the
    fields withheld unless included (`WITHHELD_UNLESS_INCLUDED`) taken out unless the reviewer
    included them."""
    held = set(withheld)
    left_out = set(WITHHELD_UNLESS_INCLUDED) - set(included)

    def kept(section: dict[str, Any], name: str) -> bool:
        return f"{section['key']}.{name}" not in left_out

    out = dict(content)
    out["sections"] = [
        {
            **section,
            "fields": [name for name in section.get("fields", []) if kept(section, name)],
            "labels": {
                name: label for name, label in section["labels"].items() if kept(section, name)
            },
            "items": [
                {
                    **item,
                    "values": {
                        name: value for name, value in item["values"].items() if kept(section, name)
                    },
                }
                for item in section["items"]
                if item["key"] not in held
            ],
        }
        for section in content.get("sections", [])
    ]
    out["withheld"] = {
        "items": len(held),
        "reason": reason,
        "fields": sorted(left_out),
    }
    out.pop("withheld_unless_included", None)
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
