"""Command line: ``sparse-neuro list | run NAME | sweep NAME | report DIR``, ``--version``.

The same as ``python -m sparse_neuro ...`` and ``python -m sparse_neuro.experiments ...``.

Conventions: progress and log messages go to stderr (``logging`` + tqdm bars, which are off
when stderr is not a terminal or with ``--quiet``); the final summary goes to stdout as
``key: value`` lines, or as one JSON object with ``--json``. Exit codes: 0 success, 1 the
run failed, 2 bad command line (unknown experiment, parameter or output directory),
130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

if __name__ == "__main__" and (not sys.stderr.isatty() or {"-q", "--quiet"} & set(sys.argv)):
    # tqdm reads its TQDM_* defaults when it is imported: decide before importing anything
    os.environ["TQDM_DISABLE"] = "1"

from sparse_neuro import __version__  # noqa: E402
from sparse_neuro.experiments.common import (  # noqa: E402
    MAX_SEED,
    UsageError,
    check_out_dir,
    check_seed,
    describe,
    format_summary,
    load,
    parse_sets,
    run_experiment,
    setup_output,
)
from sparse_neuro.experiments.names import EXPERIMENTS  # noqa: E402
from sparse_neuro.neuro.storage.atomic import WriteError  # noqa: E402

log = logging.getLogger("sparse_neuro.experiments")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default=None, help="output directory (default results/NAME)")
    p.add_argument("--smoke", action="store_true", help="tiny run of a few seconds")
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a parameter (repeatable); see `run NAME --help`",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")
    p.add_argument("-v", "--verbose", action="store_true", help="debug messages on stderr")


def _seed(text: str) -> int:
    """``--seed`` as an int in ``[0, MAX_SEED]``; argparse reports the message as a usage
    error (numpy's own, ``expected non-negative integer``, names no parameter)."""
    try:
        return check_seed(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an integer in [0, {MAX_SEED}], got {text!r}"
        ) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sparse-neuro",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sparse-neuro {__version__}")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list the experiments")
    run = sub.add_parser("run", help="run one experiment (or 'demo', the tour)", add_help=False)
    run.add_argument("name")
    run.add_argument("--seed", type=_seed, default=0, help=f"random seed in [0, {MAX_SEED}]")
    run.add_argument("-h", "--help", action="store_true")
    _common(run)
    from sparse_neuro.experiments.sweep import add_arguments

    sweep = sub.add_parser("sweep", help="grid x seeds of one experiment on Dask")
    add_arguments(sweep)
    _common(sweep)
    report = sub.add_parser(
        "report",
        help="write a run's report.html (a demo tour's index.html) again from its outputs",
    )
    report.add_argument("run_dir", help="the output directory of a finished run (--out of run)")
    report.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    return parser


def _check_name(name: str) -> None:
    if name != "demo" and name not in EXPERIMENTS:
        raise UsageError(
            f"unknown experiment {name!r}; valid: demo, {', '.join(sorted(EXPERIMENTS))}"
        )


def _list() -> int:
    print("demo: the tour of headline experiments at a quick size (index.html)")
    for name in sorted(EXPERIMENTS):
        doc = (load(name).__doc__ or "").strip().splitlines()
        print(f"{name}: {doc[0] if doc else ''}")
    return EXIT_OK


def _run(args: argparse.Namespace) -> dict:
    _check_name(args.name)
    if args.help:
        if args.name == "demo":
            print(
                "sparse-neuro run demo --out DIR [--smoke] [--seed N] [--set KEY=VALUE]\n"
                "--set applies to every demo experiment that has the parameter"
            )
        else:
            print(describe(load(args.name)))
        return {}
    overrides = parse_sets(args.sets)
    out = check_out_dir(args.out or ("results" if args.name == "demo" else f"results/{args.name}"))
    if args.name == "demo":
        from sparse_neuro.experiments.demo import run_demo

        return run_demo(out, seed=args.seed, smoke=args.smoke, overrides=overrides)
    return run_experiment(args.name, out, seed=args.seed, smoke=args.smoke, overrides=overrides)


def _report(args: argparse.Namespace) -> int:
    from sparse_neuro.experiments.demo import rerender_index
    from sparse_neuro.experiments.report import rerender_run_page
    from sparse_neuro.neuro.storage.integrity import FormatError

    run_dir = Path(args.run_dir)
    try:
        tour = (run_dir / "summary.json").is_file() and not (run_dir / "config.json").is_file()
        # a demo tour's directory: its summary.json gathers the runs, and it has no config.json
        page = rerender_index(run_dir) if tour else rerender_run_page(run_dir)
    except (FileNotFoundError, FormatError, WriteError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    if not args.quiet:
        print(page)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the command, return the exit code."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.cmd == "list":
        return _list()
    if args.cmd == "report":
        return _report(args)
    try:
        setup_output(quiet=args.quiet, verbose=args.verbose)
        if args.cmd == "run":
            summary = _run(args)
        else:
            from sparse_neuro.experiments.sweep import run_sweep_command

            _check_name(args.name)
            if args.name == "demo":
                raise UsageError("the demo tour cannot be swept; name one experiment")
            summary = run_sweep_command(args)
    except (UsageError, WriteError) as e:  # bad command line, full disk: one line
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # the run itself failed: one line, the traceback only with -v
        log.debug("traceback", exc_info=True)
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_FAILED
    if summary:
        print(json.dumps(summary, indent=2, default=str) if args.json else format_summary(summary))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
