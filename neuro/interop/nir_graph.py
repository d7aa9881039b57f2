"""Trained torch models to and from NIR graphs (the neuromorphic intermediate representation).

NIR's ``LIF`` is continuous-time, ``tau dv/dt = (v_leak - v) + r I``, with a reset to
``v_reset`` after ``v > v_threshold``. Our torch layers are discrete-time (one decay
``beta`` per step), so a time step ``dt`` is needed both ways. We use the convention of
snntorch's own NIR export and import (forward Euler, ``dt = 1e-4`` s unless the graph says
otherwise), so that a graph means the same thing to snntorch, to norse and to us:

.. math::

    \\tau = \\frac{dt}{1 - \\beta}, \\qquad r = \\frac{\\tau}{dt}, \\qquad
    v_{leak} = 0, \\qquad v_{threshold} = \\vartheta, \\qquad v_{reset} = 0

and back ``beta = 1 - dt / tau``, input scale ``r dt / tau`` (1 in this convention; any
other uniform value is folded into the incoming weights). ``tau`` is nudged by ulps so that
``1 - dt/tau`` gives ``beta`` back bit for bit. Our graphs store ``dt`` in
``graph.metadata["neuro.dt_s"]`` and the model's ``n_steps`` in ``"neuro.n_steps"``.

Projections are ``nir.Linear`` (``nir.Affine`` with a bias), weight ``[out, in]``; a sparse
projection is its dense matrix with zeros and ``metadata["neuro.sparse"] = True`` (back: the
nonzero entries are the connectivity pattern).

Semantics that NIR cannot say are documented extensions in node metadata, honoured by
:func:`from_nir` and ignored by other tools (a ``UserWarning`` says so on export):

* ``"neuro.reset": "subtract"`` -- reset by subtraction (NIR resets to ``v_reset``; other
  tools run such a layer with reset to zero, so only ``reset="value"`` models give the same
  spikes elsewhere);
* ``"neuro.kwta_k"``, ``"neuro.kwta_groups"``, ``"neuro.kwta_losers"`` -- k-WTA.

Reset to zero is spike-identical across tools: snntorch imports NIR ``LIF`` as
``Leaky(reset_mechanism="zero", reset_delay=False)`` whose spikes equal our
``LIF(reset="value")`` (reset to zero); norse integrates ``v + (dt/tau)(x - v)`` (the same Euler step in a
different order of operations, so spikes agree except when a membrane lands within
rounding of threshold) and ignores ``r`` (fold it into the weights, see
:func:`fold_input_scale`).

Engine networks (:class:`sparse_neuro.neuro.model.network.Network`) are exported in continuous time
by :mod:`sparse_neuro.neuro.interop.nir_network` (graph metadata ``neuro.kind = "network"``).
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any

import numpy as np
import torch

from sparse_neuro.neuro.model.synapses import SparseSynapses
from sparse_neuro.neuro.train import LIF, SparseLinear, SpikingMLP

__all__ = ["DEFAULT_DT_S", "to_nir", "from_nir", "fold_input_scale"]

DEFAULT_DT_S = 1e-4
"""snntorch's NIR time step: graphs without ``neuro.dt_s`` are read with it."""


def _tau_for_beta(beta: float, dt_s: float) -> float:
    """``tau`` with ``1 - dt/tau == beta`` exactly (the import formula gives beta back)."""
    if not (0.0 < beta < 1.0):
        raise ValueError(f"beta must be in (0, 1) to map to a finite NIR tau, got {beta}")
    tau = dt_s / (1.0 - beta)
    for _ in range(64):
        b = 1.0 - dt_s / tau
        if b == beta:
            return tau
        tau = math.nextafter(tau, math.inf if b < beta else 0.0)
    raise ValueError(f"no tau gives 1 - dt/tau == {beta!r} exactly for dt_s={dt_s}")


