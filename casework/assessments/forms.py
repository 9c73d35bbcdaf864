"""HTML forms for assessments, questionnaires and the risk policy. They parse input; the rules
(required, relevant, constraints, dates, risk) live in the services and questionnaires.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.assessments import questionnaires
from casework.assessments.models import (
    Assessment,
    Domain,
    NeedLevel,
    QuestionnaireVersion,
    ServiceNeed,
)
from casework.assessments.services import AssessmentDetails, FindingDetails
from casework.cases import deadlines
from casework.cases.models import RiskLevel
from casework.core.errors import CaseworkError, FieldErrors
from casework.core.forms import DateInput, ServiceForm

DOMAIN_PARTS = ("notes", "strengths", "barriers")


def answer_field_name(version_id: int, name: str) -> str:
    return f"answers.{version_id}.{name}"


def _question_field(question: dict[str, Any]) -> forms.Field | None:
    kind = question["type"]
    label = questionnaires.label_for(question["label"]) or question["name"]
    hint = questionnaires.label_for(question.get("hint"))
    common: dict[str, Any] = {"label": label, "required": False, "help_text": hint}
    choices = [
        (choice["name"], questionnaires.label_for(choice["label"]) or choice["name"])
        for choice in question.get("choices") or []
    ]
    if kind == "text":
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), **common)
    if kind == "integer":
        return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "numeric"}), **common)
    if kind == "decimal":
        return forms.CharField(widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common)
    if kind == "date":
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == "select_one":
        return forms.ChoiceField(choices=[("", "—"), *choices], widget=forms.RadioSelect, **common)
    if kind == "select_multiple":
        return forms.MultipleChoiceField(
            choices=choices, widget=forms.CheckboxSelectMultiple, **common
        )
    return None  # a note: shown, not answered


class AssessmentForm(ServiceForm):
    assessed_on = forms.DateField(label=_("Assessed on"), widget=DateInput())
    client_needs = forms.CharField(
        label=_("Needs, in the client's own words"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    client_strengths = forms.CharField(
        label=_("Strengths, in the client's own words"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    client_barriers = forms.CharField(
        label=_("Barriers, in the client's own words"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    risk_level = forms.ChoiceField(label=_("Risk level"), choices=[("", "—"), *RiskLevel.choices])
    risk_rationale = forms.CharField(
        label=_("Why this risk level"), widget=forms.Textarea(attrs={"rows": 3})
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        versions: list[QuestionnaireVersion],
        previous: Assessment | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assessed_on"].initial = timezone.localdate()
        self.versions = versions
        earlier = {f.domain: f for f in previous.findings.all()} if previous else {}
        for domain in Domain:
            found = earlier.get(domain.value)
            self.fields[f"{domain.value}_level"] = forms.ChoiceField(
                label=_("Level of need"),
                choices=[("", _("Not discussed")), *NeedLevel.choices],
                required=False,
                initial=found.need_level if found else "",
            )
            for part, label in zip(
                DOMAIN_PARTS, (_("Notes"), _("Strengths"), _("Barriers")), strict=True
            ):
                self.fields[f"{domain.value}_{part}"] = forms.CharField(
                    label=label,
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 2}),
                    initial=getattr(found, part) if found else "",
                )
            self.fields[f"{domain.value}_services"] = forms.MultipleChoiceField(
                label=_("Services this need may call for"),
                choices=ServiceNeed.choices,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                initial=found.services if found else [],
            )
        for version in versions:
            for question in version.questions:
                field = _question_field(question)
                if field is not None:
                    self.fields[answer_field_name(version.pk, question["name"])] = field

    def domain_sections(self) -> list[dict[str, Any]]:
        return [
            {
                "domain": domain,
                "level": self[f"{domain.value}_level"],
                "parts": [self[f"{domain.value}_{part}"] for part in DOMAIN_PARTS],
                "services": self[f"{domain.value}_services"],
            }
            for domain in Domain
        ]

    def questionnaire_sections(self, relevant: dict[int, set[str]] | None = None) -> list[Any]:
        """[{version, title, items: [{question, field, note, relevant}]}] for the template."""
        sections = []
        for version in self.versions:
            shown = relevant.get(version.pk) if relevant is not None else None
            items = []
            for question in version.questions:
                name = answer_field_name(version.pk, question["name"])
                items.append(
                    {
                        "question": question,
                        "field": self[name] if name in self.fields else None,
                        "note": questionnaires.label_for(question["label"])
                        if question["type"] == "note"
                        else "",
                        "section": questionnaires.label_for(question.get("section")),
                        "relevant": shown is None or question["name"] in shown,
                        "conditional": bool(question.get("relevant")),
                        "required": question.get("required") == questionnaires.REQUIRED,
                    }
                )
            sections.append(
                {"version": version, "title": version.questionnaire.title, "items": items}
            )
        return sections

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for domain in Domain:
            written = any(data.get(f"{domain.value}_{part}") for part in DOMAIN_PARTS) or data.get(
                f"{domain.value}_services"
            )
            if written and not data.get(f"{domain.value}_level"):
                self.add_error(
                    f"{domain.value}_level",
                    _("Choose the level of need, or clear what was written for this domain."),
                )
        return data

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and self.errors:  # set by now: reading them cleans nothing again
            self.add_answer_errors()

    def add_answer_errors(self) -> None:
        """Check the questionnaire answers too when the rest of the form is refused, so that
        every problem shows at once (the service checks them again when saving)."""
        raw = raw_answers_from_post(self.data, self.versions)
        today = timezone.localdate()
        for version in self.versions:
            try:
                questionnaires.check_answers(
                    version.definition,
                    raw[version.pk],
                    today=today,
                    prefix=answer_field_name(version.pk, ""),
                )
            except FieldErrors as error:
                self.add_service_errors(error)

    def raw_answers(self) -> dict[int, dict[str, Any]]:
        answers: dict[int, dict[str, Any]] = {}
        for version in self.versions:
            values: dict[str, Any] = {}
            for question in version.questions:
                name = answer_field_name(version.pk, question["name"])
                if name in self.fields:
                    value = (self.cleaned_data if hasattr(self, "cleaned_data") else {}).get(name)
                    if value not in (None, "", []):
                        values[question["name"]] = value
            answers[version.pk] = values
        return answers

    def details(self) -> AssessmentDetails:
        data = self.cleaned_data
        return AssessmentDetails(
            risk_level=data["risk_level"],
            risk_rationale=data["risk_rationale"],
            client_needs=data["client_needs"],
            client_strengths=data["client_strengths"],
            client_barriers=data["client_barriers"],
            assessed_on=data["assessed_on"],
            findings=[
                FindingDetails(
                    domain=domain.value,
                    need_level=data[f"{domain.value}_level"],
                    notes=data[f"{domain.value}_notes"],
                    strengths=data[f"{domain.value}_strengths"],
                    barriers=data[f"{domain.value}_barriers"],
                    services=list(data[f"{domain.value}_services"]),
                )
                for domain in Domain
                if data.get(f"{domain.value}_level")
            ],
            answers=self.raw_answers(),
        )


def raw_answers_from_post(
    data: Any, versions: list[QuestionnaireVersion]
) -> dict[int, dict[str, Any]]:
    """Answers straight from POST data (for showing or hiding questions while answering)."""
    answers: dict[int, dict[str, Any]] = {}
    for version in versions:
        values: dict[str, Any] = {}
        for question in version.questions:
            name = answer_field_name(version.pk, question["name"])
            if question["type"] == "select_multiple":
                values[question["name"]] = data.getlist(name)
            else:
                values[question["name"]] = data.get(name, "")
        answers[version.pk] = values
    return answers


# --- questionnaires -----------------------------------------------------------------------------


class UploadForm(ServiceForm):
    file = forms.FileField(
        label=_("XLSForm workbook (.xlsx or .xls)"),
        help_text=_(
            "The survey and choices sheets of an ODK / KoBo form. Supported: text, integer, "
            "decimal, date, select_one, select_multiple, note; required, relevant and "
            "constraint; labels in several languages (label::English (en))."
        ),
    )
    title = forms.CharField(label=_("Title"), max_length=200, required=False)

    def add_refusal(self, error: CaseworkError) -> None:
        """A workbook that cannot be used: each problem (row and reason) under the file; a
        workbook over the upload limits, that too (the refusal names its field)."""
        if isinstance(error, questionnaires.FormRefused) and error.problems:
            for problem in error.problems:
                self.add_error("file", str(problem))
        else:
            super().add_refusal(error)


QUESTION_TYPE_CHOICES = [
    ("text", _("Text")),
    ("integer", _("Whole number")),
    ("decimal", _("Decimal number")),
    ("date", _("Date")),
    ("select_one", _("Choose one")),
    ("select_multiple", _("Choose any")),
    ("note", _("Note (no answer)")),
]


class NewQuestionnaireForm(ServiceForm):
    title = forms.CharField(label=_("Title"), max_length=200)


class QuestionForm(ServiceForm):
    type = forms.ChoiceField(label=_("Type"), choices=QUESTION_TYPE_CHOICES)
    name = forms.RegexField(
        label=_("Name"),
        regex=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$",
        help_text=_("Letters, digits and underscores; other questions refer to it as ${name}."),
        error_messages={"invalid": _("Start with a letter; then letters, digits or underscores.")},
    )
    label_en = forms.CharField(label=_("Label (English)"), max_length=500)
    label_fr = forms.CharField(label=_("Label (French)"), max_length=500, required=False)
    label_ar = forms.CharField(label=_("Label (Arabic)"), max_length=500, required=False)
    label_es = forms.CharField(label=_("Label (Spanish)"), max_length=500, required=False)
    hint = forms.CharField(label=_("Hint (English)"), max_length=500, required=False)
    required = forms.BooleanField(label=_("An answer is required"), required=False)
    choices = forms.CharField(
        label=_("Choices (for choose one / choose any)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line: name|Label, e.g. yes|Yes."),
    )
    relevant = forms.CharField(
        label=_("Ask only if (relevant)"),
        required=False,
        max_length=2000,
        help_text=_("An XLSForm expression, e.g. ${household_size} > 1"),
    )
    constraint = forms.CharField(
        label=_("Accept only if (constraint)"),
        required=False,
        max_length=2000,
        help_text=_("An XLSForm expression about the answer (.), e.g. . >= 0"),
    )
    constraint_message = forms.CharField(
        label=_("Message when the answer is not accepted (English)"),
        required=False,
        max_length=500,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("type") in ("select_one", "select_multiple") and not data.get("choices"):
            self.add_error("choices", _("List the choices, one per line."))
        return data

    def question(self) -> questionnaires.QuestionInput:
        data = self.cleaned_data
        choices = []
        for line in (data.get("choices") or "").splitlines():
            if not line.strip():
                continue
            name, _sep, label = line.partition("|")
            name = name.strip()
            choices.append((name, {"en": (label or name).strip()}))
        return questionnaires.QuestionInput(
            type=data["type"],
            name=data["name"],
            labels={code: data.get(f"label_{code}") or "" for code in ("en", "fr", "ar", "es")},
            required=data["required"],
            hint={"en": data.get("hint") or ""},
            relevant=data.get("relevant") or "",
            constraint=data.get("constraint") or "",
            constraint_message={"en": data.get("constraint_message") or ""},
            choices=choices,
        )

    def add_refusal(self, error: CaseworkError) -> None:
        """A question the form cannot take: each reason at the top of the editor."""
        if isinstance(error, questionnaires.FormRefused):
            for problem in error.problems:
                self.add_error(None, problem.reason)
        else:
            self.add_error(None, str(error.message))


class RiskPolicyForm(ServiceForm):
    def __init__(self, *args: Any, windows: dict[str, deadlines.Window], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for level, label in RiskLevel.choices:
            window = windows[level]
            self.fields[f"{level}_target_hours"] = forms.IntegerField(
                label=_("%(level)s: target (hours)") % {"level": label},
                min_value=1,
                max_value=24 * 365,
                initial=window.target_hours,
            )
            self.fields[f"{level}_due_hours"] = forms.IntegerField(
                label=_("%(level)s: due within (hours)") % {"level": label},
                min_value=1,
                max_value=24 * 365,
                initial=window.due_hours,
            )

    def windows(self) -> dict[str, deadlines.Window]:
        data = self.cleaned_data
        return {
            level: deadlines.Window(data[f"{level}_due_hours"], data[f"{level}_target_hours"])
            for level in RiskLevel.values
        }
