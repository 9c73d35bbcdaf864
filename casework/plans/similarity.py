"""Is a plan individualised? The contract's exact rule, plus near-duplicates (seed 001).

Exact rule (../shared/contracts/case-interchange.md, INDIVIDUAL_PLAN): a plan is not
individualised when it is a group plan, when its text is empty, or when its folded text equals the
plan text of a case of another person. Cases carry the hash of their current plan's folded text
(Case.plan_fold_hash, indexed), so that is one index lookup.

Near-duplicates: a plan copied from another person's plan and lightly edited (a name changed, a
line added) escapes the exact rule. Comparing a new plan with every plan would not scale, so each
current plan is summarised by MinHash over its word pairs, cut into bands (`PlanBand`, indexed).
Plans whose word pairs overlap much share at least one band with high probability (16 bands of 4
hashes: ~64% at 50% overlap, >99.9% at 80%); only plans sharing a band are read, decrypted and
scored with rapidfuzz. Checking a plan is therefore a handful of indexed queries, at most
BANDS × PER_BAND index entries and MAX_CANDIDATES string comparisons, whatever the number of
plans and however many of them are copies of one another.

Plans are only compared within their agency: a flag must never reveal another organisation's plan.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from rapidfuzz import fuzz

from casework.core.text import fold
from casework.plans.models import (
    DEFAULT_NEAR_DUPLICATE_THRESHOLD,
    CasePlan,
    PlanBand,
    PlanSettings,
)

PERMUTATIONS = 64
BANDS = 16
ROWS = PERMUTATIONS // BANDS
# The most candidate plans read for one check (those sharing the most bands first), and the most
# exact duplicates listed. Enough to show staff the evidence; bounded whatever the data.
MAX_CANDIDATES = 25
MAX_LISTED = 20
# The most index entries read per band. A band shared by thousands of plans (one group plan
# copied into many files, boilerplate phrases) says little; reading only its newest entries keeps
# a check's work bounded (BANDS × PER_BAND rows at most) however the plans are distributed.
PER_BAND = 200
_SALT = b"casework.plans.minhash.v1:"
_PACK = struct.Struct(f"<{PERMUTATIONS}Q")


# --- signatures ---------------------------------------------------------------------------------


def shingles(text: str) -> set[str]:
    """Word pairs of the folded text (single words for a one-word text)."""
    words = fold(text).split()
    if len(words) < 2:
        return set(words)
    return {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}


def minhash(text: str) -> tuple[int, ...]:
    """PERMUTATIONS independent minimum hashes of the text's shingles (empty for empty text)."""
    rows = [
        _PACK.unpack(hashlib.shake_128(_SALT + shingle.encode()).digest(_PACK.size))
        for shingle in shingles(text)
    ]
    if not rows:
        return ()
    return tuple(min(column) for column in zip(*rows, strict=True))


def band_values(text: str, *, agency_id: int) -> list[int]:
    """The plan's BANDS band hashes, as signed 64-bit integers (one per band, agency included)."""
    signature = minhash(text)
    if not signature:
        return []
    values = []
    for band in range(BANDS):
        chunk = struct.pack(f"<{ROWS}Q", *signature[band * ROWS : (band + 1) * ROWS])
        digest = hashlib.blake2b(
            f"{agency_id}:{band}:".encode() + chunk, digest_size=8, person=b"cw-plan-band"
        ).digest()
        values.append(int.from_bytes(digest, "little", signed=True))
    return values


def band_rows(plan: CasePlan, *, agency_id: int, person_id: int) -> list[PlanBand]:
    return [
        PlanBand(plan_id=plan.pk, person_id=person_id, band=value)
        for value in band_values(plan.text, agency_id=agency_id)
    ]


def index_plan(plan: CasePlan, *, replaces: Iterable[int] = ()) -> None:
    """Make `plan` its case's candidate for near-duplicate checks (and retire `replaces`)."""
    case = plan.case
    PlanBand.objects.filter(plan_id__in=[plan.pk, *replaces]).delete()
    PlanBand.objects.bulk_create(
        band_rows(plan, agency_id=case.agency_id, person_id=case.person_id)
    )


def index_current_plans(plans: Iterable[CasePlan], *, batch_size: int = 2000) -> int:
    """Rebuild the bands of the given plans in bulk (imports, `casework index_plans`).

    Each plan must be the current plan of its case and come with `case` loaded (select_related).
    Returns the number of plans indexed.
    """
    count = 0
    pending: list[PlanBand] = []
    plan_ids: list[int] = []

    def flush() -> None:
        PlanBand.objects.filter(plan_id__in=plan_ids).delete()
        PlanBand.objects.bulk_create(pending, batch_size=batch_size)
        pending.clear()
        plan_ids.clear()

    for plan in plans:
        plan_ids.append(plan.pk)
        pending.extend(
            band_rows(plan, agency_id=plan.case.agency_id, person_id=plan.case.person_id)
        )
        count += 1
        if len(plan_ids) >= batch_size:
            flush()
    flush()
    return count


# --- the check ----------------------------------------------------------------------------------


