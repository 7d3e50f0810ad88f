"""The Meta Marketing API (Graph API): campaigns (budgets in cents), ad sets, ads, insights.

The hierarchy is campaign → ad set → ad: an ad set names an existing campaign
and needs targeting with `geo_locations` (and, optimised for conversions, a
`promoted_object` with a `pixel_id`); an ad names an existing ad set and a
creative (`creative_id` or an `object_story_spec` with a `page_id`).

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
        self.adsets: dict[str, dict[str, Any]] = {}
        self.ads: dict[str, dict[str, Any]] = {}
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

        # Routes are added before `reset` makes the tables: they are looked up per request.
        for edge, problem in (("adsets", self._adset_problem), ("ads", self._ad_problem)):
            app.post(f"/{{version}}/{{account}}/{edge}")(self._creator(edge, problem))

        for edge in ("campaigns", "adsets", "ads"):
            app.get(f"/{{version}}/{{account}}/{edge}")(self._lister(edge))

        @app.post("/{version}/{object_id}")
        async def update(version: str, object_id: str, request: Request) -> JSONResponse:
            if not self._authorised(request):
                return JSONResponse(meta_error(190, "Invalid OAuth access token."), 400)
            campaign = (self.campaigns.get(object_id) or self.adsets.get(object_id)
                        or self.ads.get(object_id))
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

    def _lister(self, edge: str) -> Any:
        async def listing(version: str, account: str, request: Request) -> JSONResponse:
            if not self._authorised(request):
                return JSONResponse(meta_error(190, "Invalid OAuth access token."), 400)
            nodes = list(getattr(self, edge).values())
            raw = request.query_params.get("filtering")
            for rule in json.loads(raw) if raw else []:
                if rule.get("operator") == "EQUAL":
                    nodes = [n for n in nodes if str(n.get(rule["field"])) == rule["value"]]
            return JSONResponse({"data": [{"id": n["id"], "name": n["name"]} for n in nodes]})

        return listing

    def _creator(self, edge: str, problem_of: Any) -> Any:
        async def create(version: str, account: str, request: Request) -> JSONResponse:
            if not self._authorised(request):
                return JSONResponse(meta_error(190, "Invalid OAuth access token."), 400)
            if account != self.ad_account:
                return JSONResponse(meta_error(100, f"Unsupported post request. Object with ID "
                                               f"'{account}' does not exist",
                                               error_type="GraphMethodException"), 400)
            form = await _form(request)
            problem = problem_of(form)
            if problem:
                return JSONResponse(meta_error(100, problem), 400)
            object_id = str(next(self._ids))
            getattr(self, edge)[object_id] = {"id": object_id, **form}
            return JSONResponse({"id": object_id})

        return create

    def _adset_problem(self, form: dict[str, str]) -> str | None:
        for required in ("name", "campaign_id", "optimization_goal", "billing_event", "targeting",
                         "status"):
            if required not in form:
                return f"(#100) The parameter {required} is required"
        if form["campaign_id"] not in self.campaigns:
            return f"(#100) Campaign {form['campaign_id']} does not exist"
        targeting = _json_object(form["targeting"])
        if targeting is None or not targeting.get("geo_locations"):
            return "(#100) targeting must be a JSON object with geo_locations"
        if form["optimization_goal"] == "OFFSITE_CONVERSIONS":
            promoted = _json_object(form.get("promoted_object", ""))
            if promoted is None or not promoted.get("pixel_id"):
                return "(#100) promoted_object with a pixel_id is required for OFFSITE_CONVERSIONS"
        return None

    def _ad_problem(self, form: dict[str, str]) -> str | None:
        for required in ("name", "adset_id", "creative", "status"):
            if required not in form:
                return f"(#100) The parameter {required} is required"
        if form["adset_id"] not in self.adsets:
            return f"(#100) Ad set {form['adset_id']} does not exist"
        creative = _json_object(form["creative"])
        spec = (creative or {}).get("object_story_spec") or {}
        if creative is None or not (creative.get("creative_id") or spec.get("page_id")):
            return "(#100) creative needs a creative_id or an object_story_spec with a page_id"
        return None

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


def _json_object(raw: str) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
