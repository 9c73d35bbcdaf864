"""Indicator definitions as data, an agency's disclosure setting, and DHIS2 mappings.

The three indicators of the seeds are rows installed by a data migration (is_builtin); an agency
adds its own by writing rows in the same shape (admin or casework.indicators.services), without
code: the numerator and population are rules in the small JSON language of rules.py.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from casework.core.models import TimeStampedModel
from casework.indicators.consortium_models import ConsortiumAgreement, PersonLink  # noqa: F401
from casework.indicators.definitions import check_definition

DEFAULT_MIN_CELL = 5


class IndicatorDefinition(TimeStampedModel):
    class Kind(models.TextChoices):
        COUNT = "count", _("Count")
        PERCENTAGE = "percentage", _("Percentage")

    class Unit(models.TextChoices):
        PERSONS = "persons", _("Persons (each counted once)")

    class PeriodSemantics(models.TextChoices):
        IN_CASE_MANAGEMENT = "in_case_management", _("In case management during the period")
        OVERLAPPING = "overlapping", _("Any service open during the period")
        REGISTERED_IN_PERIOD = "registered_in_period", _("Registered during the period")
        OPEN_AT_END = "open_at_end", _("Open at the end of the period")
        CLOSED_IN_PERIOD = "closed_in_period", _("Closed during the period")

    # Null: an indicator every agency reports (the built-ins); else the agency's own.
    agency = models.ForeignKey(
        "accounts.Agency",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="indicator_definitions",
    )
    code = models.CharField(
        _("code"),
        max_length=40,
        validators=[RegexValidator(r"^[A-Z][A-Z0-9_]{1,39}$", _("Capital letters, digits, _."))],
    )
    # {"en": "...", "fr": "...", ...}: the indicator's phrasing in each interface language.
    names = models.JSONField(_("names"), default=dict)
    descriptions = models.JSONField(_("how it is counted"), default=dict, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices, default=Unit.PERSONS)
    period_semantics = models.CharField(
        _("which cases the period takes in"),
        max_length=24,
        choices=PeriodSemantics.choices,
        default=PeriodSemantics.IN_CASE_MANAGEMENT,
    )
    population = models.JSONField(_("population rule"), default=dict, blank=True)
    numerator = models.JSONField(_("numerator rule"), null=True, blank=True)
    # Figures reported beside the value: "open", "closed", "also_mhpss", "surveyed", "q3".
    measures = models.JSONField(_("also reported"), default=list, blank=True)
    disaggregations = models.JSONField(_("disaggregations allowed"), default=list, blank=True)
    is_builtin = models.BooleanField(default=False, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(default=100)

    class Meta:
        verbose_name = _("indicator definition")
        ordering = ["position", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "code"], name="indicator_code_unique_in_agency"
            ),
            models.UniqueConstraint(
                fields=["code"], condition=Q(agency=None), name="indicator_code_unique_shared"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def name(self) -> str:
        language = (get_language() or "en").split("-")[0]
        return str(self.names.get(language) or self.names.get("en") or self.code)

    @property
    def description(self) -> str:
        language = (get_language() or "en").split("-")[0]
        return str(self.descriptions.get(language) or self.descriptions.get("en") or "")

    def clean(self) -> None:
        try:
            check_definition(
                kind=self.kind,
                population=self.population,
                numerator=self.numerator,
                measures=self.measures,
                disaggregations=self.disaggregations,
            )
        except Exception as error:  # a RuleError, shown next to the form like any other
            raise ValidationError(str(error)) from error


class ReportingPolicy(models.Model):
    """An agency's small-cell threshold: counts 1..k-1 are never published (default k = 5)."""

    agency = models.OneToOneField(
        "accounts.Agency", on_delete=models.CASCADE, related_name="reporting_policy"
    )
    min_cell = models.PositiveSmallIntegerField(
        _("smallest count published"),
        default=DEFAULT_MIN_CELL,
        validators=[MinValueValidator(2), MaxValueValidator(100)],
        help_text=_("Counts from 1 to this number minus one are suppressed in every report."),
    )

    class Meta:
        verbose_name = _("reporting policy")
        verbose_name_plural = _("reporting policies")

    def __str__(self) -> str:
        return f"k={self.min_cell} for agency {self.agency_id}"

    @classmethod
    def min_cell_for(cls, agency_id: int) -> int:
        policy = cls.objects.filter(agency_id=agency_id).values_list("min_cell", flat=True).first()
        return policy or DEFAULT_MIN_CELL


