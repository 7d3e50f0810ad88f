"""The Meta Marketing API (Graph API): campaigns with budgets in cents, and insights.

Errors have Meta's shape, `{"error": {"message", "type", "code",
"error_subcode", "fbtrace_id"}}`; `throttled_error(17)` and
`throttled_error(613)` build the rate-limit answers for the fault plan.
"""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ds1ray.live.clock import SYSTEM_CLOCK, Clock

from .base import PlatformServer

THROTTLE_SUBCODES = {17: 2446079, 613: 1487742}
THROTTLE_MESSAGES = {17: "User request limit reached", 613: "Calls to this api have exceeded "
                     "the rate limit."}
OBJECTIVES = {"OUTCOME_SALES", "OUTCOME_TRAFFIC", "OUTCOME_AWARENESS", "OUTCOME_ENGAGEMENT",
              "OUTCOME_LEADS", "OUTCOME_APP_PROMOTION"}


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form the Graph API takes (parsed here: no python-multipart needed)."""
    return dict(parse_qsl((await request.body()).decode()))


def meta_error(code: int, message: str, *, subcode: int | None = None,
               error_type: str = "OAuthException") -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code,
                             "fbtrace_id": "AbCdEfGh123"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


def throttled_error(code: int) -> dict[str, Any]:
    return meta_error(code, THROTTLE_MESSAGES[code], subcode=THROTTLE_SUBCODES[code])


def usage_header(account_id: str, regain_minutes: int) -> dict[str, str]:
    usage = {account_id: [{"type": "ads_management", "call_count": 100, "total_cputime": 40,
                           "total_time": 40, "estimated_time_to_regain_access": regain_minutes}]}
    return {"X-Business-Use-Case-Usage": json.dumps(usage)}


class MetaServer(PlatformServer):
    def __init__(self, clock: Clock = SYSTEM_CLOCK, *, access_token: str = "meta-token",
                 ad_account: str = "act_1234567890") -> None:
        self.access_token = access_token
        self.ad_account = ad_account
        super().__init__(clock)
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.insight_rows: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(120_210_000_000_001)

    def _authorised(self, request: Request) -> bool:
        bearer = request.headers.get("authorization", "")
        token = bearer.removeprefix("Bearer ") or request.query_params.get("access_token", "")
        return token == self.access_token

    def add_routes(self, app: FastAPI) -> None:
        @app.post("/{version}/{account}/campaigns")
        async def create(version: str, account: str, request: Request) -> JSONResponse:
            if not self._authorised(request):
                return JSONResponse(meta_error(190, "Invalid OAuth access token."), 400)
            if account != self.ad_account:
                return JSONResponse(meta_error(100, f"Unsupported post request. Object with ID "
                                               f"'{account}' does not exist", error_type=
                                               "GraphMethodException"), 400)
            form = await _form(request)
            problem = self._campaign_problem(form)
            if problem:
                return JSONResponse(meta_error(100, problem, error_type="OAuthException"), 400)
            campaign_id = str(next(self._ids))
            self.campaigns[campaign_id] = {
                "id": campaign_id, "name": form["name"], "objective": form["objective"],
                "status": form["status"],
                "daily_budget": int(form["daily_budget"]) if "daily_budget" in form else None,
                "lifetime_budget": (int(form["lifetime_budget"])
                                    if "lifetime_budget" in form else None),
            }
            return JSONResponse({"id": campaign_id})

        @app.get("/{version}/{account}/campaigns")
        async def listing(version: str, account: str, request: Request) -> JSONResponse:
            if not self._authorised(request):
                return JSONResponse(meta_error(190, "Invalid OAuth access token."), 400)
            campaigns = list(self.campaigns.values())
            raw = request.query_params.get("filtering")
            for rule in json.loads(raw) if raw else []:
                if rule.get("operator") == "EQUAL":
                    campaigns = [c for c in campaigns if str(c.get(rule["field"])) == rule["value"]]
            return JSONResponse({"data": [{"id": c["id"], "name": c["name"]} for c in campaigns]})

        @app.post("/{version}/{object_id}")
        async def update(version: str, object_id: str, request: Request) -> JSONResponse:
            if not self._authorised(request):
                return JSONResponse(meta_error(190, "Invalid OAuth access token."), 400)
            campaign = self.campaigns.get(object_id)
            if campaign is None:
                return JSONResponse(meta_error(100, f"Unsupported post request. Object with ID "
                                               f"'{object_id}' does not exist",
                                               error_type="GraphMethodException"), 400)
            form = await _form(request)
            for budget in ("daily_budget", "lifetime_budget"):
                if budget in form:
                    if not form[budget].isdigit():
                        return JSONResponse(meta_error(100, f"(#100) {budget} must be an "
                                                       "integer in minor units"), 400)
                    campaign[budget] = int(form[budget])
            if "status" in form:
                if form["status"] not in ("ACTIVE", "PAUSED", "ARCHIVED", "DELETED"):
                    return JSONResponse(meta_error(100, "(#100) Invalid status"), 400)
                campaign["status"] = form["status"]
            return JSONResponse({"success": True})

        @app.get("/{version}/{object_id}/insights")
        async def insights(version: str, object_id: str, request: Request) -> JSONResponse:
            if not self._authorised(request):
                return JSONResponse(meta_error(190, "Invalid OAuth access token."), 400)
            rows = self.insight_rows.get(object_id, [])
            limit = int(request.query_params.get("limit", "25"))
            start = int(request.query_params.get("after", "0"))
            page = rows[start:start + limit]
            body: dict[str, Any] = {"data": page}
            end = start + len(page)
            body["paging"] = {"cursors": {"before": str(start), "after": str(end)}}
            if end < len(rows):
                body["paging"]["next"] = f"http://meta.test/{version}/{object_id}/insights"
            return JSONResponse(body)

    @staticmethod
    def _campaign_problem(form: dict[str, str]) -> str | None:
        for required in ("name", "objective", "status", "special_ad_categories"):
            if required not in form:
                return f"(#100) The parameter {required} is required"
        if form["objective"] not in OBJECTIVES:
            return "(#100) Param objective must be one of " + ", ".join(sorted(OBJECTIVES))
        try:
            categories = json.loads(form["special_ad_categories"])
        except ValueError:
            return "(#100) special_ad_categories must be a JSON array"
        if not isinstance(categories, list):
            return "(#100) special_ad_categories must be a JSON array"
        budgets = [form.get("daily_budget"), form.get("lifetime_budget")]
        if all(b is None for b in budgets):
            return "(#100) Either daily_budget or lifetime_budget must be set"
        for budget in budgets:
            if budget is not None and (not budget.isdigit() or int(budget) < 100):
                return "(#100) The budget must be an integer number of cents of at least 100"
        return None
