"""Memory safety as a property: no state dict, checkpoint or array edit crashes the process.

The compiled kernels run without bounds checks, so every value that reaches them is checked
where it enters. Each crash found by the issue-26 probe is here as a test that now gets a
clear error; then Hypothesis feeds damaged state dicts to ``load_state_dict`` of every
backend and damaged checkpoints to the checkpoint readers. Those attempts run in a child
process (this file run as a script), so a segfault fails the test instead of killing pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sparse_neuro.neuro import LIFParams, Network, Population, Projection, SparseSynapses
from sparse_neuro.neuro.engines import ClockSimulator, ExactSimulator
from sparse_neuro.neuro.engines.layout import NEVER
from sparse_neuro.neuro.engines.state_check import MAX_STEP
from sparse_neuro.neuro.model.inputs import CurrentInjection, PoissonSource, SpikeArraySource
from sparse_neuro.neuro.model.plasticity_rules import STDPRule, ThresholdAdaptation
from sparse_neuro.neuro.model.record import SpikeMonitor, StateMonitor
from sparse_neuro.neuro.storage.checkpoint import (
    read_state_dict,
    seal,
    seal_arrays,
    verify_arrays,
    write_state_dict,
)
from sparse_neuro.neuro.storage.integrity import FormatError

ROOT = Path(__file__).resolve().parents[1]
DT = 1e-3


# ---------------------------------------------------------------------- networks
def stdp_network(reward: bool = True, adapt: bool = True, n: int = 12) -> Network:
    """Plastic input synapses, delayed recurrent synapses (ring-buffer queues), a Poisson
    and a spike-array source; a reward-modulated rule (clock only) or pair STDP, and
    threshold adaptation (not in Loihi's fixed point)."""
    rng = np.random.default_rng(0)
    rule = STDPRule(tau_eligibility_s=0.05) if reward else STDPRule(pairing="nearest")
    w_in = SparseSynapses.fixed_probability(6, n, 0.6, 0.45, seed=rng, dtype=np.float64)
    w_rec = SparseSynapses.fixed_probability(
        n, n, 0.3, 0.3, delay=2, seed=rng, allow_self=False, dtype=np.float64
    )
    w_x = SparseSynapses.fixed_probability(3, n, 0.5, 0.6, delay=1, seed=rng, dtype=np.float64)
    pop = Population(
        "a",
        n,
        LIFParams(tau_mem_s=10e-3, bias=0.5, t_ref_s=2e-3),
        v_init=rng.uniform(0.0, 0.9, n),
        adaptation=ThresholdAdaptation(theta_plus=0.05, tau_theta_s=0.1) if adapt else None,
    )
    return Network(
        [pop],
        [
            Projection("inp", "a", w_in, plasticity=rule),
            Projection("a", "a", w_rec),
            Projection("x", "a", w_x),
        ],
        [
            PoissonSource("inp", 6, 300.0),
            SpikeArraySource("x", 3, [0.001, 0.004, 0.006], [0, 1, 2]),
        ],
        monitors=[SpikeMonitor("a"), StateMonitor("a", "v", np.array([0, 5]))],
    )


def exact_network() -> Network:
    """Delta synapses and sources only: what the exact engine runs."""
    rng = np.random.default_rng(1)
    w = SparseSynapses.fixed_probability(5, 8, 0.5, 0.4, delay=1, seed=rng, dtype=np.float64)
    return Network(
        [Population("a", 8, LIFParams(tau_mem_s=10e-3, bias=0.5))],
        [Projection("s", "a", w)],
        [PoissonSource("s", 5, 200.0)],
        monitors=[SpikeMonitor("a")],
    )


def make_simulator(backend: str):
    """A small simulator of ``backend`` that has run for 20 steps (queues and traces set)."""
    if backend == "clock":
        sim = ClockSimulator(stdp_network(), DT, seed=0)
    elif backend == "exact":
        sim = ExactSimulator(exact_network(), DT, seed=0)
    elif backend == "brian2":
        from sparse_neuro.neuro.engines.backends.brian2_bridge import Brian2Simulator

        sim = Brian2Simulator(stdp_network(reward=False, adapt=False), DT, seed=0)
    else:
        from sparse_neuro.hardware_models.event_queue import EventQueueSimulator

        mode = backend.split("-")[1]
        sim = EventQueueSimulator(
            stdp_network(reward=False, adapt=mode == "float"), DT, mode=mode, seed=0
        )
    sim.run(20 * DT)
    return sim


def copy_state(d: object) -> object:
    """A deep copy of a state dict (arrays, lists, tuples and dicts)."""
    if isinstance(d, dict):
        return {k: copy_state(v) for k, v in d.items()}
    if isinstance(d, (list, tuple)):
        return type(d)(copy_state(v) for v in d)
    return d.copy() if isinstance(d, np.ndarray) else d


@pytest.fixture(scope="module")
def clock():
    return make_simulator("clock")


# ---------------------------------------------------------------------- the probe's crashes
@pytest.mark.parametrize(
    "edit, key",
    [
        ({"step": 10**12, "inputs.step": 10**12}, "inputs.next"),  # was SIGSEGV
        ({"step": 10**12}, "inputs.step"),
        ({"step": 2**62, "inputs.step": 2**62}, "step"),
        ({"pre_last": 10**18}, "pre_last"),  # was SIGSEGV
        ({"post_last": 10**18}, "post_last"),  # was SIGSEGV
        ({"v": np.nan}, "v"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"queue_len": 10**6}, "queue_len"),
        ({"last_spike": 10**15}, "last_spike"),
        ({"inputs.inv_log_q": 0.5}, "inputs.inv_log_q"),
    ],
)
def test_clock_state_out_of_range_is_a_clear_error_and_keeps_the_state(clock, edit, key):
    before = clock.state_dict()
    d = copy_state(before)
    for k, value in edit.items():
        target, name = (d["inputs"], k[7:]) if k.startswith("inputs.") else (d, k)
        if isinstance(target[name], np.ndarray):
            target[name][...] = value
        else:
            target[name] = value
    with pytest.raises(ValueError, match=key.replace(".", r"\.")) as e:
        clock.load_state_dict(d)
    assert "range" in str(e.value) or "finite" in str(e.value) or "equal" in str(e.value)
    after = clock.state_dict()
    for k, v in before.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(after[k], v, err_msg=k)
    assert after["step"] == before["step"]
    clock.run(2 * DT)  # still runs