def to_nir(model_or_network: Any, *, dt_s: float | None = None) -> Any:
    """Export a trained :class:`sparse_neuro.neuro.train.models.SpikingMLP` or a
    :class:`sparse_neuro.neuro.model.network.Network`.

    Parameters
    ----------
    model_or_network : SpikingMLP or Network
        See the module docstrings (:mod:`sparse_neuro.neuro.interop.nir_graph`,
        :mod:`sparse_neuro.neuro.interop.nir_network`) for the mappings.
    dt_s : float, optional
        Model: the time step the discrete model stands for (default snntorch's 1e-4 s).
        Network: the simulation step its delays are counted in (needed only with delays).

    Returns
    -------
    nir.NIRGraph
        Model: nodes ``input, fc0, lif0, fc1, lif1, ..., output`` in a chain.
    """
    from sparse_neuro.neuro.interop.nir_network import network_to_nir
    from sparse_neuro.neuro.model.network import Network

    if dt_s is not None and not (
        isinstance(dt_s, (int, float)) and math.isfinite(dt_s) and dt_s > 0
    ):
        raise ValueError(f"dt_s must be a finite number > 0, got {dt_s!r}")
    if isinstance(model_or_network, Network):
        if dt_s is None and any(pr.synapses.max_delay for pr in model_or_network.projections):
            raise ValueError(
                "the network has delays, counted in steps: pass dt_s (the simulation step)"
            )
        return network_to_nir(model_or_network, math.nan if dt_s is None else dt_s)
    if not isinstance(model_or_network, SpikingMLP):
        raise TypeError(
            f"to_nir expects a sparse_neuro.neuro.train.models.SpikingMLP or a sparse_neuro.neuro.model.network.Network, "
            f"got {type(model_or_network).__name__}"
        )
    return _mlp_to_nir(model_or_network, DEFAULT_DT_S if dt_s is None else float(dt_s))


def _mlp_to_nir(model: SpikingMLP, dt_s: float) -> Any:
    import nir

    nodes: dict[str, Any] = {"input": nir.Input(input_type=np.array([model.sizes[0]]))}
    names = ["input"]
    for i, (fc, lif) in enumerate(zip(model.fcs, model.lifs)):
        w = fc.dense_weight().detach().cpu().numpy().T.copy()
        meta = {"neuro.sparse": True} if fc.weight.numel() < w.size else {}
        nodes[f"fc{i}"] = (
            nir.Affine(weight=w, bias=fc.bias.detach().cpu().numpy().copy(), metadata=meta)
            if fc.bias is not None
            else nir.Linear(weight=w, metadata=meta)
        )
        n = fc.out_features
        tau = _tau_for_beta(lif.beta, dt_s)
        ext: dict[str, Any] = {}
        if lif.reset == "subtract":
            ext["neuro.reset"] = "subtract"
        if lif.kwta_k is not None:
            ext.update({"neuro.kwta_k": lif.kwta_k, "neuro.kwta_losers": lif.kwta_losers})
            if lif.kwta_groups is not None:
                ext["neuro.kwta_groups"] = lif.kwta_groups
        if ext:
            warnings.warn(
                f"layer {i}: {sorted(ext)} are neuro extensions of NIR, kept in node metadata; "
                "other tools ignore them and run reset-to-zero LIF without k-WTA",
                stacklevel=3,
            )
        nodes[f"lif{i}"] = nir.LIF(
            tau=np.full(n, tau),
            r=np.full(n, tau / dt_s),
            v_leak=np.zeros(n),
            v_threshold=np.full(n, lif.threshold),
            v_reset=np.zeros(n),
            metadata=ext,
        )
        names += [f"fc{i}", f"lif{i}"]
    nodes["output"] = nir.Output(output_type=np.array([model.sizes[-1]]))
    names.append("output")
    return nir.NIRGraph(
        nodes=nodes,
        edges=list(zip(names[:-1], names[1:])),
        metadata={"neuro.dt_s": float(dt_s), "neuro.n_steps": model.n_steps},
    )


