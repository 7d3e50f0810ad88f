"""Reading an agent module's ports, emits and handlers from its source."""

from __future__ import annotations

from pathlib import Path

from ds1ray.agents.strategies import STRATEGIES
from ds1ray.config.agent_code import read_agent_code

SOURCE = """\
class Marketing:
    def on_daily_tick(self, batch):
        self.ports.ads.create(batch)

    def on_order_paid(self, batch):
        spend = self.ctx.ports.ads.spend()
        self.emit("CAMPAIGN_OPTIMIZED", batch.run)
        self.emit("CAMPAIGN_OPTIMIZED", batch.run)

    def helper(self, ports):
        ports.shop.get()
        self.ports.get("email")
"""


def test_reads_ports_emits_and_handlers_with_their_first_line(tmp_path: Path) -> None:
    (tmp_path / "marketing.py").write_text(SOURCE)

    code = read_agent_code("marketing", tmp_path)

    assert code is not None
    assert code.ports == {"ads": 3, "shop": 11}  # `ports.get("email")` is not a port attribute
    assert code.emits == {"CAMPAIGN_OPTIMIZED": 7}
    assert code.handlers == {"DAILY_TICK": 2, "ORDER_PAID": 5}
    assert code.dynamic_emits is False


def test_an_emit_by_variable_is_noted(tmp_path: Path) -> None:
    (tmp_path / "ops.py").write_text("def f(self, kind):\n    self.emit(kind, [])\n")

    code = read_agent_code("ops", tmp_path)

    assert code is not None and code.dynamic_emits and code.emits == {}


def test_a_missing_or_broken_module_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "ceo.py").write_text("def broken(:\n")

    assert read_agent_code("ceo", tmp_path) is None
    assert read_agent_code("store", tmp_path) is None


def test_every_shipped_agent_module_is_readable() -> None:
    for agent_id in STRATEGIES:
        code = read_agent_code(agent_id)
        assert code is not None, agent_id
        assert code.handlers, agent_id
