"""The states of a job, apart from the model so the CLI can offer them without SQLAlchemy
(:mod:`boomerang.jobs.models` re-exports it)."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    """queued: waiting for ``run_at``; running: a worker holds it until ``locked_until``;
    failed: an attempt failed and it waits for its retry at ``run_at``; done; dead: it
    failed ``max_attempts`` times and waits for an admin's retry."""

    queued = "queued"
    running = "running"
    failed = "failed"
    done = "done"
    dead = "dead"
