"""Command line: ``python -m experiments list`` / ``python -m experiments run NAME --out DIR``."""

from __future__ import annotations

import argparse
import sys

from experiments.common import describe, load, run_experiment
from experiments.registry import EXPERIMENTS
from neuro.atomic import WriteError


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m experiments", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list the experiments")
    run = sub.add_parser("run", help="run one experiment (or 'demo', the tour)", add_help=False)
    run.add_argument("name")
    run.add_argument("--out", default=None, help="output directory (default results/NAME)")
    run.add_argument("--smoke", action="store_true", help="tiny run of a few seconds")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument("-h", "--help", action="store_true")
    args = parser.parse_args(argv)
    if args.cmd == "list":
        from experiments.common import load as _load

        print("demo: the tour of headline experiments at a quick size (index.html)")
        for name in sorted(EXPERIMENTS):
            doc = (_load(name).__doc__ or "").strip().splitlines()
            print(f"{name}: {doc[0] if doc else ''}")
        return 0
    if args.name == "demo":
        from experiments.demo import run_demo

        if args.help:
            print("python -m experiments run demo --out DIR [--smoke] [--seed N]")
            return 0
        run_demo(args.out or "results", seed=args.seed, smoke=args.smoke)
        return 0
    if args.help:
        print(describe(load(args.name)))
        return 0
    overrides = {}
    for item in args.sets:
        if "=" not in item:
            parser.error(f"--set expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        overrides[k.strip()] = v.strip()
    try:
        run_experiment(args.name, args.out or f"results/{args.name}", seed=args.seed,
                       smoke=args.smoke, overrides=overrides)
    except (ValueError, WriteError) as e:  # bad settings/files, full disk: one line, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
