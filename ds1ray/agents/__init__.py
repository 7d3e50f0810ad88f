"""DS1's eight agents: one policy class each, over a cohort of runs."""

from ds1ray.agents.analytics import Analytics
from ds1ray.agents.base import Agent, AgentContext, Ports
from ds1ray.agents.ceo import Ceo
from ds1ray.agents.marketing import Marketing
from ds1ray.agents.ops import Ops
from ds1ray.agents.research import Research
from ds1ray.agents.store import Store
from ds1ray.agents.strategies import STRATEGIES
from ds1ray.agents.supplier import Supplier
from ds1ray.agents.support import Support

AGENTS: dict[str, type[Agent]] = {
    cls.id: cls for cls in (Ceo, Research, Supplier, Store, Marketing, Support, Ops, Analytics)
}
"""Agent id → class, in DS1's manifest order."""

__all__ = ["AGENTS", "STRATEGIES", "Agent", "AgentContext", "Ports"]
