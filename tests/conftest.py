"""Fixtures of the project-wide tests: every named user, and the permission matrix's world."""

from __future__ import annotations

from typing import Any

import pytest

from . import matrix


@pytest.fixture
def everyone(
    amina: Any,
    sam: Any,
    omar: Any,
    olga: Any,
    paul: Any,
    mei: Any,
    priya: Any,
    adam: Any,
    xena: Any,
    dana: Any,
) -> dict[str, Any]:
    return {u.username: u for u in (amina, sam, omar, olga, paul, mei, priya, adam, xena, dana)}


@pytest.fixture
def world(everyone: dict[str, Any], register: Any, make_user: Any) -> matrix.World:
    return matrix.build_world(dict(everyone), register, make_user)