class Dhis2Mapping(models.Model):
    """Where one published figure goes in DHIS2: indicator × disaggregation key → data value."""

    class Figure(models.TextChoices):
        VALUE = "value", _("Value")
        NUMERATOR = "numerator", _("Numerator")
        DENOMINATOR = "denominator", _("Denominator")
        OPEN = "open", _("Open at the period end")
        CLOSED = "closed", _("Closed by the period end")
        ALSO_MHPSS = "also_mhpss", _("Also in MHPSS")
        SURVEYED = "surveyed", _("Surveyed")

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.CASCADE, related_name="dhis2_mappings"
    )
    indicator_code = models.CharField(_("indicator"), max_length=40)
    # "" for the indicator's total; else a disaggregation such as "sex" or "sex+age_group".
    disaggregation = models.CharField(_("disaggregation"), max_length=80, blank=True)
    # "" for the total; else the key, e.g. "female" or "female+0-17" for a pair.
    key = models.CharField(_("key"), max_length=120, blank=True)
    figure = models.CharField(
        _("figure"), max_length=12, choices=Figure.choices, default=Figure.VALUE
    )
    data_element = models.CharField(
        _("data element"),
        max_length=11,
        validators=[
            RegexValidator(r"^[A-Za-z][A-Za-z0-9]{10}$", _("A DHIS2 identifier (11 characters)."))
        ],
    )
    category_option_combo = models.CharField(_("category option combo"), max_length=11, blank=True)
    attribute_option_combo = models.CharField(
        _("attribute option combo"), max_length=11, blank=True
    )
    org_unit = models.CharField(_("organisation unit"), max_length=11)

    class Meta:
        verbose_name = _("DHIS2 mapping")
        ordering = ["indicator_code", "disaggregation", "key", "figure"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "indicator_code", "disaggregation", "key", "figure"],
                name="one_dhis2_mapping_per_figure",
            )
        ]

    def __str__(self) -> str:
        where = f"{self.disaggregation}={self.key}" if self.disaggregation else "total"
        return f"{self.indicator_code} {where} → {self.data_element}"

    def as_lookup(self) -> tuple[str, str, str, str]:
        return (self.indicator_code, self.disaggregation, self.key, self.figure)


class FrozenReport(models.Model):
    """A period's report as it went to a donor or a cluster: never changed, never recomputed.

    Kept with what it was counted under (the definitions, the settings in force, the smallest
    count published) and every file as it was downloaded then, byte for byte; signed under a key
    outside the database (casework/indicators/frozen.py), so an edited row is detected. A report
    frozen again for the same period and disaggregations is a new version, with its reason.
    """

    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.CASCADE, related_name="frozen_reports"
    )
    version = models.PositiveIntegerField(_("version"))
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    # As the period was asked for: "2026-Q3", "2026-07", "2026-07-01..2026-09-30".
    period_label = models.CharField(_("period"), max_length=40)
    # The disaggregations asked for, in parse_by's text: "sex,age_group,sex+age_group".
    disaggregations = models.CharField(_("disaggregations"), max_length=400, blank=True)
    min_cell = models.PositiveSmallIntegerField(_("smallest count published"))
    # The report in the contract's shape (Report.as_json), as frozen.
    report = models.JSONField(_("figures"))
    # The indicator definitions it was counted with, and their hash (the definitions' version).
    definitions = models.JSONField(_("definitions"), default=list)
    definitions_hash = models.CharField(max_length=64)
    # key → {"value", "shown", "label", "since"}: the agency settings in force on the last day.
    settings = models.JSONField(_("settings in force"), default=dict)
    recipient = models.CharField(_("sent to"), max_length=200)
    reason = models.TextField(_("reason"), blank=True)
    frozen_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="frozen_reports"
    )
    frozen_at = models.DateTimeField(_("frozen at"))
    signature = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("frozen report")
        ordering = ["-frozen_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["agency", "period_start", "period_end", "disaggregations", "version"],
                name="one_frozen_report_per_version",
            )
        ]
        indexes = [models.Index(fields=["agency", "-frozen_at"], name="frozen_report_by_agency")]

    def __str__(self) -> str:
        return f"{self.period_label} v{self.version} for agency {self.agency_id}"


class FrozenExport(models.Model):
    """One file of a frozen report, exactly as it was rendered when the report was frozen."""

    frozen_report = models.ForeignKey(FrozenReport, on_delete=models.CASCADE, related_name="files")
    file_format = models.CharField(_("format"), max_length=10)
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("frozen report file")
        ordering = ["frozen_report", "file_format"]
        constraints = [
            models.UniqueConstraint(
                fields=["frozen_report", "file_format"], name="one_frozen_file_per_format"
            )
        ]

    def __str__(self) -> str:
        return self.name
