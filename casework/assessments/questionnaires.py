"""Questionnaire definitions: read from an XLSForm or built in the editor, and answers checked
against them on the server.

The stored definition (QuestionnaireVersion.definition) is the same shape whatever its source:

    {"schema": 1, "title": "…", "form_id": "…", "default_language": "en",
     "languages": [{"code": "en", "name": "English"}, …],
     "questions": [{"name": "household_size", "type": "integer",
                    "label": {"en": "…", "fr": "…"}, "hint": {…},
                    "required": "true()" | "" | an expression, "required_message": {…},
                    "relevant": "" | an expression, "constraint": "" | an expression,
                    "constraint_message": {…}, "choices": [{"name": "…", "label": {…}}],
                    "section": {…} | None, "row": 5 | None}, …]}

Groups are flattened: a question inside a group carries the group's `relevant` joined to its
own, and the group's label as `section`. Expressions are checked by casework/assessments/
expressions.py, at upload (a form whose rules the server cannot check is refused) and on every
answer.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from casework.assessments.expressions import Context, ExpressionError, compile_expression, compiled
from casework.core.errors import CaseworkError, FieldErrors
from casework.core.uploads import check_upload

SCHEMA = 1
QUESTION_TYPES = ("text", "integer", "decimal", "date", "select_one", "select_multiple", "note")
CODED_TYPES = frozenset({"integer", "decimal", "date", "select_one", "select_multiple"})
FREE_TEXT_TYPES = frozenset({"text"})
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")
MAX_TEXT_LENGTH = 10_000
MAX_QUESTIONS = 500
REQUIRED = "true()"

# pyxform's JSON type → ours.
_PYXFORM_TYPES = {
    "text": "text",
    "string": "text",
    "integer": "integer",
    "int": "integer",
    "decimal": "decimal",
    "date": "date",
    "note": "note",
    "select one": "select_one",
    "select all that apply": "select_multiple",
}
# Metadata an ODK/KoBo form often carries; collected by the phone, meaningless here: skipped.
_METADATA_TYPES = frozenset(
    {
        "start",
        "end",
        "today",
        "deviceid",
        "subscriberid",
        "simserial",
        "phonenumber",
        "username",
        "email",
        "audit",
        "start-geopoint",
        "background-audio",
    }
)
_LANGUAGE = re.compile(r"\(\s*([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)\s*\)\s*$")
_ROW = re.compile(r"^\s*\[row\s*:\s*(\d+)\]\s*")
_QUOTED = re.compile(r"'([^']+)'")


# --- problems -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    row: int | None
    reason: str

    def __str__(self) -> str:
        if self.row is None:
            return self.reason
        return _("Row %(row)s: %(reason)s") % {"row": self.row, "reason": self.reason}


class FormRefused(CaseworkError):
    """A questionnaire definition that cannot be used; says which row and why."""

    code = "form_refused"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(str(problems[0]) if problems else _("The form cannot be used."))
        self.problems = problems

    def as_dict(self) -> dict[str, Any]:
        payload = super().as_dict()
        payload["problems"] = [
            {"row": problem.row, "reason": problem.reason} for problem in self.problems
        ]
        return payload


# --- labels and languages -----------------------------------------------------------------------


def language_code(header: str) -> str:
    """ "English (en)" → "en"; a header without a code keeps its name ("default" stays)."""
    match = _LANGUAGE.search(header or "")
    if match:
        return match.group(1).lower().replace("_", "-")
    return (header or "default").strip() or "default"


def language_name(header: str) -> str:
    return _LANGUAGE.sub("", header or "").strip() or header


def _texts(value: Any) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        return {language_code(str(k)): str(v) for k, v in value.items() if str(v).strip()}
    return {"default": str(value)}


def label_for(texts: Mapping[str, str] | None, language: str | None = None) -> str:
    """The text in `language` (or the interface language), else the form's default, else any."""
    if not texts:
        return ""
    wanted = (language or get_language() or "").lower()
    for code in (wanted, wanted.split("-")[0], "default", "en"):
        if code and texts.get(code):
            return texts[code]
    return next(iter(texts.values()))


# --- checking a definition ----------------------------------------------------------------------


def _compile(source: str, what: str, question: Mapping[str, Any], problems: list[Problem]) -> None:
    if not source:
        return
    try:
        compile_expression(source)
    except ExpressionError as error:
        problems.append(
            Problem(
                question.get("row"),
                _("the %(what)s of “%(name)s” cannot be checked: %(error)s")
                % {"what": what, "name": question.get("name"), "error": error},
            )
        )


