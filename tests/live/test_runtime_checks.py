"""What `ds1ray live` refuses before it starts anything, named in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ds1ray.cli import main
from ds1ray.config import load_config
from ds1ray.errors import UserError
from ds1ray.live import cli as live_cli
from ds1ray.live import runtime
from ds1ray.live.runtime import check_placement, plan_adapters

STAGING = "overlays/bootstrap.staging.yaml"


@pytest.fixture
def no_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No Ray address known: a `live up` that got past its checks would start a head here."""
    address_file = tmp_path / "live-ray-address"
    monkeypatch.setattr(live_cli, "ADDRESS_FILE", address_file)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_AUTH_MODE", "token")  # what `ds1ray live` sets; undone after the test
    return address_file


def test_live_up_with_a_missing_secret_fails_naming_it_before_touching_ray(
        no_cluster: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SHOPIFY_WEBHOOK_SECRET", raising=False)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_test")

    assert main(["live", "up", "--overlay", STAGING]) == 2

    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("ds1ray live: error: overlays/bootstrap.staging.yaml:")
    assert "environment variable SHOPIFY_WEBHOOK_SECRET is not set" in err
    assert not no_cluster.exists()  # no Ray head was started


def test_live_up_without_the_pii_hash_key_fails_naming_it(
        no_cluster: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SHOPIFY_WEBHOOK_SECRET", "s")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_test")
    monkeypatch.delenv("DS1_PII_HASH_KEY", raising=False)

    assert main(["live", "up", "--overlay", STAGING]) == 2

    assert "DS1_PII_HASH_KEY is not set" in capsys.readouterr().err
    assert not no_cluster.exists()


def test_live_status_without_a_known_cluster_says_how_to_start_one(
        no_cluster: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["live", "status"]) == 2
    err = capsys.readouterr().err
    assert "no live Ray cluster is known" in err and "ds1ray live up" in err


def test_several_nodes_with_the_embedded_store_are_refused_naming_postgresql() -> None:
    with pytest.raises(UserError, match=r"3 nodes and the store is SQLite.*PostgreSQL"):
        check_placement("sqlite:////tmp/live.sqlite3", alive_nodes=3)


def test_one_node_may_use_the_embedded_store_and_any_cluster_postgresql() -> None:
    check_placement("sqlite:////tmp/live.sqlite3", alive_nodes=1)
    check_placement("postgresql://postgres@127.0.0.1:5432/dropship", alive_nodes=3)


def test_staging_serves_every_port_from_the_simulated_market() -> None:
    assert plan_adapters(load_config(STAGING)) == {}


def test_a_live_port_without_a_live_adapter_is_refused_naming_the_port(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # As an installation with only the supplier's live module would see it.
    monkeypatch.setattr(runtime, "live_ports", lambda: ("supplier",))
    with pytest.raises(UserError, match=r"adapters\.ai\.mode is live.*only for supplier"):
        plan_adapters(load_config("overlays/bootstrap.live.yaml"))


def test_a_live_port_missing_an_option_is_refused_before_any_actor_starts(tmp_path: Path) -> None:
    from ds1ray.live.runtime import LiveAdapterSpec, check_live_ports
    from ds1ray.store.store import migrate_store

    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    migrate_store(url)
    config = load_config(overlay="overlays/bootstrap.live.yaml")
    shop = "https://example.myshopify.com/admin/api/2024-10"
    with pytest.raises(UserError) as refused:
        check_live_ports(config, {"shop": LiveAdapterSpec("shop", shop, "SHOPIFY_ACCESS_TOKEN")}, url)
    message = str(refused.value)
    assert "bootstrap.live.yaml" in message and "adapters.shop.options.opening_cash_cents" in message
    # With the option the same port builds (no network is touched).
    check_live_ports(config, {"shop": LiveAdapterSpec("shop", shop, "SHOPIFY_ACCESS_TOKEN",
                                                      options={"opening_cash_cents": "500000"})}, url)
