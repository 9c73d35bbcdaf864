"""Fixtures of the project-wide tests: the permission matrix's world."""

from __future__ import annotations

from typing import Any

import pytest

from . import matrix


@pytest.fixture
def world(everyone: dict[str, Any], register: Any, make_user: Any) -> matrix.World:
    return matrix.build_world(dict(everyone), register, make_user)
