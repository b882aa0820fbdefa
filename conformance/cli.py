"""`kaltura-conformance`: the command line.

* `run`: judge a client (the reference client against the embedded server by default) or a
  server (`--service-url`), and write the reports (`commands/run.py`);
* `serve`: the reference server on loopback, as a process, for clients in any language
  (`commands/serve.py`);
* `upload FILE`: the reference client as a tool of its own (`commands/upload.py`);
* `baseline`: a saved run's failures as a baseline file of known failures
  (`commands/baseline.py`, docs/baseline.md);
* `replay RESULTS_JSON`: the failing cases of a saved run, run again N times, each FIXED,
  FAILED or FLAKY (`commands/replay.py`);
* `merge DIR…`: the CI jobs of a sharded run (`run --shard I/N`) as one run's reports
  (`commands/merge.py`);
* `simulate`: a three-stage upload applied to the reference model, showing what Kaltura's
  server answers at every step;
* `requirements`: the requirement catalogue, as a table or JSON.

Usage errors are one line naming the option, exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections.abc import Sequence
from typing import NoReturn

from conformance import __version__
from conformance.commands import baseline as baseline_command
from conformance.commands import merge as merge_command
from conformance.commands import replay as replay_command
from conformance.commands import run as run_command
from conformance.commands import serve as serve_command
from conformance.commands import upload as upload_command
from conformance.content import SourceFile
from conformance.model import UploadTokenModel
from conformance.requirements import CATALOGUE, Party, Requirement
from conformance.scenario import Partition, UploadSchedule
from conformance.simulation import Simulation, simulate
from conformance.sizes import parse_size
from conformance.stores import TempFileBlobFactory

__all__ = ["main"]

_MAX_STEPS_SHOWN = 40


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (naming the option) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def file_size(text: str) -> int:
    """`4096`, `64KiB`, `10MiB`, `1GB`, `0` → bytes (argparse type; `conformance.sizes`)."""
    return _size(text, minimum=0)


def chunk_size(text: str) -> int:
    """As `file_size`, at least 1 byte."""
    return _size(text, minimum=1)


def _size(text: str, *, minimum: int) -> int:
    try:
        return parse_size(text, minimum=minimum)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _build_parser() -> _Parser:
    parser = _Parser(prog="kaltura-conformance", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_simulate(commands.add_parser("simulate", help="upload a generated file to the model"))
    _add_requirements(commands.add_parser("requirements", help="print the catalogue"))
    serve_command.add_arguments(
        commands.add_parser("serve", help="run the reference server on loopback")
    )
    run_command.add_arguments(commands.add_parser("run", help="judge a client, write reports"))
    upload_command.add_arguments(
        commands.add_parser("upload", help="upload with the reference client")
    )
    baseline_command.add_arguments(
        commands.add_parser("baseline", help="write a saved run's failures as a baseline")
    )
    replay_command.add_arguments(
        commands.add_parser("replay", help="run a saved run's failing cases again")
    )
    merge_command.add_arguments(
        commands.add_parser("merge", help="join the reports of a sharded run's CI jobs")
    )
    return parser


def _add_simulate(sub: _Parser) -> None:
    sub.add_argument("--size", type=file_size, default=file_size("10MiB"), help="file size")
    sub.add_argument("--chunk-size", type=chunk_size, default=chunk_size("1MiB"))
    sub.add_argument("--seed", type=int, default=1, help="content and order seed")
    sub.add_argument("--order", choices=("in-order", "reverse", "shuffled"), default="shuffled")
    sub.add_argument("--resend", type=int, default=0, metavar="N", help="re-send N middles")
    sub.add_argument("--early-close", type=int, metavar="K", help="close early after K middles")
    sub.add_argument("--empty-close", action="store_true", help="close with an empty part")
    sub.add_argument("--store", choices=("memory", "file"), default="file")
    sub.add_argument("--json", action="store_true", help="print the result as JSON")


def _add_requirements(sub: _Parser) -> None:
    sub.add_argument("--party", choices=("client", "server"), help="only one side")
    sub.add_argument("--json", action="store_true", help="print JSON instead of a table")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        return _main(argv)
    except BrokenPipeError:  # `kaltura-conformance requirements | head` closed our stdout
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0


def _main(argv: Sequence[str] | None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "requirements":
        return _requirements(args)
    if args.command == "serve":
        return serve_command.execute(args, parser)
    if args.command == "run":
        return run_command.execute(args, parser.prog)
    if args.command == "upload":
        return upload_command.execute(args, parser.prog)
    if args.command == "baseline":
        return baseline_command.execute(args, parser.prog)
    if args.command == "replay":
        return replay_command.execute(args, parser.prog)
    if args.command == "merge":
        return merge_command.execute(args, parser.prog)
    try:
        schedule, source = _schedule(args)
    except ValueError as error:
        parser.exit(2, f"{parser.prog} simulate: error: {error}\n")
    return _simulate(args, source, schedule)


def _schedule(args: argparse.Namespace) -> tuple[UploadSchedule, SourceFile]:
    if args.chunk_size < 1:
        raise ValueError(f"--chunk-size={args.chunk_size} must be at least 1 byte")
    source = SourceFile(size=args.size, seed=_seed(args.seed))
    partition = Partition.even(source.size, args.chunk_size)
    middles = list(range(1, partition.count if args.empty_close else partition.count - 1))
    rng = random.Random(args.seed)
    order = _ordered(middles, args.order, rng)
    if not 0 <= args.resend <= len(middles):
        raise ValueError(f"--resend={args.resend} must be between 0 and {len(middles)} middles")
    resends = tuple(rng.sample(middles, args.resend))
    close_after = args.early_close
    if close_after is not None and not 0 <= close_after < len(middles):
        raise ValueError(f"--early-close={close_after} must be below the {len(middles)} middles")
    schedule = UploadSchedule(partition, tuple(order), resends, close_after, args.empty_close)
    return schedule, source


def _seed(seed: int) -> int:
    if not 0 <= seed < 2**64:
        raise ValueError(f"--seed={seed} must be in [0, 2**64)")
    return seed


def _ordered(middles: list[int], order: str, rng: random.Random) -> list[int]:
    if order == "reverse":
        return middles[::-1]
    if order == "shuffled":
        return rng.sample(middles, len(middles))
    return middles


def _simulate(args: argparse.Namespace, source: SourceFile, schedule: UploadSchedule) -> int:
    blobs = TempFileBlobFactory() if args.store == "file" else None
    with UploadTokenModel(blobs=blobs) as model:
        result = simulate(source, schedule, model)
    if args.json:
        print(json.dumps(_simulation_dict(result), indent=2))
    else:
        _print_simulation(result)
    return 0 if result.converged else 1


def _print_simulation(result: Simulation) -> None:
    print(f"source: {result.source.size} bytes, seed {result.source.seed}")
    print(f"plan:   {result.schedule.describe()}")
    steps = result.steps
    hidden = max(0, len(steps) - _MAX_STEPS_SHOWN)
    for number, step in enumerate(steps, start=1):
        if hidden and _MAX_STEPS_SHOWN // 2 < number <= len(steps) - _MAX_STEPS_SHOWN // 2:
            continue
        print(f"  #{number:<4} {step.describe()}")
        if hidden and number == _MAX_STEPS_SHOWN // 2:
            print(f"  ... {hidden} more requests ...")
    token = result.final_token
    verdict = "identical to the source" if result.converged else "NOT the source"
    print(f"token:  {token.status.name}, uploadedFileSize={token.uploaded_file_size}")
    print(f"file:   sha256 {result.file_digest} ({verdict})")


def _simulation_dict(result: Simulation) -> dict[str, object]:
    return {
        "source": {"size": result.source.size, "seed": result.source.seed},
        "schedule": result.schedule.to_dict(),
        "steps": [step.describe() for step in result.steps],
        "status": result.final_token.status.name,
        "uploaded_file_size": result.final_token.uploaded_file_size,
        "file_sha256": result.file_digest,
        "source_sha256": result.source.digest(),
        "converged": result.converged,
    }


def _requirements(args: argparse.Namespace) -> int:
    rows = [r for r in CATALOGUE.values() if args.party is None or r.party is Party(args.party)]
    if args.json:
        print(json.dumps([_requirement_dict(r) for r in rows], indent=2, ensure_ascii=False))
        return 0
    for row in rows:
        print(f"{row.id:<7} {row.level.value:<13} {row.rule}")
    return 0


def _requirement_dict(row: Requirement) -> dict[str, object]:
    return {"id": row.id, "level": row.level.value, "rule": row.rule, "source": row.source}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
