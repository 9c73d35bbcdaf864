"""XLSForm workbooks built in the tests with openpyxl (no files checked in)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook

Rows = Sequence[Sequence[Any]]


def workbook(survey: Rows, choices: Rows | None = None, settings: Rows | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "survey"
    for row in survey:
        sheet.append(list(row))
    if choices:
        choice_sheet = book.create_sheet("choices")
        for row in choices:
            choice_sheet.append(list(row))
    if settings:
        settings_sheet = book.create_sheet("settings")
        for row in settings:
            settings_sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


SURVEY_HEADER = [
    "type",
    "name",
    "label::English (en)",
    "label::Français (fr)",
    "hint::English (en)",
    "required",
    "relevant",
    "constraint",
    "constraint_message::English (en)",
]

HOUSEHOLD_SURVEY = [
    SURVEY_HEADER,
    ["start", "start", "", "", "", "", "", "", ""],
    ["note", "intro", "About the household", "Le ménage", "", "", "", "", ""],
    [
        "integer",
        "household_size",
        "How many people live in the household?",
        "Combien de personnes vivent dans le ménage ?",
        "Count the client too",
        "yes",
        "",
        ". > 0 and . < 40",
        "Between 1 and 39 people",
    ],
    [
        "integer",
        "children",
        "How many of them are children?",
        "Combien sont des enfants ?",
        "",
        "yes",
        "${household_size} > 1",
        ". >= 0 and . < ${household_size}",
        "Fewer children than people",
    ],
    [
        "select_multiple needs",
        "needs",
        "Which needs are most urgent?",
        "Quels besoins sont les plus urgents ?",
        "",
        "yes",
        "",
        "count-selected(.) <= 2",
        "Choose at most two",
    ],
    [
        "text",
        "shelter_detail",
        "Describe the shelter problem",
        "Décrivez le problème d'abri",
        "",
        "yes",
        "selected(${needs}, 'shelter')",
        "string-length(.) >= 3",
        "",
    ],
    ["decimal", "income", "Monthly income", "Revenu mensuel", "", "", "", ". >= 0", ""],
    ["date", "arrived_on", "Arrived on", "Arrivé le", "", "", "", ". <= today()", ""],
    [
        "select_one yes_no",
        "safe_now",
        "Safe where they sleep?",
        "En sécurité ?",
        "",
        "yes",
        "",
        "",
        "",
    ],
    ["begin_group", "danger", "Danger", "Danger", "", "", "${safe_now} = 'no'", "", ""],
    ["text", "danger_who", "From whom?", "De qui ?", "", "yes", "", "", ""],
    ["end_group", "", "", "", "", "", "", "", ""],
]

HOUSEHOLD_CHOICES = [
    ["list_name", "name", "label::English (en)", "label::Français (fr)"],
    ["needs", "shelter", "Shelter", "Abri"],
    ["needs", "food", "Food", "Nourriture"],
    ["needs", "health", "Health care", "Soins"],
    ["needs", "school", "School", "École"],
    ["yes_no", "yes", "Yes", "Oui"],
    ["yes_no", "no", "No", "Non"],
]

HOUSEHOLD_SETTINGS = [["form_title", "form_id", "version"], ["Household", "household", "2026-01"]]


def household_form() -> bytes:
    return workbook(HOUSEHOLD_SURVEY, HOUSEHOLD_CHOICES, HOUSEHOLD_SETTINGS)


def simple_form(label: str = "Does the client have identity papers?") -> bytes:
    return workbook(
        [["type", "name", "label", "required"], ["select_one yes_no", "papers", label, "yes"]],
        [["list_name", "name", "label"], ["yes_no", "yes", "Yes"], ["yes_no", "no", "No"]],
    )
