"""Cron schedules in specs: the retrain pipeline's CI triggers and the batch target's CronJob take the same
5-field form, checked when the spec is read so a schedule that does not parse is an error naming its key."""

from __future__ import annotations


def check_cron(expr: str) -> str:
    """A 5-field cron expression croniter can iterate (CI systems and Kubernetes CronJobs take 5 fields; no
    seconds, no @-macros), normalised to single spaces."""
    from croniter import croniter

    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"{expr!r} is not a cron expression: 5 fields (minute hour day month weekday), "
                         f"e.g. '0 3 * * 1', got {len(fields)}")
    if not croniter.is_valid(expr):
        raise ValueError(f"{expr!r} does not parse as a cron expression (minute hour day month weekday)")
    return " ".join(fields)
