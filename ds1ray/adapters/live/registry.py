"""Which module builds the live adapter of each port.

Each entry is `module:function`, a builder taking a `PortContext` and returning
the port: an object with the port's methods (`ds1ray.adapters.ports`), plus
`causation(key)` (a `KeyedPort`) and `status()` (its client's guard status).
Builders are imported only when a live instance asks for their port, so a
simulation never imports an HTTP client.
"""

from __future__ import annotations

import importlib
from typing import Any

from ds1ray.adapters.live.ports import PortContext

BUILDERS: dict[str, str] = {
    "supplier": "ds1ray.adapters.live.ports:build_supplier",
    "shop": "ds1ray.adapters.live.shop_port:build_shop",
    "ads": "ds1ray.adapters.live.ads_port:build_ads",
    "ai": "ds1ray.adapters.live.ai_port:build_ai",
    "email": "ds1ray.adapters.live.email_port:build_email",
    "shipping": "ds1ray.adapters.live.shipping_port:build_shipping",
    "trends": "ds1ray.adapters.live.source_ports:build_trends",
    "competitor": "ds1ray.adapters.live.source_ports:build_competitor",
}


def live_ports() -> tuple[str, ...]:
    """The ports whose builder module is present in this installation."""
    return tuple(port for port, target in BUILDERS.items()
                 if importlib.util.find_spec(target.partition(":")[0]) is not None)


def build_live_port(port: str, context: PortContext) -> Any:
    """The live adapter of `port` over its platform client."""
    if port not in live_ports():
        raise ValueError(f"no live adapter for port {port!r}; live ports: {', '.join(live_ports())}")
    module, _, function = BUILDERS[port].partition(":")
    return getattr(importlib.import_module(module), function)(context)