def test_clock_state_keys_dtypes_and_queues(clock):
    d = clock.state_dict()
    for edit, match in [
        (lambda x: x.pop("theta"), "missing keys \\['theta'\\]"),
        (lambda x: x.update(extra=1), "unknown keys \\['extra'\\]"),
        (lambda x: x.update(v=x["v"].astype(object)), "'v' must be an array of float64"),
        (lambda x: x.update(last_spike=x["last_spike"].astype(float)), "'last_spike'"),
        (lambda x: x.update(step=3.0), "'step' must be an integer"),
        (lambda x: x.update(step=True), "'step' must be an integer"),
        (lambda x: x.update(queued=~x["queued"]), "'queued'"),
        (
            lambda x: x["buffer"].__setitem__((*np.argwhere(~x["queued"])[0], 0), 1.0),
            "'buffer' holds input for a target that is not queued",
        ),
    ]:
        bad = copy_state(d)
        edit(bad)
        with pytest.raises(ValueError, match=match):
            clock.load_state_dict(bad)
    clock.load_state_dict(d)  # the valid dict still loads


def test_trace_times_in_the_future_are_refused_for_every_backend():
    for backend in ("clock", "loihi-float", "loihi-fixed"):
        sim = make_simulator(backend)
        d = sim.state_dict()
        d["pre_last"][:] = 10**18
        with pytest.raises(ValueError, match="pre_last.*outside the valid range"):
            sim.load_state_dict(d)
    sim = make_simulator("loihi-fixed")
    d = sim.state_dict()
    d["post_trace"][0, 0] = 1e6  # beyond the 7-bit traces
    with pytest.raises(ValueError, match="post_trace"):
        sim.load_state_dict(d)
    d = sim.state_dict()
    d["counters"] = d["counters"][1:]
    with pytest.raises(ValueError, match="counters"):
        sim.load_state_dict(d)


