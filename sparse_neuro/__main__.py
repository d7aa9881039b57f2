"""``python -m sparse_neuro`` and the ``sparse-neuro`` command: the experiments' command
line (:mod:`sparse_neuro.experiments.__main__`, also ``python -m sparse_neuro.experiments``)."""

from __future__ import annotations

import os
import sys


def main() -> int:
    """The command's entry point (``[project.scripts]``); returns the exit code."""
    if not sys.stderr.isatty() or {"-q", "--quiet"} & set(sys.argv[1:]):
        # tqdm reads its TQDM_* defaults when it is imported: decide before importing anything
        os.environ["TQDM_DISABLE"] = "1"
    from sparse_neuro.experiments.__main__ import main as command_line

    return command_line()


if __name__ == "__main__":
    sys.exit(main())
