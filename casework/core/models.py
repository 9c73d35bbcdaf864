from __future__ import annotations

from django.conf import settings
from django.db import models

from casework.vault.fields import EncryptedTextField


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)

    class Meta:
        abstract = True


class Correction(models.Model):
    """A correction of a record: who, when, why, which fields, and what they said before
    (encrypted, like the fields themselves). The record holds the corrected values; a concrete
    revision adds the foreign key to it."""

    # The version of the record this correction replaced.
    version = models.PositiveIntegerField()
    fields = models.JSONField(default=list)
    previous = EncryptedTextField()  # JSON {field: value before}, codes for lists
    reason = EncryptedTextField()
    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    corrected_at = models.DateTimeField()

    class Meta:
        abstract = True
        ordering = ["version"]


class ScheduledJob(models.Model):
    """When a periodic job is next due, and its run in flight. Claimed atomically, so many
    workers run it once; it moves on to its next period only when that run has finished
    (casework/core/schedule.py)."""

    name = models.CharField(max_length=100, unique=True)
    next_run_at = models.DateTimeField()
    # When the latest run was claimed (a period counts from there).
    last_run_at = models.DateTimeField(null=True, blank=True)
    # The task result of the run in flight; empty when none is.
    running_task_id = models.CharField(max_length=64, blank=True, default="")
    # Runs in a row that failed or were lost; sets the pause before the next try.
    failures = models.PositiveIntegerField(default=0)
    last_succeeded_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class RateCounter(models.Model):
    """One rate-limit counter: hits of one caller under one rule in the current fixed window.

    Updated by one atomic statement (INSERT … ON CONFLICT DO UPDATE … RETURNING, on PostgreSQL
    and SQLite alike: casework/core/ratelimits.py), so parallel requests on several servers are
    each counted once; a key carries no name or address, only a digest.
    """

    key = models.CharField(max_length=64, primary_key=True)
    window_ends = models.BigIntegerField()  # Unix time
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["window_ends"], name="ratecounter_window_ends")]

    def __str__(self) -> str:
        return f"{self.key[:8]}… {self.hits}"


class WorkerHeartbeat(models.Model):
    """The latest sign of life of one task loop (`casework worker`), written every few seconds
    by a thread beside it. A running task whose loop has not beaten within the timeout lost its
    worker and is put back in the queue (casework/core/heartbeats.py)."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.worker_id
