"""Fixtures for the job tests: a queue in memory that the test runs by hand (portal.jobs.queue.run_pending),
job files in the test's own folder."""
from __future__ import annotations

import pytest


@pytest.fixture
def app_overrides(tmp_path) -> dict:
    """Import into a test module to run its queue by hand instead of at once."""
    return {"PORTAL_JOBS_URL": "memory://", "PORTAL_FILES_DIR": str(tmp_path / "files")}