def check_definition(definition: Mapping[str, Any]) -> list[Problem]:
    """Everything that would stop the server from asking and checking these questions."""
    problems: list[Problem] = []
    questions = definition.get("questions") or []
    if not questions:
        problems.append(Problem(None, _("The form has no questions.")))
    if len(questions) > MAX_QUESTIONS:
        problems.append(
            Problem(None, _("A form may have at most %(n)s questions.") % {"n": MAX_QUESTIONS})
        )
    names: dict[str, Any] = {}
    for question in questions:
        row, name, kind = question.get("row"), question.get("name", ""), question.get("type")
        if not NAME.match(name or ""):
            problems.append(
                Problem(
                    row,
                    _(
                        "“%(name)s” is not a valid name: start with a letter, then letters, "
                        "digits or underscores."
                    )
                    % {"name": name},
                )
            )
        elif name in names:
            problems.append(Problem(row, _("the name “%(name)s” is used twice.") % {"name": name}))
        names[name] = question
        if kind not in QUESTION_TYPES:
            problems.append(
                Problem(row, _("the question type “%(type)s” is not supported.") % {"type": kind})
            )
        if not question.get("label") and kind != "note":
            problems.append(Problem(row, _("“%(name)s” has no label.") % {"name": name}))
        if kind in ("select_one", "select_multiple"):
            choices = question.get("choices") or []
            if not choices:
                problems.append(Problem(row, _("“%(name)s” has no choices.") % {"name": name}))
            seen: set[str] = set()
            for choice in choices:
                choice_name = str(choice.get("name", ""))
                if not choice_name or " " in choice_name:
                    problems.append(
                        Problem(
                            row,
                            _("a choice of “%(name)s” has an empty name or a space in it.")
                            % {"name": name},
                        )
                    )
                elif choice_name in seen:
                    problems.append(
                        Problem(
                            row,
                            _("the choice “%(choice)s” of “%(name)s” is listed twice.")
                            % {"choice": choice_name, "name": name},
                        )
                    )
                seen.add(choice_name)
        _compile(question.get("relevant", ""), "relevant", question, problems)
        _compile(question.get("constraint", ""), "constraint", question, problems)
        if question.get("required") not in ("", REQUIRED, None):
            _compile(question["required"], "required", question, problems)
    # References must name questions of this form: a rule about an unknown question would be
    # silently false.
    for question in questions:
        for column in ("relevant", "constraint", "required"):
            source = question.get(column) or ""
            if not source or source == REQUIRED:
                continue
            try:
                references = compile_expression(source).references
            except ExpressionError:
                continue
            for reference in sorted(references - set(names)):
                problems.append(
                    Problem(
                        question.get("row"),
                        _(
                            "the %(what)s of “%(name)s” refers to ${%(ref)s}, which is not a question of this form."
                        )
                        % {"what": column, "name": question.get("name"), "ref": reference},
                    )
                )
    return problems


def ensure_valid(definition: Mapping[str, Any]) -> None:
    problems = check_definition(definition)
    if problems:
        raise FormRefused(problems)


# --- reading an XLSForm -------------------------------------------------------------------------


def _required(value: Any) -> str:
    text = str(value or "").strip()
    if text.lower() in ("", "no", "false", "false()", "0"):
        return ""
    if text.lower() in ("yes", "true", "true()", "1"):
        return REQUIRED
    return text


def _join_relevant(parts: Iterable[str]) -> str:
    present = [part.strip() for part in parts if part and part.strip()]
    if len(present) <= 1:
        return present[0] if present else ""
    return " and ".join(f"({part})" for part in present)


def _rows_by_name(survey_rows: list[dict[str, Any]]) -> dict[str, int]:
    rows: dict[str, int] = {}
    for index, row in enumerate(survey_rows):
        name = str(row.get("name") or "").strip()
        if name and name not in rows:
            rows[name] = index + 2  # the header is row 1
    return rows


def _row_of_message(message: str, survey_rows: list[dict[str, Any]]) -> tuple[int | None, str]:
    """pyxform says "[row : 5] …" for most problems; for the others, find the quoted value."""
    match = _ROW.match(message)
    if match:
        return int(match.group(1)), message[match.end() :].strip()
    for quoted in _QUOTED.findall(message):
        for index, row in enumerate(survey_rows):
            if any(str(value).strip() == quoted for value in row.values()):
                return index + 2, message.strip()
    return None, message.strip()


