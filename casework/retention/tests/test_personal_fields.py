"""Retention reaches every encrypted column, so new personal data cannot be left behind unnoticed."""

from __future__ import annotations

from casework.retention.services import NOT_ABOUT_A_PERSON, path_to_person, personal_columns
from casework.vault.fields import encrypted_fields


def test_it_blanks_or_knowingly_skips_every_encrypted_field() -> None:
    encrypted = {
        f"{model._meta.label_lower}.{field.attname}" for model, field in encrypted_fields()
    }
    blanked = {
        f"{columns.model._meta.label_lower}.{name}"
        for columns in personal_columns()  # raises on a column that leads to no person
        for name in columns.fields
    }

    assert blanked | NOT_ABOUT_A_PERSON >= encrypted
    assert "people.person.given_name" in blanked
    assert "cases.noterevision.text" in blanked


def test_it_follows_foreign_keys_to_the_person() -> None:
    from casework.cases.models import CaseNote, Consent, NoteRevision
    from casework.people.models import Person, Relationship

    assert path_to_person(Person) == "pk"
    # Not through the caregiver or the relative: the row is about the client.
    assert path_to_person(Relationship) == "person"
    assert path_to_person(Consent) == "case__person"
    assert path_to_person(CaseNote) == "case__person"
    assert path_to_person(NoteRevision) == "note__case__person"


def test_every_path_is_a_valid_query() -> None:
    for columns in personal_columns():
        columns.model._base_manager.filter(**{f"{columns.path}__in": [0]}).exists()