@pytest.mark.parametrize("backend", ["clock", "loihi-fixed"])
def test_a_state_record_changed_behind_load_state_dict_is_refused_by_run(backend):
    """No kernel relies on a check a caller could skip: the record is public."""
    sim = make_simulator(backend)
    good = sim.state
    for field, bad in [
        ("pre_last", good.pre_last + 10**18),
        ("v", good.v[:3].copy()),
        ("queue_len", good.queue_len + 10**6),
        ("step", -5),
        ("last_spike", np.asfortranarray(good.last_spike.astype(np.int32))),
    ]:
        sim.state = good._replace(**{field: bad})
        with pytest.raises(ValueError, match=field):
            sim.run(DT)
    sim.state = good
    sim.run(DT)


def test_a_callers_quantisation_is_checked_against_the_network():
    from dataclasses import replace

    from sparse_neuro.hardware_models.event_queue import EventQueueSimulator
    from sparse_neuro.hardware_models.fixed_point import quantize

    net = stdp_network(reward=False, adapt=False)
    q = quantize(net, DT)
    for bad, match in [
        (replace(q, u_channel=q.u_channel + 7), "quantized 'u_channel'"),
        (replace(q, du=q.du[:3]), "quantized.du must be a int64 array"),
        (replace(q, weights=q.weights.astype(float)), "quantized.weights"),
        (replace(q, dv=q.dv - 10**6), "quantized 'dv'"),
    ]:
        with pytest.raises(ValueError, match=match):
            EventQueueSimulator(net, DT, mode="fixed", quantized=bad)
    EventQueueSimulator(net, DT, mode="fixed", quantized=q).run(2 * DT)


def test_a_callers_placement_is_checked():
    from dataclasses import replace

    from sparse_neuro.hardware_models.event_queue import EventQueueSimulator
    from sparse_neuro.hardware_models.mapping import place

    net = stdp_network(reward=False, adapt=False)
    m = place(net)
    for bad, match in [
        (replace(m, core_of=m.core_of + 10**6), "mapping 'core_of'"),
        (replace(m, core_of=m.core_of[:3]), "core_of must be integers"),
        (replace(m, core_xy=m.core_xy[:, :1]), "core_xy"),
    ]:
        with pytest.raises(ValueError, match=match):
            EventQueueSimulator(net, DT, mapping=bad)


def test_exact_engine_step_is_checked():
    sim = make_simulator("exact")
    for bad in (-1, 2**62, 1.5, "3"):
        with pytest.raises(ValueError, match="step"):
            sim.load_state_dict({"step": bad})
    sim.load_state_dict({"step": 3})
    assert sim.t_s == pytest.approx(3 * DT)


