"""Schemathesis against the served OpenAPI document, in-process (ASGI) on real PostgreSQL: no
generated request, valid or not, makes the server answer 5xx, and answers match the document."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app

from .conftest import make_election

pytestmark = pytest.mark.integration

# The app reads DATABASE_URL per request: the module's database (fixture `db`) is set by then.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())


@pytest.fixture(scope="module")
def fuzz_election(db):
    return make_election(db, "fuzz-1", ballots=30)  # small ids then name a real election and period


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case, admin, fuzz_election):
    # Schema-valid ids that name nothing are refused with the contract's 400 ("Invalid electionId"),
    # which schemathesis's positive-data check would count as a failure: every other check runs.
    case.call_and_validate(headers=admin, excluded_checks=[positive_data_acceptance])