def _flatten(
    children: list[dict[str, Any]],
    rows: dict[str, int],
    problems: list[Problem],
    skipped: list[str],
    *,
    relevant: list[str],
    section: dict[str, str] | None,
) -> list[dict[str, Any]]:
    questions: list[dict[str, Any]] = []
    for child in children:
        kind = child.get("type", "")
        name = child.get("name", "")
        row = rows.get(name)
        bind = child.get("bind") or {}
        if kind == "group":
            if name == "meta" and (child.get("control") or {}).get("bodyless"):
                continue  # pyxform's own instanceID block
            questions += _flatten(
                child.get("children") or [],
                rows,
                problems,
                skipped,
                relevant=[*relevant, bind.get("relevant", "")],
                section=_texts(child.get("label")) or section,
            )
            continue
        if kind in ("repeat", "loop"):
            problems.append(
                Problem(row, _("repeat groups (“%(name)s”) are not supported.") % {"name": name})
            )
            continue
        if kind in _METADATA_TYPES:
            skipped.append(name)
            continue
        ours = _PYXFORM_TYPES.get(kind)
        if ours is None:
            problems.append(
                Problem(
                    row,
                    _(
                        "the question type “%(type)s” of “%(name)s” is not supported (use %(types)s)."
                    )
                    % {"type": kind, "name": name, "types": ", ".join(QUESTION_TYPES)},
                )
            )
            continue
        if ours in ("select_one", "select_multiple") and not child.get("choices"):
            problems.append(
                Problem(
                    row,
                    _("the choices of “%(name)s” must be on the choices sheet, not in a file.")
                    % {"name": name},
                )
            )
            continue
        question: dict[str, Any] = {
            "name": name,
            "type": ours,
            "label": _texts(child.get("label")),
            "hint": _texts(child.get("hint")),
            "required": "" if ours == "note" else _required(bind.get("required")),
            "required_message": _texts(bind.get("jr:requiredMsg")),
            "relevant": _join_relevant([*relevant, bind.get("relevant", "")]),
            "constraint": str(bind.get("constraint") or "").strip(),
            "constraint_message": _texts(bind.get("jr:constraintMsg")),
            "choices": [
                {"name": str(choice.get("name", "")), "label": _texts(choice.get("label"))}
                for choice in child.get("choices") or []
            ],
            "section": section,
            "row": row,
        }
        questions.append(question)
    return questions


def _languages(questions: list[dict[str, Any]], headers: Iterable[str]) -> list[dict[str, str]]:
    names = {language_code(h): language_name(h) for h in headers}
    codes: list[str] = []
    for question in questions:
        for texts in (question["label"], *(c["label"] for c in question["choices"])):
            for code in texts:
                if code not in codes:
                    codes.append(code)
    return [{"code": code, "name": names.get(code, code)} for code in codes]


def _label_headers(survey_rows: list[dict[str, Any]]) -> list[str]:
    """The language parts of the columns: "label::Français (fr)" → "Français (fr)"."""
    headers: list[str] = []
    for row in survey_rows:
        for key in row:
            if "::" in str(key):
                language = str(key).split("::", 1)[1].strip()
                if language not in headers:
                    headers.append(language)
    return headers


@dataclass
class ReadForm:
    definition: dict[str, Any]
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def read_xlsform(data: bytes, file_name: str = "") -> ReadForm:
    """Turn an uploaded XLSForm into a definition, or raise FormRefused (with rows and reasons).

    The workbook is measured first (size, what it unpacks to, rows, columns): one over the
    upload limits raises UploadTooLarge before pyxform reads it. Call this outside any
    transaction: a large workbook takes a while to read and must hold no lock meanwhile.
    """
    from pyxform.builder import create_survey_element_from_dict
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import workbook_to_json
    from pyxform.xls2json_backends import get_xlsform

    check_upload(data, what=_("The workbook"), field="file")
    suffix = ".xls" if file_name.lower().endswith(".xls") else ".xlsx"
    try:
        workbook = get_xlsform(data, file_type=suffix)
    except Exception:  # openpyxl and xlrd raise many kinds; all mean "not a workbook"
        raise FormRefused(
            [Problem(None, _("The file is not an XLSForm workbook (.xlsx or .xls)."))]
        ) from None
    survey_rows: list[dict[str, Any]] = list(workbook.survey or [])
    warnings: list[str] = []
    try:
        parsed = workbook_to_json(workbook, form_name="data", warnings=warnings)
        # Building the XForm catches what the JSON step lets through (bad references, itemsets).
        create_survey_element_from_dict(parsed).to_xml(validate=False)
    except PyXFormError as error:
        row, reason = _row_of_message(str(error), survey_rows)
        raise FormRefused([Problem(row, reason)]) from None
    except (ValueError, KeyError, TypeError) as error:
        raise FormRefused([Problem(None, str(error))]) from None
    rows = _rows_by_name(survey_rows)
    problems: list[Problem] = []
    skipped: list[str] = []
    questions = _flatten(
        parsed.get("children") or [], rows, problems, skipped, relevant=[], section=None
    )
    settings_rows = list(workbook.settings or [])
    form_settings = settings_rows[0] if settings_rows else {}
    default_language = language_code(str(form_settings.get("default_language") or "default"))
    definition = {
        "schema": SCHEMA,
        "title": str(parsed.get("title") or "").strip(),
        "form_id": str(parsed.get("id_string") or ""),
        "form_version": str(parsed.get("version") or form_settings.get("version") or ""),
        "default_language": default_language,
        "languages": _languages(questions, _label_headers(survey_rows)),
        "questions": questions,
    }
    problems += check_definition(definition)
    if problems:
        raise FormRefused(problems)
    return ReadForm(definition=definition, skipped=skipped, warnings=warnings)


