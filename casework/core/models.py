from __future__ import annotations

from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)

    class Meta:
        abstract = True


class ScheduledJob(models.Model):
    """When a periodic job is next due. Claimed atomically, so many workers run it once."""

    name = models.CharField(max_length=100, unique=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name
