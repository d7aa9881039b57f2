"""The JSON record a benchmark writes under ``benchmarks/results/``: its figures, the command,
the date, the versions, the CPU and the thread count (written atomically)."""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def write_record(
    name: str,
    figures: dict,
    *,
    threads: int,
    units: dict | None = None,
    load_start: tuple | None = None,
    out: Path | None = None,
) -> Path:
    """Write ``benchmarks/results/<name>.json`` (or ``out``) and return its path."""
    import llvmlite
    import numba
    import numpy
    import torch

    record = {
        "benchmark": name,
        "figures": figures,
        "units": units or {},
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "versions": {
            "python": platform.python_version(),
            "numba": numba.__version__,
            "llvmlite": llvmlite.__version__,
            "numpy": numpy.__version__,
            "torch": torch.__version__,
        },
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads": threads,
        "load_average": {"start": load_start, "end": os.getloadavg()},
    }
    path = out or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)
    return path
