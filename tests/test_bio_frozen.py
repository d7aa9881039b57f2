"""The 49 legacy scorecard tests stay as declared: names, groups, references, comparisons and the
bytes of every reference data file they were declared with (new tests and new files may be added
beside them). Regenerate the golden file only for a change the project has decided on:
``python tests/test_bio_frozen.py --write``."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from sparse_neuro.experiments.bio_network import NETWORKS
from sparse_neuro.experiments.bio_suite import Config
from sparse_neuro.neuro.bio.catalogue import (
    microcircuit_layer_test,
    network_tests,
    plasticity_tests,
    receptive_field_tests,
)
from sparse_neuro.neuro.bio.receptive_fields import receptive_field_distribution_tests
from sparse_neuro.neuro.bio.scorecard import DATA_DIR

GOLDEN = Path(__file__).parent / "golden" / "bio_legacy_49.json"


def legacy_tests() -> list:
    """The 49 tests in the order ``bio_suite.run`` declares them (quick size labels)."""
    sizes = Config().network().sizes()
    return [
        *receptive_field_tests("l0"),
        *receptive_field_tests("l1"),
        *receptive_field_distribution_tests("l0"),
        *receptive_field_distribution_tests("l1"),
        *(
            t
            for net, label in NETWORKS.items()
            for t in network_tests(net, f"{label} ({sizes[net]})")
        ),
        microcircuit_layer_test(),
        *plasticity_tests(),
    ]


def _plain(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def snapshot() -> dict:
    tests = [
        {
            **json.loads(json.dumps(dataclasses.asdict(t), default=_plain)),
            "comparison_type": type(t.comparison).__name__,
            "describe": t.comparison.describe(),
        }
        for t in legacy_tests()
    ]
    return {"tests": tests, "sha256": _hashes(p.name for p in DATA_DIR.glob("*.csv"))}


def _hashes(names) -> dict[str, str]:
    return {n: hashlib.sha256((DATA_DIR / n).read_bytes()).hexdigest() for n in sorted(names)}


def test_the_49_legacy_declarations_are_unchanged():
    golden = json.loads(GOLDEN.read_text())
    now = snapshot()["tests"]
    assert len(golden["tests"]) == 49
    assert [t["name"] for t in now] == [t["name"] for t in golden["tests"]]
    for old, new in zip(golden["tests"], now):
        assert new == old, old["name"]


def test_the_reference_data_files_are_unchanged_byte_for_byte():
    golden = json.loads(GOLDEN.read_text())["sha256"]
    assert _hashes(golden) == golden


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    # the data files it pins are the ones present now; files added later are not pinned
    GOLDEN.write_text(json.dumps(snapshot(), indent=1, sort_keys=True) + "\n")
