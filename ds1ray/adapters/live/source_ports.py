"""Live trend and competitor ports over configurable HTTP JSON sources (`http_sources`).

A source is described in the overlay, not coded: the port's `base_url` is the
feed's URL and `adapters.<port>.options` say where the items are and which
fields to read (`items_path`, `key_field`, `score_field` / `price_field`,
dotted paths). The key is whatever names a product in the feed (a keyword, a
marketplace id); the port's secret is sent in the `auth_header` header.

Product slots: the trend feed names products the agents know only as slots
0..slots-1. The first time a key is seen it takes the lowest free slot (the
hottest keys first), recorded in `live_platform_ids` as kind `trend_product`,
so the same product keeps its slot across restarts and the competitor feed
finds it by the same key. When every slot is taken, a new key is left out of
`candidates()` (counted in `status()["unplaced"]`) until an operator frees a
slot by remapping it; the agents never see a product they could not track.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import httpx
import numpy as np

from ds1ray.adapters.live.http_sources import HttpJsonSource, SourceSpec
from ds1ray.adapters.live.ports import KeyedPort, PlatformIds, PortContext
from ds1ray.adapters.ports import F64, I64
from ds1ray.errors import UserError
from ds1ray.events.batch import EventBatch
from ds1ray.live.polled import Polled

TREND_PRODUCT = "trend_product"


def option(context: PortContext, port: str, name: str, default: str | None = None) -> str:
    """One of the port's overlay options; a missing required one names its overlay key."""
    value = context.options.get(name, default)
    if value is None or value == "":
        raise UserError(f"adapters.{port}.options.{name} is not set: the live {port} port needs it")
    return value


def source_spec(context: PortContext, port: str, fields: Mapping[str, str]) -> SourceSpec:
    """The `SourceSpec` of a port: its URL, auth header, items path and the fields it reads."""
    headers = {}
    if context.secret:
        headers[option(context, port, "auth_header", "x-api-key")] = context.secret
    try:
        return SourceSpec(
            name=port, url=context.base_url, headers=headers,
            params=dict(parse_qsl(context.options.get("params", ""))),
            items_path=context.options.get("items_path", ""), fields=dict(fields),
            requests_per_second=max(context.guard.rate_per_second, 1e-3))
    except ValueError as error:
        raise UserError(f"adapters.{port}: not a usable source ({error})") from None


def _timeout(context: PortContext) -> httpx.Timeout:
    return httpx.Timeout(context.timeout_s, connect=min(context.timeout_s, 3.0))


