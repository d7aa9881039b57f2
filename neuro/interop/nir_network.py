"""Engine networks (:class:`sparse_neuro.neuro.model.network.Network`) to and from NIR graphs, in
continuous time.

NIR's neuron equations are continuous-time like ours (:mod:`sparse_neuro.neuro.model.lif`), so no
discretisation convention is needed; our engines integrate them exactly at their ``dt``.
With synaptic input a sum of Dirac spikes of weight ``w``:

* delta synapses (``tau_syn_s == ()``) -> ``nir.LIF(tau=tau_mem, r=tau_mem,
  v_leak=v_rest + bias, v_threshold, v_reset)``: ``tau dv/dt = (v_leak - v) + r I`` makes
  a spike move ``v`` by ``r w / tau = w``, our delta synapse;
* one exponential channel -> ``nir.CubaLIF(tau_syn, tau_mem, r=1, w_in=tau_syn, ...)``:
  the current jumps by ``w_in w / tau_syn = w``, as ours (several channels: an error, NIR's
  CubaLIF has one);
* a projection -> ``nir.Linear`` (weight ``[post, pre]``, ``neuro.sparse`` metadata when not
  all-to-all); delays that depend only on the presynaptic neuron -> a ``nir.Delay`` node
  before it (seconds = steps x ``dt_s``); other delay patterns are an error;
* a source -> ``nir.Input`` (its spikes are data, supplied when the graph is run: after
  :func:`network_from_nir` the sources are empty ``SpikeArraySource`` s, replace them with
  :meth:`Network.with_sources`); every spike-monitored population -> a ``nir.Output``.

Extensions in node metadata (honoured here, ignored elsewhere): ``neuro.t_ref_s``,
``neuro.reset`` (``"subtract"``), ``neuro.kwta_k`` / ``neuro.kwta_losers``,
``neuro.v_init``. Plasticity, threshold adaptation, current injections and Poisson drives
have no NIR form: :func:`network_to_nir` raises a ``ValueError`` naming them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sparse_neuro.neuro.model.inputs import SpikeArraySource
from sparse_neuro.neuro.model.lif import LIFParams
from sparse_neuro.neuro.model.network import Network, Population, Projection
from sparse_neuro.neuro.model.record import SpikeMonitor
from sparse_neuro.neuro.model.synapses import SparseSynapses

__all__ = ["network_to_nir", "network_from_nir"]


def _neuron_node(pop: Population) -> Any:
    import nir

    p, n = pop.params, pop.size
    if pop.adaptation is not None:
        raise ValueError(f"population {pop.name!r}: threshold adaptation has no NIR form")
    full = lambda v: np.full(n, float(v))  # noqa: E731
    ext: dict[str, Any] = {}
    if p.t_ref_s > 0:
        ext["neuro.t_ref_s"] = p.t_ref_s
    if p.reset_mode == "subtract":
        ext["neuro.reset"] = "subtract"
    if pop.kwta_k is not None:
        ext.update({"neuro.kwta_k": int(pop.kwta_k), "neuro.kwta_losers": pop.kwta_losers})
    if not np.all(pop.v_init == p.v_inf):  # an import starts at v_leak (= our v_rest + bias)
        ext["neuro.v_init"] = pop.v_init.tolist()
    common = dict(
        v_leak=full(p.v_inf), v_threshold=full(p.v_threshold), v_reset=full(p.v_reset), metadata=ext
    )
    if p.n_channels == 0:
        return nir.LIF(tau=full(p.tau_mem_s), r=full(p.tau_mem_s), **common)
    if p.n_channels == 1:
        ts = p.tau_syn_s[0]
        return nir.CubaLIF(
            tau_syn=full(ts), tau_mem=full(p.tau_mem_s), r=full(1.0), w_in=full(ts), **common
        )
    raise ValueError(
        f"population {pop.name!r}: {p.n_channels} synaptic channels; NIR's CubaLIF has one"
    )


def _pre_delays(pr: Projection) -> np.ndarray | None:
    """Delay (steps) of each presynaptic neuron, or None when there are none."""
    syn = pr.synapses
    if syn.max_delay == 0:
        return None
    pre = syn.pre_indices()
    d = np.zeros(syn.n_pre, dtype=np.int64)
    d[pre] = syn.delays
    if not np.array_equal(d[pre], syn.delays):
        raise ValueError(
            f"projection {pr.name}: NIR can say delays per presynaptic neuron (a Delay node), "
            "not per synapse"
        )
    return d


def network_to_nir(net: Network, dt_s: float) -> Any:
    """A ``nir.NIRGraph`` of ``net`` (see the module docstring); ``dt_s`` converts delays."""
    import nir

    if net.currents or net.drives:
        raise ValueError(
            "current injections and PoissonInput drives have no NIR form; remove them first"
        )
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    for s in net.sources:
        nodes[s.name] = nir.Input(input_type=np.array([s.size]))
    for p in net.populations:
        nodes[p.name] = _neuron_node(p)
    for k, pr in enumerate(net.projections):
        if pr.plasticity is not None:
            raise ValueError(
                f"projection {pr.name}: plasticity has no NIR form; export the learned weights"
            )
        syn = pr.synapses
        meta = {} if syn.n_synapses == syn.n_pre * syn.n_post else {"neuro.sparse": True}
        nodes[f"proj{k}"] = nir.Linear(weight=syn.to_dense().T.copy(), metadata=meta)
        pre = pr.source
        d = _pre_delays(pr)
        if d is not None:
            nodes[f"delay{k}"] = nir.Delay(delay=d * float(dt_s))
            edges.append((pre, f"delay{k}"))
            pre = f"delay{k}"
        edges += [(pre, f"proj{k}"), (f"proj{k}", pr.target)]
    for name in net.spike_monitored():
        if name in {p.name for p in net.populations}:
            nodes[f"{name}_out"] = nir.Output(output_type=np.array([net.size(name)]))
            edges.append((name, f"{name}_out"))
    return nir.NIRGraph(
        nodes=nodes, edges=edges, metadata={"neuro.kind": "network", "neuro.dt_s": float(dt_s)}
    )


def _one(node_name: str, field: str, value: Any) -> float:
    v = np.unique(np.asarray(value, dtype=np.float64))
    if v.size != 1:
        raise ValueError(f"node {node_name!r}: {field} must be the same for every neuron")
    return float(v[0])


def _population(name: str, node: Any) -> tuple[Population, float]:
    """The population and the factor from NIR weights to ours (1 for our own exports)."""
    import nir

    m = node.metadata
    common = dict(
        v_rest=_one(name, "v_leak", node.v_leak),
        v_threshold=_one(name, "v_threshold", node.v_threshold),
        v_reset=0.0 if node.v_reset is None else _one(name, "v_reset", node.v_reset),
        t_ref_s=float(m.get("neuro.t_ref_s", 0.0)),
        reset_mode="subtract" if m.get("neuro.reset") == "subtract" else "value",
    )
    if isinstance(node, nir.LIF):
        tau = _one(name, "tau", node.tau)
        params, scale = LIFParams(tau_mem_s=tau, **common), _one(name, "r", node.r) / tau
    elif isinstance(node, nir.CubaLIF):
        ts = _one(name, "tau_syn", node.tau_syn)
        params = LIFParams(tau_mem_s=_one(name, "tau_mem", node.tau_mem), tau_syn_s=(ts,), **common)
        scale = _one(name, "r", node.r) * _one(name, "w_in", node.w_in) / ts
    else:
        raise ValueError(
            f"node {name!r}: {type(node).__name__} is not a supported neuron (LIF, CubaLIF)"
        )
    size = int(np.asarray(node.v_threshold).size)
    pop = Population(
        name,
        size,
        params,
        v_init=m.get("neuro.v_init"),
        kwta_k=m.get("neuro.kwta_k"),
        kwta_losers=m.get("neuro.kwta_losers", "reset"),
    )
    return pop, scale


def network_from_nir(graph: Any, dt_s: float | None = None) -> Network:
    """A :class:`Network` from a graph of Input / Delay / Linear / LIF / CubaLIF / Output nodes."""
    import nir

    dt = float(graph.metadata.get("neuro.dt_s", math.nan)) if dt_s is None else float(dt_s)
    preds: dict[str, list[str]] = {}
    for a, b in graph.edges:
        preds.setdefault(b, []).append(a)
    sources, pops, scales, projs, monitors = [], {}, {}, [], []
    for name, node in graph.nodes.items():
        if isinstance(node, nir.Input):
            size = int(np.prod(np.asarray(list(node.input_type.values())[0])))
            sources.append(SpikeArraySource(name, size, np.zeros(0), np.zeros(0, dtype=np.int32)))
        elif isinstance(node, (nir.LIF, nir.CubaLIF)):
            pops[name], scales[name] = _population(name, node)
        elif isinstance(node, nir.Output):
            monitors += [SpikeMonitor(p) for p in preds.get(name, [])]
        elif not isinstance(node, (nir.Linear, nir.Affine, nir.Delay)):
            raise ValueError(f"node {name!r}: {type(node).__name__} is not supported for networks")
    for name, node in graph.nodes.items():
        if not isinstance(node, (nir.Linear, nir.Affine)):
            continue
        if isinstance(node, nir.Affine) and np.any(np.asarray(node.bias) != 0):
            raise ValueError(f"node {name!r}: a bias on a projection has no engine form")
        (pre,) = preds[name]
        targets = [b for a, b in graph.edges if a == name]
        if len(targets) != 1 or targets[0] not in pops:
            raise ValueError(f"node {name!r} must feed exactly one LIF/CubaLIF node, got {targets}")
        delay = 0
        if isinstance(graph.nodes[pre], nir.Delay):
            steps = np.asarray(graph.nodes[pre].delay, dtype=np.float64) / dt
            delay = np.rint(steps).astype(np.int64)
            if not np.allclose(steps, delay, rtol=0, atol=1e-6):
                raise ValueError(f"node {pre!r}: delays are not whole steps of dt_s={dt}")
            (pre,) = preds[pre]
        w = np.asarray(node.weight).T * scales[targets[0]]
        d = np.broadcast_to(np.asarray(delay)[:, None] if np.ndim(delay) else delay, w.shape)
        projs.append(Projection(pre, targets[0], SparseSynapses.from_dense(w, d)))
    return Network(
        populations=list(pops.values()), projections=projs, sources=sources, monitors=monitors
    )
