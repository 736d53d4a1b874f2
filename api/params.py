"""The admin API's paths and path parameters, shared by its route modules (api.app, api.uploads)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from services.limits import INT32_MAX

PERIOD_BASE = "/api/v1/admin/elections/{electionId}/voting-periods/{votingPeriodId}"
ElectionId = Annotated[int, Path(alias="electionId", ge=1, le=INT32_MAX, description="Election id")]
PeriodId = Annotated[int, Path(alias="votingPeriodId", ge=1, le=INT32_MAX, description="Voting period id")]
