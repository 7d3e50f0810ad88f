"""`ds1ray tune`: search strategy parameters with Ray Tune over cohorts of replicate seeds.

    ds1ray tune EXPERIMENT.yaml [--trials N] [--objective mean|lcb] [--out DIR] [--search-seed N]
                [--param PATH=LOW:HIGH[:log|:int] | PATH=a,b,c ...] [--address RAY_ADDRESS]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ds1ray.errors import UserError


def register(subparsers: Any) -> None:
    tune = subparsers.add_parser(
        "tune",
        help="search strategy parameters with Ray Tune; write trials.parquet and the best strategy",
        description="Search the strategy parameters declared in the experiment's `tune:` section (or by "
        "--param). Each trial runs one strategy over the experiment's replicate seeds as one cohort.",
    )
    tune.add_argument("experiment", type=Path, help="experiment YAML file with a `tune:` section")
    tune.add_argument("--trials", type=int, default=None, help="number of trials (default: the file's, else 20)")
    tune.add_argument("--objective", choices=("mean", "lcb"), default=None,
                      help="maximise mean net profit or the lower end of its 95 %% CI (default: the file's, else lcb)")
    tune.add_argument("--out", type=Path, default=None, help="output folder (default results/tune/<name>)")
    tune.add_argument("--param", action="append", default=[], metavar="PATH=LOW:HIGH",
                      help="search this strategy parameter too: PATH=LOW:HIGH[:log|:int] or PATH=a,b,c (repeatable)")
    tune.add_argument("--search-seed", type=int, default=None,
                      help="seed of the search algorithm (default: the file's, else 0)")
    tune.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray)")
    tune.set_defaults(func=tune_command)


def tune_command(args: argparse.Namespace) -> int:
    if not args.experiment.is_file():
        raise UserError(f"{args.experiment}: no such experiment file")
    if args.trials is not None and args.trials < 1:
        raise UserError(f"--trials must be at least 1, not {args.trials}")
    from ds1ray.tune.search import run_tune
    from ds1ray.tune.spec import parse_param

    params = dict(parse_param(text) for text in args.param)
    if args.search_seed is not None and args.search_seed < 0:
        raise UserError(f"--search-seed must be 0 or more, not {args.search_seed}")
    result = run_tune(args.experiment, trials=args.trials, objective=args.objective, out_dir=args.out,
                      params=params or None, address=args.address, search_seed=args.search_seed)
    score = result.best_score
    print(f"{len(result.trials)} trials ({result.algorithm}); best by {result.objective}: "
          f"mean net profit {score['mean']:,.2f}, 95 % CI [{score['lcb']:,.2f}, {score['ucb']:,.2f}]")
    for path, value in result.best.items():
        print(f"  {path} = {value}")
    print(f"trials → {result.out_dir / 'trials.parquet'}; best strategy → {result.fragment}")
    return 0
