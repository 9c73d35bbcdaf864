"""Password rules: long passphrases welcome, guessable passwords refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError


def test_it_accepts_a_long_passphrase(amina: Any) -> None:
    passphrase = "the ferry to Mopti leaves at dawn when the river is high, bring tea"
    assert len(passphrase) >= 64
    validate_password(passphrase, user=amina)


def test_it_accepts_a_passphrase_of_hundreds_of_characters() -> None:
    validate_password(" ".join(["lantern", "okra", "Bamako", "seventeen", "harmattan"] * 20))


@pytest.mark.parametrize(
    "password", ["password", "qwerty123456", "1q2w3e4r5t6y", "casework2026", "aaaaaaaaaaaaaa"]
)
def test_it_refuses_a_common_or_guessable_password(password: str) -> None:
    with pytest.raises(ValidationError) as refused:
        validate_password(password)
    assert "password_too_common" in {error.code for error in refused.value.error_list}


def test_it_refuses_a_short_password() -> None:
    with pytest.raises(ValidationError) as refused:
        validate_password("Tk7#q!")
    assert "password_too_short" in {error.code for error in refused.value.error_list}


def test_it_refuses_an_absurdly_long_password() -> None:
    with pytest.raises(ValidationError) as refused:
        validate_password("lantern okra " * 400)
    assert "password_too_long" in {error.code for error in refused.value.error_list}


def test_a_long_passphrase_signs_in(amina: Any, password_login: Any) -> None:
    """The login form sets no maximum length of its own."""
    passphrase = "x7 " + "the ferry to Mopti leaves at dawn when the river is high " * 3
    amina.set_password(passphrase)
    amina.save()
    _client, response = password_login("amina", passphrase)
    assert response.status_code == 302


def test_production_hashes_with_argon2() -> None:
    # The test settings swap in MD5 for speed; production settings must not.
    from config import settings as production

    assert production.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