def test_validated_arrays_are_read_only_and_the_callers_are_not():
    s = SparseSynapses.fixed_probability(5, 10, 0.5, 0.5, seed=0)
    for name in ("indptr", "indices", "weights", "delays"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(s, name)[-1] = 10**8  # the probe's edit: was SIGSEGV on the next run
    mine = np.array([0, 1, 2])
    s2 = SparseSynapses(mine, np.array([0, 1], np.int32), np.ones(2), 0, 2)
    mine[-1] = 10**8  # the caller's array stays writable and is not the synapses'
    assert s2.indptr[-1] == 2
    v0 = np.zeros(3)
    pop = Population("a", 3, v_init=v0)
    idx = np.array([0, 1])
    mon = StateMonitor("a", "v", idx)
    src = SpikeArraySource("x", 2, np.array([0.0, 0.001]), np.array([0, 1]))
    cur = CurrentInjection("a", np.ones(3))
    for arr in (
        pop.v_init,
        mon.indices,
        src.times_s,
        src.indices,
        cur.amplitude,
        PoissonSource("p", 2, np.ones(2)).rate_hz,
    ):
        assert not arr.flags.writeable
    idx[0] = 5
    assert mon.indices[0] == 0 and v0.flags.writeable


def test_sparse_layer_kernels_read_only_what_was_validated():
    import torch

    from sparse_neuro.neuro.train import SparseLinear

    x = torch.ones(4, 5, dtype=torch.float32)
    for kernel in ("event", "sparse"):
        layer = SparseLinear(
            SparseSynapses.fixed_probability(5, 3, 0.6, 0.5, seed=0), kernel=kernel
        )
        want = layer(x)
        layer.cols[0] = 10**6  # public buffers: a changed one never reaches a kernel
        layer.rows[0] = -(10**6)
        torch.testing.assert_close(layer(x), want)
        layer.weight = torch.nn.Parameter(torch.ones(10**4))
        with pytest.raises(ValueError, match="weight must have shape"):
            layer(x)


def test_arena_synapses_are_read_only_views():
    from sparse_neuro.neuro.model.connectivity import SynapseArena, fixed_total_number

    arena = SynapseArena(10, np.float32)
    s = fixed_total_number(3, 4, 10, 0.5, arena=arena)
    assert np.shares_memory(s.indices, arena.indices) and not arena.indices.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        s.indices[0] = 10**6


# ---------------------------------------------------------------------- checkpoints
def stdp_trainer():
    """A small stdp-digits trainer that has seen one image, and its identity."""
    import sparse_neuro.experiments.stdp_digits as sd

    cfg = sd.Config(
        n_neurons=6,
        epochs=2,
        present_s=0.02,
        rest_s=0.01,
        max_boosts=0,
        checkpoint_every=1,
        kmeans=False,
    )
    tr = sd.Trainer(sd.diehl_cook_network(16, cfg), cfg, seed=0)
    tr.learning(True)
    tr.present(np.random.default_rng(0).uniform(0, 1, 16), learn=True)
    return tr


def save_stdp(tr, path: Path, epoch: int = 1, pos: int = 3) -> None:
    """A stdp-digits checkpoint of ``tr`` at (epoch, pos) over 8 training images."""
    tr.save(path, epoch, pos, np.arange(8), 1.5, np.random.default_rng(1), {})


def edit_npz(path: Path, reseal: bool, **changes: object) -> None:
    """Change entries of an NPZ checkpoint; ``reseal``: as an attacker who also updates the
    manifest and checksum would."""
    with np.load(path) as z:
        d = {k: z[k] for k in z.files}
    for k, v in changes.items():
        d[k] = np.asarray(v, dtype=d[k].dtype) if np.ndim(v) == 0 and k in d else np.asarray(v)
    if reseal:
        d = seal_arrays(verify_arrays_unchecked(d))
    np.savez(path, **d)


def verify_arrays_unchecked(d: dict) -> dict:
    """The entries of an NPZ checkpoint without its integrity entries."""
    return {k: v for k, v in d.items() if k not in ("__manifest__", "__checksum__")}


@pytest.mark.parametrize(
    "key, value, words",
    [
        ("pre_last", 10**18, "pre_last"),  # was SIGSEGV on resume
        ("step", 2**62, "step"),  # was SIGABRT
        ("v", np.nan, "'v' must be finite"),
        ("learning_rate", -0.5, "learning_rate"),
        ("epoch", 10**9, "epoch must be an integer in \\[0, 2\\]"),
        ("pos", -1, "pos"),
        ("elapsed", np.inf, "elapsed"),
    ],
)
def test_edited_stdp_checkpoint_is_a_format_error(tmp_path, key, value, words):
    tr = stdp_trainer()
    path = tmp_path / "ckpt.npz"
    save_stdp(tr, path)
    with np.load(path) as z:
        full = np.array(z[key])
    full[...] = value
    edit_npz(path, reseal=False, **{key: full})
    with pytest.raises(FormatError, match="ckpt.npz: checksum mismatch"):
        tr.load(path, n_images=8)
    edit_npz(path, reseal=True, **{key: full})
    with pytest.raises(FormatError, match=f"ckpt.npz.*{words}"):
        tr.load(path, n_images=8)
    save_stdp(tr, path)
    assert tr.load(path, n_images=8)[:2] == (1, 3)  # an intact checkpoint still resumes


def test_unsealed_and_renamed_checkpoint_entries_are_named(tmp_path):
    tr = stdp_trainer()
    path = tmp_path / "ckpt.npz"
    save_stdp(tr, path)
    with np.load(path) as z:
        d = {k: z[k] for k in z.files}
    np.savez(path, **verify_arrays_unchecked(d))
    with pytest.raises(FormatError, match="no manifest and checksum"):
        tr.load(path)
    body = verify_arrays_unchecked(d)
    body["v_renamed"] = body.pop("v")
    sealed = seal_arrays(body)
    sealed["__manifest__"] = d["__manifest__"]
    np.savez(path, **sealed)
    with pytest.raises(FormatError, match="entry /?v"):
        tr.load(path)
    with pytest.raises(FormatError, match="missing|unexpected"):
        verify_arrays({**seal_arrays({"a": np.ones(2)}), "b": np.ones(1)}, "f")


@pytest.mark.parametrize("backend", ["clock", "exact", "loihi-fixed"])
def test_state_dict_files_are_sealed_and_their_values_checked(tmp_path, backend):
    sim = make_simulator(backend)
    path = tmp_path / "state.npz"
    write_state_dict(path, sim.state_dict())
    sim.run(3 * DT)
    sim.load_state_dict(read_state_dict(path))
    assert sim.t_s == pytest.approx(20 * DT)  # back where it was written
    with np.load(path) as z:
        d = {k: z[k] for k in z.files}
    d["step"] = np.asarray(2**62)
    np.savez(path, **d)  # edited, not re-sealed
    with pytest.raises(FormatError, match="state.npz: checksum mismatch"):
        read_state_dict(path)
    np.savez(path, **seal_arrays(verify_arrays_unchecked(d)))  # re-sealed: values refused
    with pytest.raises(ValueError, match="'step' = 4611686018427387904 is outside"):
        sim.load_state_dict(read_state_dict(path))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(FormatError, match="state.npz: not a state dict file"):
        read_state_dict(path)


def _torch_run(tmp_path: Path, **kw):
    """A tiny BPTT run (2 batches, a checkpoint after each) resuming from ``t.pt``."""
    import torch

    from sparse_neuro.learning.training import TrainConfig, train
    from sparse_neuro.neuro.train import SpikingMLP

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 1, (16, 8)).astype(np.float32), rng.integers(0, 3, 16)
    model = SpikingMLP((8, 6, 3), n_steps=4, beta=0.9, seed=0)
    cfg = TrainConfig(epochs=1, batch_size=8, checkpoint_every=1)
    return train(model, x, y, cfg, checkpoint_path=tmp_path / "t.pt", progress=False, **kw)


