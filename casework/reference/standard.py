"""The standard lists a new installation starts with (an agency can add, rename or retire items).

Codes are the interchange format's (../shared/contracts/case-interchange.md); names are given in
the four interface languages so reports read naturally in each.
"""

from __future__ import annotations

from django.db import models

PROGRAMMES: list[tuple[str, dict[str, str]]] = [
    (
        "CP",
        {
            "en": "Child protection",
            "fr": "Protection de l'enfance",
            "ar": "حماية الطفل",
            "es": "Protección de la infancia",
        },
    ),
    (
        "TIP",
        {
            "en": "Anti-trafficking",
            "fr": "Lutte contre la traite",
            "ar": "مكافحة الاتجار بالبشر",
            "es": "Lucha contra la trata",
        },
    ),
    (
        "GBV",
        {
            "en": "Gender-based violence",
            "fr": "Violences basées sur le genre",
            "ar": "العنف القائم على النوع الاجتماعي",
            "es": "Violencia de género",
        },
    ),
    (
        "MHPSS",
        {
            "en": "Mental health and psychosocial support",
            "fr": "Santé mentale et soutien psychosocial",
            "ar": "الصحة النفسية والدعم النفسي الاجتماعي",
            "es": "Salud mental y apoyo psicosocial",
        },
    ),
]

PROTECTION_CONCERNS: list[tuple[str, dict[str, str]]] = [
    (
        "child_labour",
        {
            "en": "Child labour",
            "fr": "Travail des enfants",
            "ar": "عمل الأطفال",
            "es": "Trabajo infantil",
        },
    ),
    (
        "child_marriage",
        {
            "en": "Child marriage",
            "fr": "Mariage d'enfants",
            "ar": "زواج الأطفال",
            "es": "Matrimonio infantil",
        },
    ),
    ("detention", {"en": "Detention", "fr": "Détention", "ar": "الاحتجاز", "es": "Detención"}),
    (
        "gbv",
        {
            "en": "Gender-based violence",
            "fr": "Violence basée sur le genre",
            "ar": "العنف القائم على النوع الاجتماعي",
            "es": "Violencia de género",
        },
    ),
    (
        "legal_documentation",
        {
            "en": "Legal documentation",
            "fr": "Documentation légale",
            "ar": "الوثائق القانونية",
            "es": "Documentación legal",
        },
    ),
    ("neglect", {"en": "Neglect", "fr": "Négligence", "ar": "الإهمال", "es": "Negligencia"}),
    (
        "psychosocial_distress",
        {
            "en": "Psychosocial distress",
            "fr": "Détresse psychosociale",
            "ar": "الضيق النفسي الاجتماعي",
            "es": "Angustia psicosocial",
        },
    ),
    (
        "separated",
        {
            "en": "Separated child",
            "fr": "Enfant séparé",
            "ar": "طفل منفصل عن ذويه",
            "es": "Niño/a separado/a",
        },
    ),
    (
        "trafficking",
        {
            "en": "Trafficking in persons",
            "fr": "Traite des personnes",
            "ar": "الاتجار بالأشخاص",
            "es": "Trata de personas",
        },
    ),
    (
        "unaccompanied",
        {
            "en": "Unaccompanied child",
            "fr": "Enfant non accompagné",
            "ar": "طفل غير مصحوب",
            "es": "Niño/a no acompañado/a",
        },
    ),
    (
        "violence_abuse",
        {
            "en": "Violence, abuse or exploitation",
            "fr": "Violence, abus ou exploitation",
            "ar": "العنف أو الإساءة أو الاستغلال",
            "es": "Violencia, abuso o explotación",
        },
    ),
    ("other", {"en": "Other", "fr": "Autre", "ar": "أخرى", "es": "Otro"}),
]


def install(programme_model: type[models.Model], concern_model: type[models.Model]) -> None:
    """Create the standard items that are missing; never overwrite an agency's own changes."""
    for model, items in ((programme_model, PROGRAMMES), (concern_model, PROTECTION_CONCERNS)):
        for code, names in items:
            others = {language: name for language, name in names.items() if language != "en"}
            # The migration passes historical models: their default manager is their `objects`.
            model._default_manager.get_or_create(
                code=code, defaults={"name": names["en"], "names": others}
            )
