"""`load_config`: every shipped overlay loads, and each kind of bad file gets one clear error
naming the file, the line and the key path."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from ds1ray.agents.strategies import STRATEGIES
from ds1ray.config import ConfigError, load_config
from ds1ray.market.params import MarketParams

from .conftest import REPOSITORY, ManifestCopy

SHIPPED_OVERLAYS = sorted(
    path.name for path in (REPOSITORY / "overlays").glob("bootstrap.*.yaml") if path.name != "bootstrap.base.yaml"
)


def load_error(manifests: ManifestCopy, overlay: str | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(overlay, root=manifests.root)
    return caught.value


def assert_points_at(error: ConfigError, file: str, line: int, key_path: str, problem: str) -> None:
    assert Path(error.file).name == Path(file).name
    assert error.line == line
    assert str(error).startswith(f"{error.file}:{line}: {key_path}: ")
    assert problem in str(error)


@pytest.mark.parametrize("overlay", SHIPPED_OVERLAYS)
def test_every_shipped_overlay_loads(overlay: str) -> None:
    config = load_config(overlay, root=REPOSITORY)

    assert config.overlay.name == overlay
    assert set(config.agents) == set(STRATEGIES)
    assert config.bootstrap.environment == overlay.split(".")[1]


def test_without_an_overlay_the_simulation_overlay_is_used() -> None:
    config = load_config(root=REPOSITORY)

    assert config.overlay.name == "bootstrap.simulation.yaml"
    assert set(config.bootstrap.adapters.modes().values()) == {"mock"}
    assert config.bootstrap.database.name == "dropship_sim"
    assert [path.name for path in config.sources[:4]] == [
        "agent_config.yaml",
        "event_bus.yaml",
        "bootstrap.base.yaml",
        "bootstrap.simulation.yaml",
    ]


def test_live_uses_every_platform_and_staging_mocks_them_with_live_ingress() -> None:
    live = load_config("live", root=REPOSITORY).bootstrap
    staging = load_config("staging", root=REPOSITORY).bootstrap

    assert set(live.adapters.modes().values()) == {"live"}
    assert set(staging.adapters.modes().values()) == {"mock"}
    assert live.database.name == "dropship"
    for section in ("http", "schedules", "features", "policies", "ai_policy"):
        assert getattr(staging, section) == getattr(live, section), section
    assert {"SHOPIFY_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET"} <= set(staging.secrets)
    assert {
        "SHOPIFY_WEBHOOK_SECRET",
        "STRIPE_WEBHOOK_SECRET",
        "OPENAI_API_KEY",
        "META_ACCESS_TOKEN",
        "ZENDESK_API_TOKEN",
        "AFTERSHIP_API_KEY",
        "SUPPLIER_API_KEY",
    } <= set(live.secrets)


def test_strategies_are_validated_with_each_agents_model() -> None:
    config = load_config(root=REPOSITORY)

    for agent_id, model in STRATEGIES.items():
        assert isinstance(config.strategy(agent_id), model)
        assert config.strategy(agent_id) == model()  # the manifest holds the defaults


def test_an_overlay_given_as_a_path_relative_to_the_working_directory(
    manifests: ManifestCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(manifests.root)
    config = load_config("overlays/bootstrap.live.yaml")

    assert config.root == manifests.root.resolve()
    assert config.bootstrap.environment == "live"


def test_outside_a_project_folder_the_packaged_copies_are_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config("live")

    assert config.root.name == "defaults" and config.root.parent.name == "ds1ray"
    assert config.bootstrap.environment == "live"


# ---------------------------------------------------------------- one clear error per bad file


def test_an_unknown_key_in_the_base(manifests: ManifestCopy) -> None:
    line = manifests.replace("overlays/bootstrap.base.yaml", "  port: 8000\n", "  port: 8000\n  prot: 1\n") + 1

    error = load_error(manifests)

    assert_points_at(
        error,
        "bootstrap.base.yaml",
        line,
        "http.prot",
        "unknown key; allowed here: host, port, verify_signatures, signature_tolerance_s, ",
    )


def test_an_unknown_key_in_agent_config(manifests: ManifestCopy) -> None:
    line = (
        manifests.replace("overlays/agent_config.yaml", "    ports: [ads]\n", "    ports: [ads]\n    colour: blue\n")
        + 1
    )

    assert_points_at(
        load_error(manifests),
        "agent_config.yaml",
        line,
        "agents.marketing.colour",
        "unknown key; allowed here: role, subscribes, publishes, ports, tools, strategy",
    )


def test_an_unknown_strategy_parameter(manifests: ManifestCopy) -> None:
    line = (
        manifests.replace(
            "overlays/agent_config.yaml", "      kill_roas: 1.0\n", "      kill_roas: 1.0\n      kill_rosa: 2\n"
        )
        + 1
    )

    assert_points_at(
        load_error(manifests),
        "agent_config.yaml",
        line,
        "agents.marketing.strategy.kill_rosa",
        "unknown key; allowed here: " + ", ".join(STRATEGIES["marketing"].model_fields),
    )


def test_a_wrong_type(manifests: ManifestCopy) -> None:
    line = manifests.replace("overlays/bootstrap.base.yaml", "  port: 8000\n", "  port: eighty\n")

    assert_points_at(load_error(manifests), "bootstrap.base.yaml", line, "http.port", "valid integer")


def test_an_out_of_bounds_value_in_an_overlay_points_at_the_overlay(manifests: ManifestCopy) -> None:
    line = manifests.append("overlays/bootstrap.simulation.yaml", "market:\n  traffic:\n    cpm: 0\n") + 2

    error = load_error(manifests)

    problem = "Input should be greater than or equal to 0.5"
    assert_points_at(error, "bootstrap.simulation.yaml", line, "market.traffic.cpm", problem)
    assert str(error).endswith(f"bootstrap.simulation.yaml:{line}: market.traffic.cpm: {problem}")


def test_an_out_of_bounds_strategy_value(manifests: ManifestCopy) -> None:
    line = manifests.replace("overlays/agent_config.yaml", "      markup: 2.5\n", "      markup: 9.0\n")

    assert_points_at(
        load_error(manifests), "agent_config.yaml", line, "agents.store.strategy.markup", "less than or equal to 6"
    )


def test_a_strategy_choice_outside_its_options(manifests: ManifestCopy) -> None:
    line = manifests.replace(
        "overlays/agent_config.yaml", "      allocation: roas_greedy\n", "      allocation: greedy\n"
    )

    assert_points_at(
        load_error(manifests),
        "agent_config.yaml",
        line,
        "agents.marketing.strategy.allocation",
        "'equal', 'roas_greedy' or 'bandit'",
    )


def test_bad_yaml_syntax(manifests: ManifestCopy) -> None:
    line = manifests.replace("overlays/event_bus.yaml", "    publishers: [analytics]\n", "    publishers: [analytics\n")

    error = load_error(manifests)

    assert Path(error.file).name == "event_bus.yaml"
    assert error.line == line
    assert "invalid YAML: while parsing a flow sequence" in str(error)


def test_a_missing_manifest(manifests: ManifestCopy) -> None:
    manifests.path("overlays/event_bus.yaml").unlink()

    assert str(load_error(manifests)).endswith("event_bus.yaml: file not found")


def test_a_root_without_manifests(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no overlays/ folder here"):
        load_config(root=tmp_path)


def test_a_missing_overlay(manifests: ManifestCopy) -> None:
    error = load_error(manifests, "bootstrap.production.yaml")

    assert "bootstrap.production.yaml" in str(error) and "not found" in str(error)


def test_a_missing_overlay_given_as_a_path_does_not_fall_back_to_a_shipped_one(manifests: ManifestCopy) -> None:
    error = load_error(manifests, str(manifests.root / "elsewhere" / "bootstrap.live.yaml"))

    assert "overlay file not found" in str(error)


def test_a_missing_seed_file_points_at_the_bootstrap_key_that_names_it(manifests: ManifestCopy) -> None:
    manifests.path("seeds/tickets.yaml").unlink()
    line = manifests.line_of("overlays/bootstrap.base.yaml", "  tickets: seeds/tickets.yaml")

    assert_points_at(load_error(manifests), "bootstrap.base.yaml", line, "seeds.tickets", "seed file not found: ")


def test_a_literal_secret(manifests: ManifestCopy) -> None:
    line = manifests.replace(
        "overlays/bootstrap.live.yaml",
        'OPENAI_API_KEY: "${OPENAI_API_KEY}"',
        'OPENAI_API_KEY: "sk-live-1234"',
    )

    error = load_error(manifests, "live")

    assert_points_at(error, "bootstrap.live.yaml", line, "secrets.OPENAI_API_KEY", "a literal value is not allowed")
    assert "sk-live-1234" not in str(error)  # a real credential is never echoed


def test_an_overlay_key_the_base_does_not_have(manifests: ManifestCopy) -> None:
    line = manifests.replace("overlays/bootstrap.live.yaml", "  dashboard: true\n", "  dashbaord: true\n")

    error = load_error(manifests, "live")

    assert_points_at(error, "bootstrap.live.yaml", line, "features.dashbaord", "key not in bootstrap.base.yaml")
    assert "webhook_ingress, email_ingress, dashboard, ai_content" in str(error)


def test_an_unknown_agent(manifests: ManifestCopy) -> None:
    line = manifests.append("overlays/agent_config.yaml", "  pricing:\n    role: x\n")

    assert_points_at(load_error(manifests), "agent_config.yaml", line, "agents.pricing", "unknown agent")


def test_a_missing_agent(manifests: ManifestCopy) -> None:
    text = manifests.path("overlays/agent_config.yaml").read_text()
    start = text.index("  analytics:\n")
    manifests.path("overlays/agent_config.yaml").write_text(text[:start])

    assert "missing agent(s): analytics" in str(load_error(manifests))


def test_a_bad_seed_template_placeholder(manifests: ManifestCopy) -> None:
    line = manifests.replace("seeds/tickets.yaml", "{product} arrived broken", "{prodcut} arrived broken")

    error = load_error(manifests)

    assert_points_at(error, "tickets.yaml", line, "tickets.defect.0.subject", "unknown placeholder {prodcut}")


def test_a_seed_table_missing_a_member(manifests: ManifestCopy) -> None:
    text = manifests.path("seeds/ai_fixtures.yaml").read_text()
    manifests.path("seeds/ai_fixtures.yaml").write_text(text[: text.index("  ad_copy:")])

    assert "ai_fixtures: missing ad_copy" in str(load_error(manifests))


def test_a_file_that_is_not_a_mapping(manifests: ManifestCopy) -> None:
    manifests.path("overlays/bootstrap.simulation.yaml").write_text("- just\n- a list\n")

    assert "must hold a mapping" in str(load_error(manifests))


# ---------------------------------------------------------------- secrets and the merged tree


def test_loading_live_needs_no_secret_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    config = load_config("live", root=REPOSITORY)

    assert config.bootstrap.secrets["OPENAI_API_KEY"] == "${OPENAI_API_KEY}"


def test_a_secret_is_read_from_its_environment_variable_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config("live", root=REPOSITORY)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-value")

    assert config.secret("OPENAI_API_KEY") == "sk-test-value"


def test_an_unset_secret_names_its_variable_and_where_it_is_declared(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("META_ACCESS_TOKEN", raising=False)
    config = load_config("live", root=REPOSITORY)

    with pytest.raises(ConfigError) as caught:
        config.secret("META_ACCESS_TOKEN")

    assert "environment variable META_ACCESS_TOKEN is not set" in str(caught.value)
    assert Path(caught.value.file).name == "bootstrap.live.yaml"
    assert caught.value.line is not None


def test_an_undeclared_secret_lists_the_declared_ones() -> None:
    config = load_config("staging", root=REPOSITORY)

    with pytest.raises(ConfigError, match=r"OPENAI_API_KEY is not declared.*SHOPIFY_WEBHOOK_SECRET"):
        config.secret("OPENAI_API_KEY")


def test_to_dict_is_json_with_secrets_and_the_database_url_as_references(
    manifests: ManifestCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests.replace(
        "overlays/bootstrap.live.yaml", "  name: dropship\n", '  name: dropship\n  url: "${DATABASE_URL}"\n'
    )
    monkeypatch.setenv("DATABASE_URL", "postgresql://ds1:hunter2@db.internal:5432/dropship")
    config = load_config("live", root=manifests.root)

    tree = config.to_dict()

    assert "hunter2" not in json.dumps(tree)
    assert tree["bootstrap"]["database"]["url"] == "${DATABASE_URL}"
    assert tree["bootstrap"]["secrets"]["OPENAI_API_KEY"] == "${OPENAI_API_KEY}"
    assert tree["agents"]["store"]["strategy"] == STRATEGIES["store"]().model_dump(mode="json")
    assert tree["bootstrap"]["market"]["traffic"]["cpm"] == MarketParams().traffic.cpm
    assert tree["events"]["delivery_order"][0] == "DAILY_TICK"
    assert config.database_url() == "postgresql://ds1:hunter2@db.internal:5432/dropship"


def test_a_database_url_with_a_literal_password_is_refused(manifests: ManifestCopy) -> None:
    line = (
        manifests.replace(
            "overlays/bootstrap.live.yaml",
            "  name: dropship\n",
            "  name: dropship\n  url: postgresql://ds1:hunter2@db/x\n",
        )
        + 1
    )

    error = load_error(manifests, "live")

    assert_points_at(error, "bootstrap.live.yaml", line, "database.url", "the URL holds a password")
    assert "hunter2" not in str(error)


def test_a_database_url_without_a_password_is_used_as_written(manifests: ManifestCopy) -> None:
    manifests.replace(
        "overlays/bootstrap.live.yaml",
        "  name: dropship\n",
        "  name: dropship\n  url: postgresql://postgres@127.0.0.1:5432/dropship\n",
    )

    assert load_config("live", root=manifests.root).database_url() == "postgresql://postgres@127.0.0.1:5432/dropship"


def test_an_unset_database_url_variable_is_one_clear_error(
    manifests: ManifestCopy, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests.replace(
        "overlays/bootstrap.live.yaml", "  name: dropship\n", '  name: dropship\n  url: "${DS1_DB_URL}"\n'
    )
    monkeypatch.delenv("DS1_DB_URL", raising=False)
    config = load_config("live", root=manifests.root)

    with pytest.raises(ConfigError, match="environment variable DS1_DB_URL is not set"):
        config.database_url()


def test_config_survives_pickling_for_ray_workers() -> None:
    config = load_config(root=REPOSITORY)

    copy = pickle.loads(pickle.dumps(config))

    assert copy == config
    assert copy.origin("bootstrap", ("market", "traffic", "cpm")) == config.origin(
        "bootstrap", ("market", "traffic", "cpm")
    )


def test_config_is_frozen() -> None:
    config = load_config(root=REPOSITORY)

    with pytest.raises(AttributeError):
        config.root = Path("/")  # type: ignore[misc]