@pytest.mark.parametrize(
    "edit, words",
    [
        (lambda s: s.update(epoch=10**9), "epoch must be an integer in \\[0, 1\\]"),
        (
            lambda s: s["model"].__setitem__(
                next(iter(s["model"])), s["model"][next(iter(s["model"]))] * np.nan
            ),
            "finite",
        ),
        (lambda s: s["optimizer"]["param_groups"][0].update(lr=-1.0), "lr"),
        (lambda s: s.update(batch=5), "batch"),
    ],
)
def test_edited_torch_checkpoint_is_a_format_error(tmp_path, edit, words):
    import torch

    _torch_run(tmp_path, stop_after_batches=1)
    path = tmp_path / "t.pt"
    state = torch.load(path, weights_only=True)
    state.pop("integrity")
    edit(state)
    torch.save({**state, "integrity": torch.load(path, weights_only=True)["integrity"]}, path)
    with pytest.raises(FormatError, match="t.pt: checksum mismatch"):
        _torch_run(tmp_path)
    torch.save(seal(state), path)  # re-signed: the values themselves are refused
    with pytest.raises(FormatError, match=f"t.pt: .*{words}"):
        _torch_run(tmp_path)


# ---------------------------------------------------------------------- property tests
CHILD_BUDGET_S = 300  # the child's own limit (first numba compilation included)


