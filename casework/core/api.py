"""Plumbing every app's API router shares: the error body, paging, versions (ETag / If-Match)
and bodies read after the gate.

Errors are JSON objects with a machine `code` and a translated `message`, and, where they apply,
the `field` a refusal concerns, `fields` with per-field messages, or `problems` (rows of a file).
casework/api.py turns every `CaseworkError` and 404 into one of these.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

import ninja
import pydantic
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Schema
from ninja.errors import ValidationError
from pydantic.json_schema import GetJsonSchemaHandler, JsonSchemaValue
from pydantic_core import CoreSchema

from casework.core.errors import PreconditionFailed, PreconditionRequired

Row = TypeVar("Row", bound=Model)
Input = TypeVar("Input", bound=pydantic.BaseModel)


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None
    fields: dict[str, list[str]] | None = None
    problems: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a list operation: its rows, and where it stands (pages count from 1)."""

    items: Sequence[Row]
    count: int
    page: int
    pages: int


def paginate(rows: QuerySet[Row], page: int, size: int) -> Page[Row]:
    """The asked page of `rows` (the last one if it asks past the end, the first before it)."""
    count = rows.count()
    pages = max(1, math.ceil(count / size))
    page = min(max(1, page), pages)
    return Page(list(rows[(page - 1) * size : page * size]), count, page, pages)


# --- versions: no lost updates -------------------------------------------------------------------
# Every GET of a versioned record (case, person, plan, note, referral) sends its version as an
# ETag; every write that could overwrite someone else's change requires If-Match with it. A
# missing If-Match is 428, a stale one 412, and nothing changes.


def etag(version: int) -> str:
    return f'"{version}"'


def send_version(response: HttpResponse, version: int) -> None:
    """Put the record's version on the response (ninja's temporal response) as its ETag."""
    response["ETag"] = etag(version)


def if_match(*, required: bool = True) -> dict[str, Any]:
    """`openapi_extra` for a write that checks If-Match: documents the header, and marks the
    operation (`x-if-match`) for the test that proves 428 and 412 on every such write."""
    return {
        "parameters": [
            {
                "in": "header",
                "name": "If-Match",
                "required": required,
                "schema": {"type": "string"},
                "description": "The ETag read with the record"
                + ("" if required else " (optional: this write adds, it overwrites nothing)"),
            }
        ],
        "x-if-match": "required" if required else "optional",
    }


# A versioned write's extra answers: a precondition missing (428) or failed (412).
PRECONDITION_ANSWERS: dict[int, type[ErrorOut]] = {412: ErrorOut, 428: ErrorOut}


def answers(ok: Any, *errors: int, status: int = 200, precondition: bool = False) -> dict[int, Any]:
    """An operation's `response=`: what it answers with `status`, then the error codes it may
    give (each an ErrorOut) and, for a versioned write (`precondition`), 412 and 428."""
    found: dict[int, Any] = {status: ok, **dict.fromkeys(errors, ErrorOut)}
    return found | PRECONDITION_ANSWERS if precondition else found


def check_version(request: HttpRequest, version: int, *, required: bool = True) -> None:
    """If-Match against the record's current version; call it after the gate, before the body.

    `required=False` for appends that cannot overwrite anything (a new note or follow-up): they
    accept If-Match but do not need it.
    """
    header = request.headers.get("If-Match")
    if header is None:
        if required:
            raise PreconditionRequired(
                _(
                    "Send If-Match with the ETag you read with the record, so that no one's "
                    "change is overwritten."
                )
            )
        return
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if "*" not in tags and etag(version) not in tags:
        raise PreconditionFailed(
            _("Someone changed this record since you read it. Read it again and retry.")
        )


# --- bodies read after the gate and the precondition ---------------------------------------------
# Ninja validates a body before the operation runs, which would answer 422 to someone who may not
# even see the record. A write declares `payload: Annotated[RawBody, DocumentedAs(SomeIn)] =
# READ_LATER` instead: the OpenAPI document shows SomeIn, and the operation calls
# `parse(SomeIn, payload)` once the gate (404) and the precondition (428/412) have passed.

RawBody: TypeAlias = dict[str, Any] | None
READ_LATER = ninja.Body(None)


@dataclass(frozen=True)
class DocumentedAs:
    schema: type[pydantic.BaseModel]

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(self.schema.__pydantic_core_schema__)


def parse(schema: type[Input], payload: RawBody) -> Input:
    """The body as `schema` says, or the API's usual 422 naming each wrong field."""
    try:
        return schema.model_validate(payload if payload is not None else {})
    except pydantic.ValidationError as error:
        raise ValidationError(
            [{**item, "loc": ("body", *item["loc"])} for item in error.errors()]
        ) from None


def checked_body(
    request: HttpRequest,
    schema: type[Input],
    payload: RawBody,
    *,
    version: int,
    required: bool = True,
) -> Input:
    """For a write, once the gate has loaded the record: If-Match against its `version` (428 or
    412), then the body (422)."""
    check_version(request, version, required=required)
    return parse(schema, payload)