# --- the editor ---------------------------------------------------------------------------------


@dataclass
class QuestionInput:
    type: str
    name: str
    labels: dict[str, str]
    required: bool = False
    hint: dict[str, str] = field(default_factory=dict)
    relevant: str = ""
    constraint: str = ""
    constraint_message: dict[str, str] = field(default_factory=dict)
    choices: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def empty_definition(title: str) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "title": title,
        "form_id": "",
        "form_version": "",
        "default_language": "en",
        "languages": [],
        "questions": [],
    }


def with_question(definition: Mapping[str, Any], question: QuestionInput) -> dict[str, Any]:
    """A copy of `definition` with `question` added at the end (checked as an upload would be)."""
    labels = {code: text.strip() for code, text in question.labels.items() if text.strip()}
    added = {
        "name": question.name.strip(),
        "type": question.type,
        "label": labels,
        "hint": {code: text.strip() for code, text in question.hint.items() if text.strip()},
        "required": REQUIRED if question.required and question.type != "note" else "",
        "required_message": {},
        "relevant": question.relevant.strip(),
        "constraint": question.constraint.strip(),
        "constraint_message": {
            code: text.strip() for code, text in question.constraint_message.items() if text
        },
        "choices": [
            {"name": name.strip(), "label": {c: t for c, t in texts.items() if t.strip()}}
            for name, texts in question.choices
        ]
        if question.type in ("select_one", "select_multiple")
        else [],
        "section": None,
        "row": None,
    }
    questions = [dict(q) for q in definition.get("questions") or []] + [added]
    codes = [language["code"] for language in definition.get("languages") or []]
    names = {language["code"]: language["name"] for language in definition.get("languages") or []}
    for code in labels:
        if code not in codes:
            codes.append(code)
    new = dict(definition)
    new["questions"] = questions
    new["languages"] = [{"code": code, "name": names.get(code, code)} for code in codes]
    problems = check_definition(new)
    if problems:
        # In the editor there is no row: say which question instead.
        raise FormRefused([Problem(None, problem.reason) for problem in problems])
    return new


# --- answers ------------------------------------------------------------------------------------


@dataclass
class CheckedAnswers:
    coded: dict[str, Any]
    text: dict[str, str]
    relevant: set[str]


def _is_blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def _coerce(question: Mapping[str, Any], value: Any) -> Any:
    """The answer in its type, or ValueError with the message for the person answering."""
    kind = question["type"]
    if kind == "text":
        text = str(value).strip()
        if len(text) > MAX_TEXT_LENGTH:
            raise ValueError(_("Keep the answer under %(n)s characters.") % {"n": MAX_TEXT_LENGTH})
        return text
    if kind == "integer":
        if isinstance(value, bool):
            raise ValueError(_("Enter a whole number."))
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if not re.fullmatch(r"[+-]?\d{1,15}", text):
            raise ValueError(_("Enter a whole number."))
        return int(text)
    if kind == "decimal":
        if isinstance(value, bool):
            raise ValueError(_("Enter a number."))
        try:
            number = Decimal(str(value).strip().replace(",", "."))
        except InvalidOperation:
            raise ValueError(_("Enter a number.")) from None
        if not number.is_finite() or abs(number) >= Decimal("1e15"):
            raise ValueError(_("Enter a number."))
        return float(number)
    if kind == "date":
        if isinstance(value, datetime.date):
            return value
        try:
            return datetime.date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(_("Enter a date as YYYY-MM-DD.")) from None
    allowed = [choice["name"] for choice in question.get("choices") or []]
    if kind == "select_one":
        text = str(value).strip()
        if text not in allowed:
            raise ValueError(_("Choose one of the options."))
        return text
    if kind == "select_multiple":
        items = value.split() if isinstance(value, str) else [str(item) for item in value]
        if any(item not in allowed for item in items):
            raise ValueError(_("Choose from the options."))
        return [name for name in allowed if name in items]  # in the form's order, once each
    return None  # note


