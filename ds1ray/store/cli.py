"""`ds1ray db` (migrate, status) and `ds1ray dlq` (list, redrive).

Every sub-command takes `--db URL`; without it the store is DS1_DATABASE_URL,
else the embedded simulation store (see `ds1ray.store.urls.database_url`).
"""

from __future__ import annotations

import argparse
import importlib

from ds1ray.errors import UserError
from ds1ray.store.handlers import registry
from ds1ray.store.store import migrate_store, open_store, store_status

_DB_HELP = "the store's URL (sqlite:///PATH, a path, or postgresql://…); default: " \
    "DS1_DATABASE_URL, else the embedded dropship_sim store"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = subparsers.add_parser("db", help="create, migrate and inspect the store")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    migrate = db_commands.add_parser("migrate", help="create the database if missing and "
                                     "apply pending migrations")
    migrate.add_argument("--db", metavar="URL", help=_DB_HELP)
    migrate.set_defaults(func=run_migrate)
    status = db_commands.add_parser("status", help="show the schema version and migrations")
    status.add_argument("--db", metavar="URL", help=_DB_HELP)
    status.set_defaults(func=run_status)

    dlq = subparsers.add_parser("dlq", help="list and redrive dead-lettered events")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")
    listing = dlq_commands.add_parser("list", help="list dead letters")
    listing.add_argument("--db", metavar="URL", help=_DB_HELP)
    listing.add_argument("--handler", help="only this handler's dead letters")
    listing.set_defaults(func=run_dlq_list)
    redrive = dlq_commands.add_parser(
        "redrive", help="re-deliver dead letters to their handlers (all when no ID is given)"
    )
    redrive.add_argument("ids", nargs="*", type=_dead_letter_id, metavar="ID")
    redrive.add_argument("--db", metavar="URL", help=_DB_HELP)
    redrive.add_argument(
        "--handlers", action="append", default=[], metavar="MODULE",
        help="import MODULE first so that it registers its handlers (repeatable)",
    )
    redrive.set_defaults(func=run_dlq_redrive)


def _dead_letter_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a dead-letter id: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a dead-letter id: {text!r}")
    return value


def run_migrate(args: argparse.Namespace) -> int:
    report = migrate_store(args.db)
    where = report.location.describe()
    if report.applied:
        print(f"{where}: applied {', '.join(report.applied)} "
              f"(version {report.before} -> {report.after})")
    else:
        print(f"{where}: up to date (version {report.after})")
    return 0


def run_status(args: argparse.Namespace) -> int:
    status = store_status(args.db)
    print(f"{status.location.describe()}: schema version {status.version}, "
          f"this ds1ray needs {status.code_version}")
    for applied in status.applied:
        print(f"  applied  {applied.version:04d}_{applied.name}  {applied.applied_at}")
    for pending in status.pending:
        print(f"  pending  {pending}")
    for modified in status.modified:
        print(f"  warning: migration {modified} changed after it was applied")
    if status.version < status.code_version:
        print(f"run `ds1ray db migrate --db {status.location.safe_url()}` to bring it up to date")
        return 1
    if status.version > status.code_version:
        print("the store is newer than this ds1ray: upgrade ds1ray")
        return 1
    return 0


def run_dlq_list(args: argparse.Namespace) -> int:
    with open_store(args.db) as store:
        letters = store.dead_letters.list(args.handler)
    if not letters:
        print("no dead letters")
        return 0
    print(f"{'ID':>5}  {'HANDLER':<24} {'EVENT TYPE':<22} {'ATTEMPTS':>8}  "
          f"{'FIRST FAILED':<20} {'LAST FAILED':<20} LAST ERROR")
    for letter in letters:
        print(f"{letter.id:>5}  {letter.handler:<24} {letter.event.type:<22} "
              f"{letter.attempts:>8}  {letter.first_failed_at:%Y-%m-%d %H:%M:%S}  "
              f"{letter.last_failed_at:%Y-%m-%d %H:%M:%S}  {_one_line(letter.last_error)}")
    return 0


def run_dlq_redrive(args: argparse.Namespace) -> int:
    for module in args.handlers:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise UserError(f"cannot import handler module {module!r}: {error}") from None
    with open_store(args.db) as store:
        report = store.dead_letters.redrive(args.ids or None, registry)
    for letter_id in report.redriven:
        print(f"redriven {letter_id}")
    for letter_id, message in report.failed.items():
        print(f"failed   {letter_id}: {_one_line(message)}")
    if not report.redriven and not report.failed:
        print("no dead letters")
    return 0 if report.ok else 1


def _one_line(text: str, width: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