def near_duplicate_threshold(agency_id: int) -> int:
    own = (
        PlanSettings.objects.filter(agency_id=agency_id)
        .values_list("near_duplicate_threshold", flat=True)
        .first()
    )
    if own is not None:
        return own
    return int(
        getattr(
            settings, "CASEWORK_PLAN_NEAR_DUPLICATE_THRESHOLD", DEFAULT_NEAR_DUPLICATE_THRESHOLD
        )
    )


def similarity(a: str, b: str) -> int:
    """0–100: how much two plans say the same, whatever the order of their lines."""
    return round(fuzz.token_set_ratio(fold(a), fold(b)))


@dataclass(frozen=True)
class Similar:
    plan_id: int
    case_id: int
    score: int
    fold_hash: str


@dataclass(frozen=True)
class PlanCheck:
    plan_id: int
    is_group: bool
    is_empty: bool
    # Cases of other people whose current plan has exactly the same folded text (contract rule).
    same_as_case_ids: list[int] = field(default_factory=list)
    # Current plans of other people at or above the threshold (but not exactly the same), one
    # per distinct text: a group plan copied into many files is one finding, not many.
    similar: list[Similar] = field(default_factory=list)
    threshold: int = DEFAULT_NEAR_DUPLICATE_THRESHOLD
    candidates: int = 0

    @property
    def individualised(self) -> bool:
        """The contract's exact rule (near-duplicates need a person's decision first)."""
        return not (self.is_group or self.is_empty or self.same_as_case_ids)

    @property
    def reasons(self) -> list[str]:
        reasons = []
        if self.is_group:
            reasons.append("group")
        if self.is_empty:
            reasons.append("empty")
        if self.same_as_case_ids:
            reasons.append("same_as_other_person")
        if self.similar:
            reasons.append("near_duplicate")
        return reasons


def same_text_case_ids(plan: CasePlan, *, limit: int = MAX_LISTED) -> list[int]:
    """Cases of other people in the agency whose current plan reads the same (one query)."""
    from casework.cases.models import Case

    if not plan.fold_hash:
        return []
    case = plan.case
    return list(
        Case.objects.filter(agency_id=case.agency_id, plan_fold_hash=plan.fold_hash)
        .exclude(person_id=case.person_id)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def _candidate_ids(bands: list[int], *, person_id: int, plan_id: int) -> list[int]:
    """Plans of other people sharing the most bands with these (one indexed query).

    One sub-select per band, each reading at most PER_BAND entries of the (band, plan, person)
    index, newest plans first; the union is counted per plan.
    """
    if not bands:
        return []
    table = connection.ops.quote_name(PlanBand._meta.db_table)
    one_band = (
        f"SELECT plan_id FROM (SELECT plan_id FROM {table} "  # noqa: S608 - table name from _meta
        f"WHERE band = %s AND person_id <> %s AND plan_id <> %s "
        f"ORDER BY plan_id DESC LIMIT {PER_BAND}) AS band_{{n}}"
    )
    hits = " UNION ALL ".join(one_band.format(n=n) for n in range(len(bands)))
    sql = (
        f"SELECT plan_id, COUNT(*) AS shared FROM ({hits}) AS hits "  # noqa: S608 - no user input
        f"GROUP BY plan_id ORDER BY shared DESC, plan_id DESC LIMIT {MAX_CANDIDATES}"
    )
    params: list[int] = []
    for band in bands:
        params += [band, person_id, plan_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def check_plan(plan: CasePlan, *, threshold: int | None = None) -> PlanCheck:
    """Check one plan against every current plan of the agency. Reads only; at most 4 queries.

    `plan.case` should be loaded (it is read for the agency and the person).
    """
    case = plan.case
    if threshold is None:
        threshold = near_duplicate_threshold(case.agency_id)
    is_empty = not plan.fold_hash
    result = PlanCheck(
        plan_id=plan.pk,
        is_group=plan.is_group,
        is_empty=is_empty,
        threshold=threshold,
    )
    if is_empty:
        return result
    same = same_text_case_ids(plan)
    candidate_ids = _candidate_ids(
        band_values(plan.text, agency_id=case.agency_id),
        person_id=case.person_id,
        plan_id=plan.pk or 0,
    )
    similar: list[Similar] = []
    if candidate_ids:
        candidates = CasePlan.objects.filter(pk__in=candidate_ids).only(
            "pk", "case_id", "text", "fold_hash"
        )
        seen: set[str] = set()
        for candidate in sorted(candidates, key=lambda c: -c.pk):
            if candidate.fold_hash in seen or candidate.fold_hash in ("", plan.fold_hash):
                continue  # one plan per distinct text; the exact rule covers equal texts
            seen.add(candidate.fold_hash)
            score = similarity(plan.text, candidate.text)
            if score >= threshold:
                similar.append(Similar(candidate.pk, candidate.case_id, score, candidate.fold_hash))
        similar.sort(key=lambda item: (-item.score, item.plan_id))
    return PlanCheck(
        plan_id=plan.pk,
        is_group=plan.is_group,
        is_empty=False,
        same_as_case_ids=same,
        similar=similar[:MAX_LISTED],
        threshold=threshold,
        candidates=len(candidate_ids),
    )
