"""Warehouse jobs: ``engagement`` and ``difficulty`` (``learnstream jobs run NAME``)."""

from warehouse.jobs.runner import DEFAULT_ENGINE, JOBS, JobResult, run_job

__all__ = ["DEFAULT_ENGINE", "JOBS", "JobResult", "run_job"]