def _chain(graph: Any) -> list[str]:
    """Node names from the single input to the single output; error for anything else."""
    import nir

    inputs = [k for k, v in graph.nodes.items() if isinstance(v, nir.Input)]
    nxt: dict[str, str] = {}
    for a, b in graph.edges:
        if a in nxt:
            raise ValueError(
                f"from_nir reads feed-forward chains; node {a!r} has several successors"
            )
        nxt[a] = b
    if len(inputs) != 1:
        raise ValueError(f"from_nir needs exactly one nir.Input node, got {inputs}")
    order = [inputs[0]]
    while order[-1] in nxt:
        if nxt[order[-1]] in order:
            raise ValueError(
                f"from_nir reads feed-forward chains; recurrent edge into {nxt[order[-1]]!r}"
            )
        order.append(nxt[order[-1]])
    return order


def _uniform(node_name: str, field: str, value: Any) -> float:
    v = np.unique(np.asarray(value, dtype=np.float64))
    if v.size != 1:
        raise ValueError(
            f"node {node_name!r}: {field} must be the same for every neuron, got {v.size} values"
        )
    return float(v[0])


def from_nir(
    graph: Any,
    *,
    dt_s: float | None = None,
    n_steps: int | None = None,
    as_network: bool | None = None,
) -> SpikingMLP | Any:
    """Import a NIR graph as a torch model, or as an engine
    :class:`~sparse_neuro.neuro.model.network.Network`.

    A torch model is read from a feed-forward chain ``Input -> (Linear|Affine -> LIF)+ ->
    Output``; a network from any graph of Input, Delay, Linear, LIF, CubaLIF and Output
    nodes (:func:`sparse_neuro.neuro.interop.nir_network.network_from_nir`).

    Parameters
    ----------
    graph : nir.NIRGraph or path
        E.g. from :func:`to_nir` or ``snntorch.export_nir.export_to_nir``; a path is read
        with :func:`sparse_neuro.neuro.interop.nir_file.read_nir` (safer than ``nir.read``: no
        links, no external storage, sizes checked).
    dt_s : float, optional
        Time step; default the graph's ``neuro.dt_s``, else snntorch's 1e-4 s.
    n_steps : int, optional
        ``SpikingMLP.n_steps`` for static inputs; default the graph's, else 25.
    as_network : bool, optional
        Read as a Network; default: when the graph's ``neuro.kind`` metadata is ``"network"``.

    Returns
    -------
    SpikingMLP or Network
        With ``beta = 1 - dt/tau``, threshold ``v_threshold``, reset to zero unless the
        ``neuro.reset`` extension says ``"subtract"``; weights in the graph's dtype.

    Raises
    ------
    ValueError
        Other node types (e.g. ``CubaLIF``, convolutions), branches or recurrence,
        non-uniform or nonzero ``v_leak``/``v_reset``, per-neuron ``tau``/threshold.
    """
    import nir

    from sparse_neuro.neuro.interop.nir_file import read_nir
    from sparse_neuro.neuro.interop.nir_network import network_from_nir

    if isinstance(graph, (str, os.PathLike)):
        graph = read_nir(graph)
    if as_network or (as_network is None and graph.metadata.get("neuro.kind") == "network"):
        return network_from_nir(graph, dt_s)
    dt = float(graph.metadata.get("neuro.dt_s", DEFAULT_DT_S)) if dt_s is None else float(dt_s)
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt_s must be a finite number > 0, got {dt}")
    steps = int(graph.metadata.get("neuro.n_steps", 25)) if n_steps is None else int(n_steps)
    order = _chain(graph)
    body = [graph.nodes[k] for k in order[1:]]
    if body and isinstance(body[-1], nir.Output):
        body = body[:-1]
    if not body or len(body) % 2:
        raise ValueError(
            "expected alternating Linear/Affine and LIF nodes between Input and Output"
        )
    fcs, lifs = [], []
    for k, (proj, neuron) in enumerate(zip(body[0::2], body[1::2])):
        pname, lname = order[1 + 2 * k], order[2 + 2 * k]
        if not isinstance(proj, (nir.Linear, nir.Affine)):
            raise ValueError(
                f"node {pname!r}: expected nir.Linear or nir.Affine, got {type(proj).__name__}"
            )
        if not isinstance(neuron, nir.LIF):
            raise ValueError(
                f"node {lname!r}: {type(neuron).__name__} is not supported by the torch "
                "layers (only nir.LIF)"
            )
        tau = _uniform(lname, "tau", neuron.tau)
        scale = _uniform(lname, "r", neuron.r) * dt / tau
        for field in ("v_leak", "v_reset"):
            val = getattr(neuron, field)
            if val is not None and _uniform(lname, field, val) != 0.0:
                raise ValueError(
                    f"node {lname!r}: {field} must be 0 (our LIF rests and resets at 0)"
                )
        w = np.asarray(proj.weight)
        w = w * w.dtype.type(scale) if scale != 1.0 else w  # r dt/tau folded into the weights
        syn = (
            SparseSynapses.from_dense(w.T)
            if proj.metadata.get("neuro.sparse")
            else SparseSynapses.fixed_probability(
                w.shape[1], w.shape[0], 1.0, weight=w.T, dtype=w.dtype.type
            )
        )
        fc = SparseLinear(syn, bias=isinstance(proj, nir.Affine), kernel="dense")
        if isinstance(proj, nir.Affine):
            with torch.no_grad():
                fc.bias.copy_(torch.from_numpy(np.asarray(proj.bias, dtype=w.dtype) * scale))
        m = neuron.metadata
        lifs.append(
            LIF(
                1.0 - dt / tau,
                _uniform(lname, "v_threshold", neuron.v_threshold),
                reset=m.get("neuro.reset", "value"),
                kwta_k=m.get("neuro.kwta_k"),
                kwta_groups=m.get("neuro.kwta_groups"),
                kwta_losers=m.get("neuro.kwta_losers", "hold"),
            )
        )
        fcs.append(fc)
    sizes = [fcs[0].in_features] + [f.out_features for f in fcs]
    model = SpikingMLP(sizes, n_steps=steps)
    model.fcs = torch.nn.ModuleList(fcs)
    model.lifs = torch.nn.ModuleList(lifs)
    return model.to(fcs[0].weight.dtype)


