"""`ds1ray run`: one simulated run of the business, its daily KPIs and a final summary."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import yaml

from ds1ray.config import apply_overrides, load_config
from ds1ray.errors import UserError
from ds1ray.market.ledger import DEBITS
from ds1ray.runspec import RunSpec


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="simulate one run and print its daily KPIs",
                                   description="Simulate one run of the business and print its daily KPIs "
                                               "and a final summary.")
    parser.add_argument("--overlay", help="bootstrap overlay (default: overlays/bootstrap.simulation.yaml)")
    parser.add_argument("--seed", type=int, default=0, help="replicate seed (default 0)")
    parser.add_argument("--days", type=_positive_int, default=365, help="horizon in days (default 365)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
                        help="override a strategy or market parameter, e.g. marketing.allocation=bandit "
                             "(repeatable)")
    parser.add_argument("--every", type=_positive_int, default=1, help="print every N-th day (default 1)")
    parser.add_argument("--placement", choices=("colocated", "actors"), default="colocated",
                        help="colocated: one process; actors: every agent and the market as Ray actors")
    parser.set_defaults(func=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """`PATH=VALUE` pairs, each value read as YAML (so 2.5, true and bandit all work)."""
    overrides: dict[str, Any] = {}
    for item in items:
        path, sep, value = item.partition("=")
        if not sep or not path:
            raise UserError(f"--set {item!r}: expected PATH=VALUE, e.g. marketing.allocation=bandit")
        overrides[path.strip()] = yaml.safe_load(value)
    return overrides


def run(args: argparse.Namespace) -> int:
    from ds1ray.cohort import simulate

    config = load_config(args.overlay)
    overrides = parse_overrides(args.overrides)
    apply_overrides(config, overrides)  # a bad path or value stops here, named, before anything runs
    spec = RunSpec(experiment="run", seed=args.seed, strategy="cli", overrides=overrides)
    if args.placement == "actors":
        import ray

        from ds1ray.runtime import simulate_with_actors

        ray.init(include_dashboard=False, log_to_driver=False)
        try:
            result = simulate_with_actors(config, [spec], args.days)
        finally:
            ray.shutdown()
    else:
        result = simulate(config, [spec], args.days)
    out = sys.stdout
    daily = result.daily
    print(f"{'day':>4} {'cash':>11} {'revenue':>9} {'ad_spend':>9} {'sessions':>8} {'carts':>6} {'orders':>6} "
          f"{'refunds':>7} {'tickets':>7} {'products':>8} {'roas':>6}", file=out)
    for row in daily.to_dict(orient="records"):
        if row["day"] % args.every and row["day"] != len(daily) - 1:
            continue
        roas = "" if math.isnan(row["roas"]) else f"{row['roas']:6.2f}"
        print(f"{row['day']:>4} {row['cash']:>11.2f} {row['revenue']:>9.2f} {row['ad_spend']:>9.2f} "
              f"{row['sessions']:>8} {row['checkouts']:>6} {row['orders']:>6} {row['refunds']:>7} {row['tickets']:>7} "
              f"{row['active_products']:>8} {roas:>6}", file=out)
    summary = result.runs.iloc[0]
    print(f"\nrun {summary.run_id}  seed {summary.seed}  {args.days} days", file=out)
    print(f"  starting cash  {summary.starting_cash:>12.2f}", file=out)
    print(f"  + revenue      {summary.revenue:>12.2f}", file=out)
    for name in DEBITS:
        print(f"  - {name:<13}{summary[name]:>12.2f}", file=out)
    print(f"  = final cash   {summary.final_cash:>12.2f}   (net profit {summary.net_profit:.2f})", file=out)
    bankrupt = "never" if summary.bankrupt_day is None or str(summary.bankrupt_day) == "<NA>" \
        else f"day {summary.bankrupt_day}"
    print(f"  orders {summary.orders}  conversion {summary.conversion_rate:.2%}  ROAS {summary.roas:.2f}  "
          f"refund rate {summary.refund_rate:.1%}  tickets {summary.tickets}  bankrupt: {bankrupt}", file=out)
    return 0