def run_child(mode: str, n_examples: int) -> None:
    """Run this file as a script in a child process; a signal or a failed example fails."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run(
        [sys.executable, __file__, mode, str(n_examples)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_BUDGET_S,
    )
    tail = (r.stdout + r.stderr)[-3000:]
    assert r.returncode >= 0, f"child killed by signal {-r.returncode}; last output:\n{tail}"
    assert r.returncode == 0, f"child failed ({r.returncode}):\n{tail}"
    assert f"examples run: {mode}" in r.stdout, tail


def test_damaged_state_dicts_never_crash_any_backend():
    run_child("state", 30)


def test_damaged_checkpoints_never_crash_the_readers():
    run_child("checkpoint", 15)


# ---------------------------------------------------------------------- the child's side
def _damage_strategy():
    """Hypothesis strategy: a list of (operation, key selector, value) edits."""
    from hypothesis import strategies as st

    ints = st.one_of(
        st.integers(-(2**63), 2**63 - 1),
        st.sampled_from([NEVER, NEVER - 1, -1, 0, 1, 2**40, MAX_STEP, 2**62]),
    )
    floats = st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([0.0, -1.0, 1e18, np.inf, np.nan]),
    )
    op = st.sampled_from(["set", "set", "set", "fill", "dtype", "shape", "drop", "add", "scalar"])
    edit = st.tuples(op, st.integers(0, 10**6), st.integers(0, 10**6), ints, floats)
    return st.lists(edit, min_size=1, max_size=3)


def _paths(d: dict, prefix: str = "") -> list[tuple[dict, str, str]]:
    """Every (container, key, dotted name) of a state dict, nested dicts included."""
    out = []
    for k in sorted(d, key=str):
        out.append((d, k, prefix + str(k)))
        if isinstance(d[k], dict):
            out += _paths(d[k], f"{prefix}{k}.")
    return out


def _apply(d: dict, edit: tuple) -> str:
    """Apply one damage to ``d`` in place; returns the dotted key it touched."""
    op, which, where, i_val, f_val = edit
    paths = _paths(d)
    if not paths:  # everything dropped already
        d["step"] = i_val
        return "step"
    box, key, name = paths[which % len(paths)]
    val = box[key]
    # Brian2 stores (values, size) pairs: damage the values, keep the pair
    pair = isinstance(val, tuple) and len(val) == 2 and isinstance(val[0], np.ndarray)
    arr = val[0] if pair else val

    def put(a: object) -> None:
        box[key] = (a, val[1]) if pair else a

    numeric = isinstance(arr, np.ndarray) and arr.size and arr.dtype.kind in "biuf"
    if op in ("set", "fill") and numeric:
        a = arr.copy()
        x = (
            bool(i_val & 1)
            if a.dtype.kind == "b"
            else min(max(i_val, np.iinfo(a.dtype).min), np.iinfo(a.dtype).max)
            if a.dtype.kind in "iu"
            else f_val
        )
        if op == "fill":
            a[...] = x
        else:
            a.flat[where % a.size] = x
        put(a)
    elif op == "dtype" and isinstance(arr, np.ndarray):
        kinds = [np.float32, np.int32, np.bool_, object, "U3"]
        put(arr.astype(kinds[where % len(kinds)]))
    elif op == "shape" and isinstance(arr, np.ndarray):
        put(arr.ravel()[: max(arr.size - 1, 0)] if where % 2 else np.append(arr.ravel(), 0))
    elif op == "drop":
        del box[key]
    elif op == "add":
        box[f"extra{where % 3}"] = f_val
    else:  # a scalar, a string or None where something else was
        box[key] = [i_val, f_val, "3", None, [1, 2]][where % 5]
    return name


_QUEUE = ("queued", "queue_ids", "queue_len", "buffer")


def _names_the_damage(name: str, message: str) -> bool:
    """Whether the error of a one-edit state dict names the damaged entry: its key, the
    container (a key added or dropped), or a key it must agree with (a queue's other
    arrays, a trace's time stamp; a changed step puts every time stamp out of range)."""
    key = name.split(".")[-1]
    related = {key, "state dict", "drive state", "brian2_state"}
    if key in _QUEUE:
        related |= set(_QUEUE)
    if key.endswith("_trace") or key.endswith("_last") or key == "eligibility":
        related |= {key.split("_")[0] + "_last", key.split("_")[0] + "_trace", "elig"}
    if key == "step":
        return True
    return any(r in message for r in related)


def _child_state(n_examples: int) -> None:
    """Damaged state dicts into every backend's ``load_state_dict``, then a short run."""
    from hypothesis import HealthCheck, given, settings

    sims = {
        b: make_simulator(b) for b in ("clock", "exact", "loihi-float", "loihi-fixed", "brian2")
    }
    good = {b: s.state_dict() for b, s in sims.items()}
    count = 0

    @settings(
        max_examples=n_examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(edits=_damage_strategy())
    def check(edits):
        nonlocal count
        for backend, sim in sims.items():
            d = copy_state(good[backend])
            names = [_apply(d, e) for e in edits]
            print(backend, edits, flush=True)  # the last line names a crashing example
            try:
                sim.load_state_dict(d)
            except ValueError as e:
                assert len(names) > 1 or _names_the_damage(names[0], str(e)), (names, e)
            if backend != "exact" or sim.t_s < 1.0:  # the exact engine reruns from t = 0
                sim.run(2 * DT)  # loaded or kept: it runs
            sim.load_state_dict(copy_state(good[backend]))
            count += 1

    check()
    print(f"examples run: state {count}")


def _child_checkpoint(n_examples: int, tmp: Path) -> None:
    """Damaged (re-sealed) and byte-flipped checkpoints into their readers: stdp-digits NPZ,
    simulator state dict files, torch training checkpoints."""
    import torch
    from hypothesis import HealthCheck, given, settings

    tr = stdp_trainer()
    npz = tmp / "ckpt.npz"
    save_stdp(tr, npz)
    with np.load(npz) as z:
        good_npz = verify_arrays({k: z[k] for k in z.files}, "good")
    clock = make_simulator("clock")
    good_clock = clock.state_dict()
    _torch_run(tmp, stop_after_batches=1)
    good_pt = torch.load(tmp / "t.pt", weights_only=True)
    good_pt.pop("integrity")
    count = 0

    def numpy_tree(x):
        if isinstance(x, dict):
            return {k: numpy_tree(v) for k, v in x.items()}
        if isinstance(x, list):
            return [numpy_tree(v) for v in x]
        return x.numpy().copy() if isinstance(x, torch.Tensor) else x

    def torch_tree(x):
        if isinstance(x, dict):
            return {k: torch_tree(v) for k, v in x.items()}
        if isinstance(x, list):
            return [torch_tree(v) for v in x]
        if isinstance(x, np.ndarray) and x.dtype.kind in "biuf":
            return torch.from_numpy(np.ascontiguousarray(x))
        return x

    @settings(
        max_examples=n_examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(edits=_damage_strategy())
    def check(edits):
        nonlocal count
        # stdp-digits NPZ: damaged and re-sealed (the values must be checked), then raw
        d = copy_state(good_npz)
        for e in edits:
            _apply(d, e)
        arrays = {k: v for k, v in d.items() if isinstance(v, np.ndarray) or np.isscalar(v)}
        print("npz", edits, flush=True)
        try:
            np.savez(npz, **seal_arrays(arrays))
        except (ValueError, TypeError):
            pass  # not storable as an NPZ at all
        else:
            try:
                tr.load(npz, n_images=8)
            except ValueError as e:  # FormatError or CheckpointMismatch
                assert "ckpt.npz" in str(e), e
            tr.present(np.full(16, 0.5), learn=True)
        np.savez(npz, **seal_arrays(good_npz))
        raw = bytearray(Path(npz).read_bytes())
        raw[edits[0][1] % len(raw)] ^= 1 + edits[0][2] % 255
        Path(npz).write_bytes(bytes(raw))
        try:  # a flipped byte: refused, or in zip metadata that holds no data (loads as is)
            tr.load(npz, n_images=8)
        except FormatError as e:
            assert "ckpt.npz" in str(e), e
        # a simulator state dict file (sparse_neuro.neuro.storage.checkpoint): damaged and
        # re-sealed, then raw
        d = copy_state(good_clock)
        for e in edits:
            _apply(d, e)
        print("state file", edits, flush=True)
        for flip in (False, True):
            try:
                write_state_dict(tmp / "s.npz", d if not flip else good_clock)
            except ValueError:
                continue  # not numeric: not storable
            if flip:
                raw = bytearray((tmp / "s.npz").read_bytes())
                raw[edits[0][2] % len(raw)] ^= 1 + edits[0][1] % 255
                (tmp / "s.npz").write_bytes(bytes(raw))
            try:
                clock.load_state_dict(read_state_dict(tmp / "s.npz"))
            except ValueError as e:  # FormatError naming the file, or a value named
                assert "s.npz" in str(e) or "state" in str(e), e
            clock.run(2 * DT)
        # torch checkpoint: damaged and re-sealed
        s = numpy_tree(copy_state(numpy_tree(good_pt)))
        for e in edits:
            _apply(s, e)
        print("torch", edits, flush=True)
        try:
            torch.save(seal(torch_tree(s)), tmp / "t.pt")
        except (TypeError, ValueError, RuntimeError):
            return  # not storable
        try:
            _torch_run(tmp)
        except ValueError as e:  # FormatError or CheckpointMismatch
            assert "t.pt" in str(e), e
        count += 1

    check()
    print(f"examples run: checkpoint {count}")


if __name__ == "__main__":  # the child process of run_child
    import tempfile

    import numba

    numba.set_num_threads(1)
    mode, n = sys.argv[1], int(sys.argv[2])
    if mode == "state":
        _child_state(n)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            _child_checkpoint(n, Path(tmp))
    sys.stdout.flush()


def test_a_nearest_rounded_trace_stuck_at_a_fixed_point_does_not_loop_over_a_huge_gap():
    """Loihi fixed mode, nearest rounding: 1 * dec can round back to 1; decaying it over a gap
    of 10**9 steps (a valid, edited state) stops at the fixed point instead of looping (which
    takes seconds; 2**53 steps would take years)."""
    import time

    from sparse_neuro.hardware_models.fixed_point_stdp import TRACE_DECAY_BITS, _trace_at

    dec = (1 << TRACE_DECAY_BITS) - 1
    tr, last = np.array([1], np.int64), np.array([0], np.int64)
    _trace_at(tr, last, 0, 5, dec, False, 0, 0)  # compile
    tr[0], last[0] = 1, 0
    t0 = time.perf_counter()
    assert _trace_at(tr, last, 0, 10**9, dec, False, 0, 0) == 1
    assert time.perf_counter() - t0 < 0.2
    assert last[0] == 10**9
    tr[0], last[0] = 100, 0  # decays normally until it reaches its fixed point
    steps = [
        int(_trace_at(np.array([100], np.int64), np.array([0], np.int64), 0, m, dec, False, 0, 0))
        for m in range(1, 6)
    ]
    assert steps == sorted(steps, reverse=True)


@pytest.mark.parametrize("backend", ["clock", "loihi-fixed"])
def test_the_compiled_record_check_agrees_with_the_checks_that_name_the_fault(backend):
    """``check_record``'s one compiled pass (no allocation) accepts exactly the records the
    Python checks accept: single in-place edits of every index-bearing field, each to a
    value inside and outside its valid range."""
    from sparse_neuro.neuro.engines import state_check as sc

    sim = make_simulator(backend)
    good = sim.state_dict()
    assert sim.state.queue_len.any(), "the network must have queued input to check"
    rng = np.random.default_rng(7)
    fields = ["last_spike", "pre_last", "post_last", "elig_last", "queue_len", "queue_ids"]
    fields += ["queued", "pre_trace", "post_trace", "eligibility"]
    n_faults = 0
    for trial in range(400):
        key = fields[trial % len(fields)]
        st = sim.state._replace(**{k: good[k].copy() for k in sim.state._fields[1:]})
        a = getattr(st, key)
        if a.size == 0:
            continue
        i = int(rng.integers(a.size))
        flat = a.reshape(-1)
        if a.dtype == np.bool_:
            flat[i] = not flat[i]
        else:
            choices = [-1, 0, 1, st.step, st.step + 1, NEVER, NEVER - 1, a.shape[-1], 10**6]
            flat[i] = choices[int(rng.integers(len(choices)))]
        arr = {k: getattr(st, k) for k in sim._layout}
        try:
            sc._check_stamps(arr, st.step)
            sc._check_queues(arr, sim.plan.model.bounds, buffer=False)  # floats: not per run
            python_ok = True
        except ValueError:
            python_ok = False
        n_faults += not python_ok
        try:
            sc.check_record(st, sim._layout, sim.plan.model.bounds)
            compiled_ok = True
        except ValueError:
            compiled_ok = False
        assert compiled_ok == python_ok, (key, i, flat[i])
    assert 50 < n_faults < 390  # both kinds of case were tried