def _number(value: Any) -> float | None:
    """A feed's number (JSON number or numeric string); None if absent or not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


class ProductSlots:
    """The feed key ↔ product slot mapping (kind `trend_product` in `live_platform_ids`)."""

    def __init__(self, ids: PlatformIds, slots: int) -> None:
        self.ids = ids
        self.slots = slots

    def by_key(self) -> dict[str, int]:
        return {m.platform_id: m.slot for m in self.ids.of_kind(TREND_PRODUCT)}

    def by_slot(self) -> dict[int, str]:
        return {m.slot: m.platform_id for m in self.ids.of_kind(TREND_PRODUCT)}

    def assign(self, keys: list[str]) -> tuple[dict[str, int], int]:
        """Slots of `keys` (in priority order), new ones taking free slots; and how many got none."""
        known = self.by_key()
        free = iter(sorted(set(range(self.slots)) - set(known.values())))
        unplaced = 0
        for key in keys:
            if key in known:
                continue
            slot = next(free, None)
            if slot is None:
                unplaced += 1
                continue
            self.ids.put(TREND_PRODUCT, slot, key)
            known[key] = slot
        return known, unplaced


class LiveTrends(KeyedPort):
    """`TrendsPort` over a trend feed: each item a product key and a score."""

    def __init__(self, source: HttpJsonSource, slots: ProductSlots, score_scale: float) -> None:
        super().__init__()
        self.source = source
        self.products = slots
        self.score_scale = score_scale
        self.unplaced = 0

    def candidates(self, run: I64) -> tuple[I64, I64, F64]:
        best: dict[str, float] = {}
        for item in self.source.fetch():
            raw = _number(item.get("score"))
            key = item.get("key")
            if key is None or raw is None:
                continue  # an item without a name or a score says nothing about a product
            best[str(key)] = max(best.get(str(key), 0.0), min(max(raw / self.score_scale, 0.0), 1.0))
        hottest = sorted(best, key=lambda k: (-best[k], k))
        slot_of, self.unplaced = self.products.assign(hottest)
        placed = sorted((slot_of[k], best[k]) for k in hottest if k in slot_of)
        product = np.array([slot for slot, _ in placed], np.int64)
        score = np.array([value for _, value in placed], np.float64)
        # Every run of the call sees the same feed (live: one run), run-major like the mock.
        runs = np.asarray(run, np.int64)
        return (np.repeat(runs, product.size), np.tile(product, runs.size), np.tile(score, runs.size))

    def poll(self) -> list[EventBatch]:
        """Nothing: a trend feed has no market news; crashes and shifts come from the operator
        (USER_COMMAND) in live, and only the simulated market announces them."""
        return []

    def pending(self) -> Polled:
        """Nothing, as `poll()`: a feed is read when the agents ask (`candidates`), so it has no
        cursor to advance."""
        return Polled("source:trends")

    def status(self) -> dict[str, Any]:
        return {**self.source.http.resilience.status(), "unplaced": self.unplaced}


class LiveCompetitor(KeyedPort):
    """`CompetitorPort` over a competitor price feed, keyed like the trend feed.

    A product's price is the median of the feed's prices for its key (several
    sellers list one product). A slot with no key, or a key the feed does not
    list, is priced 0: "no competitor seen", which the store agent's price
    floor over cost already handles.
    """

    def __init__(self, source: HttpJsonSource, slots: ProductSlots, *, cents: bool,
                 key_param: str | None) -> None:
        super().__init__()
        self.source = source
        self.products = slots
        self.cents = cents
        self.key_param = key_param

    def prices(self, run: I64, product: I64) -> I64:
        key_of = self.products.by_slot()
        wanted = {key_of[s] for s in np.unique(product).tolist() if s in key_of}
        listed: dict[str, list[float]] = {}
        items = ([item for key in sorted(wanted) for item in self.source.fetch(**{self.key_param: key})]
                 if self.key_param else (self.source.fetch() if wanted else []))
        for item in items:
            price = _number(item.get("price"))
            if item.get("key") is not None and price is not None and price > 0:
                listed.setdefault(str(item["key"]), []).append(price)
        unit = 1.0 if self.cents else 100.0
        by_key = {key: round(statistics.median(p) * unit) for key, p in listed.items()}
        return np.array([by_key.get(key_of.get(s, ""), 0) for s in np.asarray(product).tolist()], np.int64)

    def status(self) -> dict[str, Any]:
        return self.source.http.resilience.status()


def build_trends(context: PortContext) -> LiveTrends:
    """The live trend port (options: key_field, score_field; items_path, score_scale, params,
    auth_header)."""
    fields = {"key": option(context, "trends", "key_field"), "score": option(context, "trends", "score_field")}
    scale = _number(option(context, "trends", "score_scale", "1"))
    if scale is None or scale <= 0:
        raise UserError("adapters.trends.options.score_scale must be a positive number "
                        "(the feed's score for the hottest product, e.g. 100)")
    source = HttpJsonSource(source_spec(context, "trends", fields),
                            resilience=context.guard.resilience("source:trends"), timeout=_timeout(context))
    return LiveTrends(source, ProductSlots(PlatformIds(context.store), context.slots), scale)


def build_competitor(context: PortContext) -> LiveCompetitor:
    """The live competitor port (options: key_field, price_field; items_path, price_unit
    `major` | `cents`, key_param, params, auth_header)."""
    fields = {"key": option(context, "competitor", "key_field"),
              "price": option(context, "competitor", "price_field")}
    unit = option(context, "competitor", "price_unit", "major")
    if unit not in ("major", "cents"):
        raise UserError(f"adapters.competitor.options.price_unit is {unit!r}: use major or cents")
    source = HttpJsonSource(source_spec(context, "competitor", fields),
                            resilience=context.guard.resilience("source:competitor"), timeout=_timeout(context))
    return LiveCompetitor(source, ProductSlots(PlatformIds(context.store), context.slots),
                          cents=unit == "cents", key_param=context.options.get("key_param") or None)
