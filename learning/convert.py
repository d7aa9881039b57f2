"""Conversion between trained torch models and engine networks, and snntorch import.

torch -> engine (:func:`to_network`, :func:`run_on_engine`)
    The torch LIF (snntorch ``Leaky`` semantics, reset by subtraction)

    .. math:: m_t = \\beta m_{t-1} + x_t - \\vartheta s_{t-1}, \\qquad s_t = H(m_t - \\vartheta)

    maps onto the clock engine's step (decay -> threshold -> delta-synapse arrivals ->
    reset) with ``exp(-dt/tau_mem) == beta`` exactly, ``v_threshold = beta * vartheta``
    and ``v_threshold - v_reset == vartheta`` exactly (both checked in float64): the
    engine's membrane after step ``n`` equals ``m_n`` and the torch spike ``s_t`` of layer
    ``l`` (1 = first hidden layer) appears at engine step ``t + l``. Inputs must be spikes
    (encode real-valued inputs first, :mod:`sparse_neuro.encoders`); they are delivered at step
    ``t`` by a ``SpikeArraySource`` through delay-0 synapses. Run both in float64
    (``model.double()``). Arithmetic differences that remain: the engine adds the weights
    of arriving spikes one by one, torch sums them in a matrix product (~1e-16 relative),
    and compares ``beta * e > beta * vartheta`` instead of ``e > vartheta``; a spike can
    differ only if a membrane lands within ~1 ulp of threshold. Biases map to a
    ``CurrentInjection`` of ``b / (1 - beta)`` (equal up to rounding). Reset to zero has no
    engine counterpart (the engine's reset would discard the same step's input).

snntorch -> ours (:func:`from_snntorch`)
    ``snn.Leaky`` layers with ``nn.Linear`` in an ``nn.Sequential`` or in the common
    explicit-loop module (``fc1, lif1, fc2, lif2, ...`` registered in that order) become a
    :class:`sparse_neuro.neuro.train.models.SpikingMLP` with identical forward spikes and membranes.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from sparse_neuro.neuro.model.inputs import CurrentInjection, SpikeArraySource
from sparse_neuro.neuro.model.lif import LIFParams
from sparse_neuro.neuro.model.network import Network, Population, Projection
from sparse_neuro.neuro.model.record import SpikeMonitor
from sparse_neuro.neuro.model.synapses import SparseSynapses
from sparse_neuro.neuro.train import LIF, SparseLinear, SpikingMLP
from sparse_neuro.neuro.train.surrogate import SurrogateSpike, arctan, fast_sigmoid

__all__ = ["engine_lif_params", "to_network", "run_on_engine", "from_snntorch", "layer_names"]


def engine_lif_params(beta: float, threshold: float, dt_s: float) -> LIFParams:
    """Engine LIF parameters reproducing torch ``LIF(beta, threshold, reset="subtract")``.

    Chooses ``tau_mem_s`` so that ``exp(-dt_s / tau_mem_s) == beta`` bit for bit, and
    ``v_reset`` so that ``v_threshold - v_reset == threshold`` bit for bit.
    """
    if not (0.0 < beta < 1.0):
        raise ValueError(f"beta must be in (0, 1) to map to a finite tau_mem_s, got {beta}")
    if not (threshold > 0):
        raise ValueError(f"threshold must be > 0, got {threshold}")
    tau = -dt_s / math.log(beta)
    for _ in range(1000):
        a = math.exp(-dt_s / tau)
        if a == beta:
            break
        tau = math.nextafter(tau, math.inf if a < beta else 0.0)
    else:
        raise ValueError(f"no tau_mem_s gives exp(-dt/tau) == {beta!r} exactly for dt_s={dt_s}")
    v_th = beta * threshold
    v_reset = v_th - threshold
    for _ in range(1000):
        amt = v_th - v_reset
        if amt == threshold:
            break
        v_reset = math.nextafter(v_reset, -math.inf if amt < threshold else math.inf)
    else:
        raise ValueError(f"no v_reset gives v_threshold - v_reset == {threshold!r} exactly")
    return LIFParams(
        tau_mem_s=tau,
        v_rest=0.0,
        v_reset=v_reset,
        v_threshold=v_th,
        t_ref_s=0.0,
        reset_mode="subtract",
    )


def layer_names(model: SpikingMLP) -> list[str]:
    """Population names used by :func:`to_network`: ``h1, h2, ..., out``."""
    n = len(model.lifs)
    return [f"h{i + 1}" for i in range(n - 1)] + ["out"]


def to_network(
    model: SpikingMLP,
    input_spikes: np.ndarray | None = None,
    dt_s: float = 1e-3,
    input_name: str = "inp",
) -> Network:
    """A :class:`sparse_neuro.neuro.model.network.Network` with the model's weights, thresholds and
    decays.

    Parameters
    ----------
    model : SpikingMLP
        Reset by subtraction; k-WTA layers need ``kwta_losers="hold"`` and no groups.
    input_spikes : ndarray [T, N_in] of 0/1, optional
        One sample's input raster, delivered by a ``SpikeArraySource`` at ``t * dt_s``.
        Without it the source is empty (replace it with ``Network.with_sources``).
    dt_s : float
        Engine step (any positive value: only ``beta`` per step matters).
    """
    if not isinstance(model, SpikingMLP):
        raise TypeError(
            f"model must be a sparse_neuro.neuro.train.models.SpikingMLP, got {type(model).__name__}"
        )
    names = layer_names(model)
    pops, projs, currents = [], [], []
    prev = input_name
    for name, fc, lif in zip(names, model.fcs, model.lifs):
        if lif.reset != "subtract":
            raise ValueError(
                f"layer {name}: reset={lif.reset!r} has no exact engine counterpart; "
                "only reset='subtract' converts"
            )
        if lif.kwta_k is not None and (lif.kwta_groups is not None or lif.kwta_losers != "hold"):
            raise ValueError(
                f"layer {name}: only whole-layer k-WTA with kwta_losers='hold' converts"
            )
        params = engine_lif_params(lif.beta, lif.threshold, dt_s)
        pops.append(
            Population(name, fc.out_features, params, kwta_k=lif.kwta_k, kwta_losers="hold")
        )
        syn = fc.to_synapses()
        projs.append(Projection(prev, name, syn.astype(np.float64)))
        if fc.bias is not None:
            b = fc.bias.detach().cpu().double().numpy()
            if np.any(b != 0):
                currents.append(CurrentInjection(name, b / (1.0 - lif.beta)))
        prev = name
    n_in = model.fcs[0].in_features
    source = _source(input_name, n_in, input_spikes, dt_s)
    return Network(
        populations=pops,
        projections=projs,
        sources=[source],
        currents=currents,
        monitors=[SpikeMonitor(n) for n in names],
    )


def _source(name: str, n_in: int, spikes: np.ndarray | None, dt_s: float) -> SpikeArraySource:
    if spikes is None:
        return SpikeArraySource(name, n_in, np.zeros(0), np.zeros(0, dtype=np.int32))
    s = np.asarray(spikes)
    if s.ndim != 2 or s.shape[1] != n_in:
        raise ValueError(f"input_spikes must be [T, {n_in}], got shape {s.shape}")
    if np.any((s != 0) & (s != 1)):
        raise ValueError(
            "input_spikes must be 0/1 spikes; encode real-valued inputs first (encoders)"
        )
    t, i = np.nonzero(s)
    return SpikeArraySource(name, n_in, t * dt_s, i)


def run_on_engine(
    model: SpikingMLP, input_spikes: np.ndarray, dt_s: float = 1e-3, network: Network | None = None
) -> list[np.ndarray]:
    """Run one sample on the clock engine; spikes per layer realigned to torch time.

    Returns
    -------
    list of ndarray [T, N_l] (bool)
        Hidden layers then output: ``out[l][t]`` is the engine spike of step ``t + l + 1``,
        to compare with the torch spikes ``s_t`` of that layer.
    """
    from sparse_neuro.neuro.engines import simulate

    T = int(np.asarray(input_spikes).shape[0])
    net = to_network(model, None, dt_s) if network is None else network
    net = net.with_sources([_source("inp", model.fcs[0].in_features, input_spikes, dt_s)])
    n_layers = len(model.lifs)
    rec = simulate(net, (T + n_layers) * dt_s, dt_s)
    out = []
    for lag, name in enumerate(layer_names(model), start=1):
        st = rec.spikes[name]
        steps = np.rint(np.asarray(st.times_s) / dt_s).astype(np.int64) - lag
        raster = np.zeros((T, net.size(name)), dtype=bool)
        keep = (steps >= 0) & (steps < T)
        raster[steps[keep], np.asarray(st.indices)[keep]] = True
        out.append(raster)
    return out


# --------------------------------------------------------------------------- snntorch import
def _snn_surrogate(fn) -> SurrogateSpike:
    """Our surrogate equal to an snntorch ``spike_grad`` closure (fast_sigmoid or atan)."""
    qual = getattr(fn, "__qualname__", "")
    cells = (
        {n: c.cell_contents for n, c in zip(fn.__code__.co_freevars, fn.__closure__ or ())}
        if hasattr(fn, "__code__")
        else {}
    )
    if qual.startswith("fast_sigmoid.") and "slope" in cells:
        return fast_sigmoid(float(cells["slope"]))
    if qual.startswith("atan.") and "alpha" in cells:
        return arctan(float(cells["alpha"]))
    raise ValueError(
        f"unsupported snntorch spike_grad {qual or fn!r}: use snntorch.surrogate.fast_sigmoid "
        "or snntorch.surrogate.atan (the default)"
    )


def from_snntorch(model: nn.Module, n_steps: int = 25) -> SpikingMLP:
    """Import an snntorch model of alternating ``nn.Linear`` / ``snn.Leaky`` layers.

    Works for an ``nn.Sequential`` and for explicit-loop modules whose Linear and Leaky
    submodules are registered in forward order (``fc1, lif1, fc2, lif2``). Weights are
    copied (dense pattern), biases kept, ``beta``/``threshold``/reset/surrogate matched.

    Raises
    ------
    ValueError
        Other layer types, non-scalar ``beta``/``threshold``, reset ``"none"``, graded
        spikes, inhibition, state quantisation, ``reset_delay=False``.
    """
    import snntorch as snn

    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, snn.Leaky))]
    others = [
        type(m).__name__
        for m in model.modules()
        if not isinstance(m, (nn.Linear, snn.Leaky, nn.Sequential))
        and m is not model
        and not isinstance(m, (nn.Flatten, nn.Identity))
    ]
    if others:
        raise ValueError(f"unsupported layer types for import: {sorted(set(others))}")
    if len(layers) < 2 or len(layers) % 2:
        raise ValueError("expected alternating nn.Linear, snn.Leaky layers")
    fcs, lifs = layers[0::2], layers[1::2]
    if not all(isinstance(f, nn.Linear) for f in fcs) or not all(
        isinstance(l, snn.Leaky) for l in lifs
    ):
        raise ValueError(
            "expected alternating nn.Linear, snn.Leaky layers (in registration order), got "
            + ", ".join(type(m).__name__ for m in layers)
        )
    sizes = [fcs[0].in_features] + [f.out_features for f in fcs]
    dtype = fcs[0].weight.dtype
    out = SpikingMLP(sizes, n_steps=n_steps)
    for i, (fc, lk) in enumerate(zip(fcs, lifs)):
        if fc.in_features != sizes[i]:
            raise ValueError(
                f"layer {i}: in_features {fc.in_features} != previous width {sizes[i]}"
            )
        beta = lk.beta.detach().clamp(0, 1)
        thr = lk.threshold.detach() if torch.is_tensor(lk.threshold) else torch.tensor(lk.threshold)
        if beta.numel() != 1 or thr.numel() != 1:
            raise ValueError(f"layer {i}: only scalar beta and threshold import")
        mech = {"subtract": "subtract", "zero": "value"}.get(lk.reset_mechanism)  # our words
        if mech is None:
            raise ValueError(f"layer {i}: reset_mechanism 'none' is not supported")
        if (
            lk.inhibition
            or lk.state_quant
            or not lk.reset_delay
            or float(torch.as_tensor(lk.graded_spikes_factor)) != 1.0
        ):
            raise ValueError(
                f"layer {i}: inhibition, state_quant, graded spikes and "
                "reset_delay=False are not supported"
            )
        w = fc.weight.detach().cpu().numpy().T
        syn = SparseSynapses.fixed_probability(
            fc.in_features, fc.out_features, 1.0, weight=w, dtype=w.dtype.type
        )
        out.fcs[i] = SparseLinear(syn, bias=fc.bias is not None, kernel="dense")
        if fc.bias is not None:
            with torch.no_grad():
                out.fcs[i].bias.copy_(fc.bias.detach())
        out.lifs[i] = LIF(float(beta), float(thr), _snn_surrogate(lk.spike_grad), mech)
    return out.to(dtype)
