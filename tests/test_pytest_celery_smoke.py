"""pytest-celery's containers need a Docker engine; where one answers, a smoke test runs a real
task through them. Elsewhere it is skipped (the real-process tests in tests/pipeline carry the weight)."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def _docker_answers() -> bool:
    docker = shutil.which("docker")
    return bool(docker) and subprocess.run([docker, "info"], capture_output=True, timeout=20).returncode == 0


pytestmark = pytest.mark.skipif(not _docker_answers(), reason="pytest-celery needs a Docker engine; none answers here")


def test_ping_through_pytest_celery(celery_setup):
    assert celery_setup.ready()
    assert celery_setup.app.control.ping(timeout=10)