def _message(texts: Mapping[str, str] | None, fallback: str) -> str:
    return label_for(texts) or fallback


def _typed_values(
    questions: list[dict[str, Any]], raw: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Each answer in its type ("" when blank or wrong), and the type errors by name."""
    values: dict[str, Any] = {}
    type_errors: dict[str, str] = {}
    for question in questions:
        name = question["name"]
        value = raw.get(name)
        values[name] = ""
        if question["type"] == "note" or _is_blank(value):
            continue
        try:
            coerced = _coerce(question, value)
        except ValueError as error:
            type_errors[name] = str(error)
            continue
        values[name] = "" if _is_blank(coerced) else coerced
    return values, type_errors


def _relevant(
    questions: list[dict[str, Any]], values: dict[str, Any], today: datetime.date
) -> set[str]:
    """Relevance in form order. A question that is not relevant is cleared, so it counts as
    unanswered for the questions after it (as in an XForm)."""
    relevant: set[str] = set()
    for question in questions:
        name = question["name"]
        rule = question.get("relevant") or ""
        context = Context(values=values, current=values[name], today=today)
        if rule and not compiled(rule).is_true(context):
            values[name] = ""
            continue
        relevant.add(name)
    return relevant


def check_answers(
    definition: Mapping[str, Any],
    raw: Mapping[str, Any],
    *,
    today: datetime.date,
    prefix: str = "",
) -> CheckedAnswers:
    """Apply the form's types, relevance, required and constraints to `raw` answers.

    Answers to questions that are not relevant are dropped, as an XForm does. Raises FieldErrors
    keyed `prefix + name`.
    """
    questions = list(definition.get("questions") or [])
    known = {question["name"] for question in questions}
    errors: dict[str, list[str]] = {
        prefix + name: [_("This is not a question of the form.")]
        for name in raw
        if name not in known
    }
    values, type_errors = _typed_values(questions, raw)
    relevant = _relevant(questions, values, today)
    coded: dict[str, Any] = {}
    text: dict[str, str] = {}
    for question in questions:
        name, kind = question["name"], question["type"]
        if name not in relevant or kind == "note":
            continue
        if name in type_errors:
            errors[prefix + name] = [type_errors[name]]
            continue
        value = values[name]
        context = Context(values=values, current=value, today=today)
        required = question.get("required") or ""
        if _is_blank(value):
            if required and (required == REQUIRED or compiled(required).is_true(context)):
                errors[prefix + name] = [
                    _message(question.get("required_message"), _("This question is required."))
                ]
            continue
        constraint = question.get("constraint") or ""
        if constraint and not compiled(constraint).is_true(context):
            errors[prefix + name] = [
                _message(question.get("constraint_message"), _("This answer is not allowed."))
            ]
            continue
        if kind in FREE_TEXT_TYPES:
            text[name] = value
        else:
            coded[name] = value.isoformat() if isinstance(value, datetime.date) else value
    if errors:
        raise FieldErrors(errors)
    return CheckedAnswers(coded=coded, text=text, relevant=relevant)


def relevant_questions(
    definition: Mapping[str, Any], raw: Mapping[str, Any], *, today: datetime.date
) -> set[str]:
    """Which questions apply given the answers so far (to show or hide them while answering)."""
    questions = list(definition.get("questions") or [])
    values, _type_errors = _typed_values(questions, raw)
    return _relevant(questions, values, today)


def displayed_answers(
    definition: Mapping[str, Any], answers: Mapping[str, Any], *, show_free_text: bool
) -> list[dict[str, Any]]:
    """[{label, value, hidden}] for every answered question, choice names shown as labels."""
    rows = []
    for question in definition.get("questions") or []:
        name, kind = question["name"], question["type"]
        if kind == "note":
            continue
        free = kind in FREE_TEXT_TYPES
        if free and not show_free_text:
            rows.append({"label": label_for(question["label"]), "value": None, "hidden": True})
            continue
        if name not in answers:
            continue
        value = answers[name]
        choices = {c["name"]: label_for(c["label"]) or c["name"] for c in question["choices"]}
        if kind == "select_one":
            value = choices.get(value, value)
        elif kind == "select_multiple":
            value = ", ".join(choices.get(item, item) for item in value)
        rows.append({"label": label_for(question["label"]), "value": value, "hidden": False})
    return rows
