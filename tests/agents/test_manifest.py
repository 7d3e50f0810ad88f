"""The agents agree with agent_config.yaml: handlers for exactly their subscriptions, their strategies, their ports."""

from __future__ import annotations

import pytest

from ds1ray.agents import AGENTS, STRATEGIES, Ports
from ds1ray.config import Config
from ds1ray.events.batch import EventBatch
from ds1ray.runspec import RunSpec

from .conftest import MakeAgent, RecordingAds


def test_the_eight_agents_of_the_manifest_have_a_class_each(config: Config) -> None:
    assert list(AGENTS) == list(config.agents) == ["ceo", "research", "supplier", "store", "marketing", "support",
                                                  "ops", "analytics"]


@pytest.mark.parametrize("agent_id", sorted(AGENTS))
def test_every_agents_handlers_match_its_subscriptions(agent_id: str, config: Config) -> None:
    assert AGENTS[agent_id].handled_events() == set(config.agents[agent_id].subscribes)


@pytest.mark.parametrize("agent_id", sorted(AGENTS))
def test_every_agent_is_subscribed_on_the_bus_to_what_it_says_it_subscribes_to(agent_id: str, config: Config) -> None:
    on_bus = {name for name, spec in config.events.events.items() if agent_id in spec.subscribers}
    assert on_bus == set(config.agents[agent_id].subscribes)


@pytest.mark.parametrize("agent_id", sorted(AGENTS))
def test_every_agents_strategy_defaults_are_the_manifests(agent_id: str, config: Config) -> None:
    cls = AGENTS[agent_id]
    assert cls.Strategy is STRATEGIES[agent_id]
    manifest = config.agents[agent_id].strategy
    assert isinstance(manifest, cls.Strategy)
    assert config.strategy(agent_id) == manifest == cls.Strategy()  # the YAML and the code agree on defaults


def test_an_agent_cannot_reach_a_port_it_did_not_declare() -> None:
    ports = Ports("support", {"email": object(), "shop": object()})
    assert ports.email is not None
    with pytest.raises(AttributeError, match=r"agent 'support' has no port 'ads'; declared: \['email', 'shop'\]"):
        _ = ports.ads


def test_an_agent_refuses_a_batch_it_has_no_handler_for(make_agent: MakeAgent) -> None:
    agent = make_agent("marketing", [RunSpec("m", 0)], {"ads": RecordingAds(1, 4)})
    with pytest.raises(TypeError, match="agent 'marketing' has no handler for TICKET_CREATED"):
        agent.handle(EventBatch.of("TICKET_CREATED", [0], ticket_id=1, order_id=1, product=0, reason=0, days_late=0,
                                   amount_cents=1))


def test_follows_tells_each_runs_strategy_choice_and_stays_out_of_snapshots(make_agent: MakeAgent) -> None:
    runs = [RunSpec("m", s, "x", {"marketing.allocation": rule})
            for s, rule in enumerate(["bandit", "equal", "bandit", "roas_greedy"])]
    agent = make_agent("marketing", runs, {"ads": RecordingAds(4, 4)})
    assert agent.follows("allocation", "bandit").tolist() == [True, False, True, False]
    assert agent.follows("allocation", "equal").tolist() == [False, True, False, False]
    assert "_follows" not in agent.snapshot()
    agent.restore(agent.snapshot())
    assert agent.follows("allocation", "roas_greedy").tolist() == [False, False, False, True]