def fold_input_scale(graph: Any) -> Any:
    """A copy of a :func:`to_nir` chain with each LIF's ``r`` folded into its incoming weights
    and ``r = 1``: for tools that ignore ``r`` (norse), which then apply ``dt/tau`` themselves."""
    import nir

    nodes = dict(graph.nodes)
    order = _chain(graph)
    for a, b in zip(order[:-1], order[1:]):
        proj, neuron = nodes[a], nodes[b]
        if isinstance(neuron, nir.LIF) and isinstance(proj, (nir.Linear, nir.Affine)):
            r = np.asarray(neuron.r)
            w = np.asarray(proj.weight) * r[:, None].astype(np.asarray(proj.weight).dtype)
            nodes[a] = (
                nir.Affine(weight=w, bias=np.asarray(proj.bias) * r, metadata=proj.metadata)
                if isinstance(proj, nir.Affine)
                else nir.Linear(weight=w, metadata=proj.metadata)
            )
            nodes[b] = nir.LIF(
                tau=neuron.tau,
                r=np.ones_like(r),
                v_leak=neuron.v_leak,
                v_threshold=neuron.v_threshold,
                v_reset=neuron.v_reset,
                metadata=neuron.metadata,
            )
    return nir.NIRGraph(nodes=nodes, edges=list(graph.edges), metadata=dict(graph.metadata))
