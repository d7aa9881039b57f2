"""Loihi calibration: the hardware model against energy and time measured on Loihi, with one
parameter set, and the full-scale cortical microcircuit mapped on a multi-chip system.

**Measured workloads.** Blouw et al. 2019 (arXiv:1812.01739) measured on a Loihi chip
(Wolf Mountain board, supply rails VDD + VDDM) the keyword spotter (390 inputs, two
hidden layers of 256, 29 outputs; input layer on 2 cores) and seven *scaled* networks of
the same I/O (input layer spread over 8 cores, ``n_copies`` branches of 10 layers of 256
between the hidden layers, random weights). Their published logs (github abr/power_benchmarks,
``logs/``) give the chip power every ~0.4 s and the inference count and run time of every
run; :data:`WORKLOADS` holds the per-inference figures computed from those logs with the
paper's own method (``analysis/analysis.py``): inference time = run time / inferences;
dynamic energy = (mean running power - mean idle power) x inference time, averaged over the
runs (5 for the keyword spotter, 3 per scaled network). The keyword spotter reproduces the
paper's Table 1 (0.27 mJ, 296 inferences/s). Every inference is 10 algorithmic steps: the
scaled runs' logged command streams 20,000 steps for 2,000 inferences.

**Rebuilt here.** Each network is rebuilt with the published topology and core allocation
(``l0``, the input layer, on 2 or 8 cores), random weights ``2 N(0, 1) / sqrt(fan-in)``
(the trained / uniform weights are not reproduced; an assumption), LIF neurons (20 ms,
2 ms refractory), input spikes with probability ``input_rate`` per channel and step (an
assumption), and run for ``n_inferences`` inferences of 10 steps of 1 ms on the
event-queue backend. Each run is costed with the ``loihi_measured`` preset.

**One parameter set.** Per-operation figures are SANA-FE's calibrated Loihi model and the
static power is Blouw et al.'s idle measurement (see :mod:`sparse_neuro.hardware_models.loihi`); the
three host terms -- host time per step, host time per input message, host power while
running -- are *fitted* here on two workloads (``fit``: the keyword spotter and the N = 0
scaled network, which differ only in the input layer's cores) and then predict the other
six (``held-out``). The fit is reported beside the preset's constants; the table uses the
preset.

**Microcircuit.** Potjans & Diesmann 2014 (77,169 neurons; population sizes, connection
probabilities and mean full-scale rates from NEST's microcircuit example,
``pynest/examples/Potjans_2014/network_params.py``; synapse counts by their Eq. 1,
``K = log(1 - p) / log(1 - 1 / (N_pre N_post))``) is placed by counts
(:func:`sparse_neuro.hardware_models.place_counts`, nothing materialised) on Pohoiki Springs, and
its energy per synaptic event at real time (dt = 0.1 ms) is reported. External Poisson drive
(``K_ext``) is assumed generated on-core (Loihi's noise/bias) and not routed. With one input
axon per presynaptic neuron, an L2/3 excitatory neuron alone needs ~5,000 input axons and
(its ~4,500 targets on distinct cores) output axons, more than a Loihi core's 4,096: the
circuit does not fit as specified. The experiment records that error (``limit_error``) and
then maps it on a hypothetical system with 8,192 input and output axons per core (named
``<system>_8k_axons``), everything else unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sparse_neuro.hardware_models import (
    EnergyReport,
    EventQueueSimulator,
    LoihiCounters,
    MappingError,
    NetworkCounts,
    PopulationCount,
    ProjectionCount,
    place,
    place_counts,
    preset,
)
from sparse_neuro.neuro import (
    LIFParams,
    Network,
    Population,
    Projection,
    SparseSynapses,
    SpikeArraySource,
    SpikeMonitor,
)
from sparse_neuro.neuro.model.validation import check_field_types

__all__ = [
    "Config",
    "run",
    "SMOKE",
    "QUICK",
    "WORKLOADS",
    "Workload",
    "PUBLISHED_PER_EVENT",
    "PUBLISHED_SOURCE",
    "scaled_kws_network",
    "fit_host_terms",
    "microcircuit_counts",
]

DT = 1e-3
STEPS_PER_INFERENCE = 10
SOURCE = (
    "Blouw et al. 2019, arXiv:1812.01739, Table 1 and logs in github abr/power_benchmarks "
    "(logs/running, logs/idle; per-inference figures computed with their analysis.py)"
)


@dataclass(frozen=True)
class Workload:
    """A network measured on Loihi: topology, input-layer cores, measured figures."""

    name: str
    n_copies: int
    n_layers: int
    input_cores: int
    measured_energy_uj: float  # dynamic: running minus idle power, per inference
    measured_total_energy_uj: float  # running power, per inference
    measured_time_us: float
    role: str  # "fit" or "held-out"


WORKLOADS = (
    Workload("kws", 0, 0, 2, 271.6, 371.7, 3373.0, "fit"),
    Workload("scaled_n0", 0, 0, 8, 620.4, 854.3, 7947.0, "fit"),
    Workload("scaled_n1", 1, 10, 8, 681.3, 940.9, 8717.0, "held-out"),
    Workload("scaled_n2", 2, 10, 8, 704.1, 961.7, 8745.0, "held-out"),
    Workload("scaled_n4", 4, 10, 8, 734.1, 993.0, 8748.0, "held-out"),
    Workload("scaled_n6", 6, 10, 8, 768.5, 1026.1, 8747.0, "held-out"),
    Workload("scaled_n8", 8, 10, 8, 802.1, 1060.8, 8775.0, "held-out"),
    Workload("scaled_n10", 10, 10, 8, 835.9, 1094.9, 8772.0, "held-out"),
)


@dataclass(frozen=True)
class Config:
    """Parameters of the calibration experiment."""

    n_inferences: int = 3
    input_rate: float = 0.1
    max_copies: int = 10
    microcircuit_dt_s: float = 1e-4
    system: str = "pohoiki_springs"

    def __post_init__(self) -> None:
        check_field_types(self)  # kwta_k=2.9 or n="3" would pass the range checks
        if int(self.n_inferences) < 1:
            raise ValueError(f"n_inferences must be an integer >= 1, got {self.n_inferences}")
        if not 0 < self.input_rate <= 1:
            raise ValueError(f"input_rate must be in (0, 1], got {self.input_rate}")
        if int(self.max_copies) < 0:
            raise ValueError(f"max_copies must be >= 0, got {self.max_copies}")
        if not self.microcircuit_dt_s > 0:
            raise ValueError(f"microcircuit_dt_s must be > 0, got {self.microcircuit_dt_s}")
        preset(self.system)


#: Published performance of the full-scale microcircuit on other platforms, as compiled by
#: Senk et al. 2026 (Neuromorph. Comput. Eng. 6:012001; table in github
#: INM-6/microcircuit-PD14-model, docs/benchmarking/figures/performance_summary.md, commit
#: aea422a): (study, platform, real-time factor, energy per synaptic event in uJ measured
#: at the power outlet). Knight et al. 2021 (no energy figure) is left out.
PUBLISHED_PER_EVENT = (
    ("van Albada et al. 2018", "NEST, 12 nodes 2x Xeon E5-2680v3", 2.465, 9.941),
    ("van Albada et al. 2018", "NEST, 3 nodes 2x Xeon E5-2680v3", 4.584, 5.816),
    ("van Albada et al. 2018", "SpiNNaker 1, 6 boards", 20.0, 4.4),
    ("Knight & Nowotny 2018", "GeNN, Tesla V100", 1.838, 0.47),
    ("Rhodes et al. 2019", "SpiNNaker 1, DC drive", 1.0, 0.601),
    ("Rhodes et al. 2019", "SpiNNaker 1, Poisson drive", 1.0, 0.628),
    ("Golosio et al. 2021", "NEST GPU, RTX 2080 Ti", 1.055, 0.25),
    ("Heittmann et al. 2022", "CsNN, IBM INC-3000 (345 nodes)", 0.25, 0.284),
    ("Kurth et al. 2022", "NEST, 2 nodes 2x AMD EPYC 7702", 0.53, 0.48),
    ("Kurth et al. 2022", "NEST, 1 node 2x AMD EPYC 7702", 0.67, 0.33),
    ("Golosio et al. 2023", "NEST GPU, RTX 4090", 0.386, 0.104),
    ("Golosio et al. 2023", "GeNN, RTX 4090", 0.272, 0.074),
    ("Kauth et al. 2023", "neuroAIx, 35 NetFPGA SUME", 0.05, 0.048),
)
PUBLISHED_SOURCE = (
    "Senk et al. 2026, Neuromorph. Comput. Eng. 6:012001 (compilation; github "
    "INM-6/microcircuit-PD14-model docs/benchmarking/figures/performance_summary.md)"
)

SMOKE = {"n_inferences": 1, "max_copies": 1}
QUICK = {"n_inferences": 2, "max_copies": 4}


# ---------------------------------------------------------------------- networks
def scaled_kws_network(
    seed: int, n_copies: int, n_layers: int, n_in: int = 390, width: int = 256, n_out: int = 29
) -> Network:
    """Blouw et al.'s scaled keyword-spotter topology (``n_copies = 0``: the keyword spotter).

    ``inp`` (source) -> ``l0`` -> ``n_copies`` branches of ``n_layers`` layers -> ``l1`` ->
    ``out``; without branches ``l0`` feeds ``l1`` directly. Dense projections, weights
    ``2 N(0, 1) / sqrt(fan-in)``, delta synapses.
    """
    rng = np.random.default_rng(seed)
    p = LIFParams(tau_mem_s=20e-3, v_threshold=1.0, t_ref_s=2e-3)
    sizes = {"l0": width, "l1": width, "out": n_out}
    edges = [("inp", "l0")]
    ends = ["l0"] if n_copies == 0 or n_layers == 0 else []
    for c in range(n_copies if n_layers else 0):
        prev = "l0"
        for k in range(n_layers):
            name = f"c{c}_{k}"
            sizes[name] = width
            edges.append((prev, name))
            prev = name
        ends.append(prev)
    edges += [(e, "l1") for e in ends] + [("l1", "out")]
    fan_in = {t: sum(n_in if s == "inp" else sizes[s] for s, tt in edges if tt == t) for t in sizes}
    projs = []
    for s, t in edges:
        n_s = n_in if s == "inp" else sizes[s]
        w = rng.normal(0.0, 1.0, (n_s, sizes[t])) / np.sqrt(fan_in[t]) * 2.0
        projs.append(Projection(s, t, SparseSynapses.from_dense(w)))
    return Network(
        [Population(n, k, p) for n, k in sizes.items()],
        projs,
        sources=[SpikeArraySource("inp", n_in, np.zeros(0), np.zeros(0, int))],
        monitors=[SpikeMonitor(n) for n in sizes],
    )


def _placement(net: Network, spec, input_cores: int):
    """Default placement, with the input layer ``l0`` spread over ``input_cores`` cores."""
    m0 = place(net, spec)
    k = net.populations[0].size
    cores = {"l0": np.arange(k) * input_cores // k}
    used = set(m0.population_cores("l0").tolist())
    others = sorted(set(range(m0.n_cores)) - used)
    remap = {c: input_cores + i for i, c in enumerate(others)}
    for i, pop in enumerate(net.populations[1:], start=1):
        lo, hi = m0.population_offsets[i], m0.population_offsets[i + 1]
        cores[pop.name] = np.array([remap[c] for c in m0.core_of[lo:hi]], dtype=np.int64)
    return place(net, spec, cores=cores)


def _run(w: Workload, cfg: Config, seed: int, spec) -> tuple[LoihiCounters, object, Network]:
    """Counters of ``cfg.n_inferences`` inferences of workload ``w``, its mapping and network."""
    net = scaled_kws_network(seed, w.n_copies, w.n_layers)
    mapping = _placement(net, spec, w.input_cores)
    sim = EventQueueSimulator(net, DT, mapping=mapping, seed=seed)
    rng = np.random.default_rng(seed + 1)
    per_step, per_pop = [], None
    for _ in range(cfg.n_inferences):
        t, i = np.nonzero(rng.random((STEPS_PER_INFERENCE, 390)) < cfg.input_rate)
        sim.reset(sources=[SpikeArraySource("inp", 390, t * DT, i)])
        sim.run(STEPS_PER_INFERENCE * DT)
        c = sim.counters()
        per_step.append(c.per_step)
        per_pop = (
            c.per_population
            if per_pop is None
            else {k: per_pop[k] + v for k, v in c.per_population.items()}
        )
    ctr = LoihiCounters(np.concatenate(per_step), per_pop, DT, c.population_names)
    return ctr, mapping, net


def fit_host_terms(chip: dict, measured: dict) -> dict[str, float]:
    """Host terms from the ``fit`` workloads (per inference figures).

    Parameters
    ----------
    chip : dict of name -> dict
        Model figures with the host terms at zero: ``time_us`` (chip time), ``steps``,
        ``input_msgs``, ``energy_uj`` (dynamic core energy).
    measured : dict of name -> Workload

    Returns
    -------
    dict
        ``t_host_step_ns``, ``t_input_msg_ns`` (least squares on the measured times:
        ``time = chip + steps t_step + msgs t_msg``) and ``p_host_mw`` (least squares on the
        measured dynamic energies: ``energy = core + p_host x time``).
    """
    names = list(chip)
    a = np.array([[chip[n]["steps"], chip[n]["input_msgs"]] for n in names], dtype=np.float64)
    b = np.array([measured[n].measured_time_us - chip[n]["time_us"] for n in names])
    (t_step_us, t_msg_us), *_ = np.linalg.lstsq(a, b, rcond=None)
    times = np.array([measured[n].measured_time_us for n in names])
    extra = np.array([measured[n].measured_energy_uj - chip[n]["energy_uj"] for n in names])
    p_host_mw = float(times @ extra / (times @ times)) * 1e3  # uJ / us = W
    return {
        "t_host_step_ns": float(t_step_us) * 1e3,
        "t_input_msg_ns": float(t_msg_us) * 1e3,
        "p_host_mw": p_host_mw,
    }


# ---------------------------------------------------------------------- microcircuit
PD_NAMES = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
PD_SIZES = (20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948)
PD_RATES_HZ = (0.971, 2.868, 4.746, 5.396, 8.142, 9.078, 0.991, 7.523)
PD_CONN_PROBS = (  # [target][source]
    (0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0),
    (0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0),
    (0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0),
    (0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0),
    (0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0),
    (0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0),
    (0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252),
    (0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443),
)


def microcircuit_counts(scale: float = 1.0) -> NetworkCounts:
    """Potjans-Diesmann microcircuit as counts (sizes x ``scale``; synapses by their Eq. 1).

    All projections use delays (1.5 / 0.75 ms means at dt = 0.1 ms).
    """
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    n = [max(1, int(round(s * scale))) for s in PD_SIZES]
    pops = tuple(PopulationCount(name, k, r) for name, k, r in zip(PD_NAMES, n, PD_RATES_HZ))
    projs = []
    for t, row in enumerate(PD_CONN_PROBS):
        for s, p in enumerate(row):
            if p > 0:
                k = math.log(1.0 - p) / math.log(1.0 - 1.0 / (n[s] * n[t]))
                projs.append(ProjectionCount(PD_NAMES[s], PD_NAMES[t], int(round(k)), delays=True))
    return NetworkCounts(pops, tuple(projs))


# ---------------------------------------------------------------------- main
def run(cfg: Config, ctx) -> dict:
    """Rebuild and cost every measured workload, fit and check the host terms, map the
    microcircuit."""
    import matplotlib.pyplot as plt

    spec = preset("loihi_measured")
    chip_spec = spec.replace(p_host_mw=0.0, t_host_step_ns=0.0, t_input_msg_ns=0.0)
    workloads = [w for w in WORKLOADS if w.n_copies <= cfg.max_copies]
    chip, runs = {}, {}
    for w in ctx.progress(workloads, desc="workloads"):
        ctr, mapping, net = _run(w, cfg, ctx.seed, spec)
        rep = EnergyReport.from_counters(ctr, mapping, net, cfg.n_inferences, chip_spec)
        n = rep.n_inferences
        chip[w.name] = {
            "time_us": rep.latency_per_inference_us,
            "steps": rep.times.total_ns.size / n,
            "input_msgs": rep.counts["input_spikes"] / n,
            "energy_uj": rep.total_pj / n * 1e-6,
        }
        runs[w.name] = (ctr, mapping, net)
    by_name = {w.name: w for w in workloads}
    fitted = fit_host_terms({k: v for k, v in chip.items() if by_name[k].role == "fit"}, by_name)
    rows = []
    for w in workloads:
        ctr, mapping, net = runs[w.name]
        rep = EnergyReport.from_counters(ctr, mapping, net, cfg.n_inferences, spec)
        energy_uj, time_us = rep.dynamic_energy_per_inference_uj, rep.latency_per_inference_us
        rows.append(
            {
                "name": w.name,
                "source": SOURCE,
                "role": w.role,
                "measured_energy_uj": w.measured_energy_uj,
                "model_energy_uj": energy_uj,
                "measured_time_us": w.measured_time_us,
                "model_time_us": time_us,
                "energy_ratio": energy_uj / w.measured_energy_uj,
                "time_ratio": time_us / w.measured_time_us,
                "measured_total_energy_uj": w.measured_total_energy_uj,
                "model_total_energy_uj": rep.energy_per_inference_uj,
                "model_core_energy_uj": chip[w.name]["energy_uj"],
                "model_chip_time_us": chip[w.name]["time_us"],
                "cores": mapping.n_cores,
                "neurons": net.n_neurons,
                "synapses": int(sum(p.synapses.n_synapses for p in net.projections)),
                "spikes_per_neuron_step": rep.counts["spikes_out"]
                / (net.n_neurons * rep.times.total_ns.size),
            }
        )
    within = [0.5 <= r["energy_ratio"] <= 2 and 0.5 <= r["time_ratio"] <= 2 for r in rows]
    ctx.save_arrays(
        "calibration",
        {
            "names": np.array([r["name"] for r in rows], dtype="S"),
            "measured_energy_uj": np.array([r["measured_energy_uj"] for r in rows]),
            "model_energy_uj": np.array([r["model_energy_uj"] for r in rows]),
            "measured_time_us": np.array([r["measured_time_us"] for r in rows]),
            "model_time_us": np.array([r["model_time_us"] for r in rows]),
        },
    )
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, key, unit, label in ((axes[0], "energy", "uj", "uJ"), (axes[1], "time", "us", "us")):
        for role, mk in (("fit", "s"), ("held-out", "o")):
            sel = [r for r in rows if r["role"] == role]
            ax.scatter(
                [r[f"measured_{key}_{unit}"] for r in sel],
                [r[f"model_{key}_{unit}"] for r in sel],
                marker=mk,
                label=role,
                zorder=3,
            )
            for r in sel[:: max(1, len(sel) - 1)]:  # first and last of each group
                ax.annotate(
                    r["name"], (r[f"measured_{key}_{unit}"], r[f"model_{key}_{unit}"]), fontsize=6
                )
        lo = min(min(r[f"measured_{key}_{unit}"], r[f"model_{key}_{unit}"]) for r in rows) / 2.5
        hi = max(max(r[f"measured_{key}_{unit}"], r[f"model_{key}_{unit}"]) for r in rows) * 2.5
        xs = np.array([lo, hi])
        ax.plot(xs, xs, "k-", lw=0.8)
        ax.fill_between(xs, xs / 2, xs * 2, color="0.9", label="within 2x", zorder=0)
        ax.set(
            xscale="log",
            yscale="log",
            xlim=(lo, hi),
            ylim=(lo, hi),
            xlabel=f"measured on Loihi ({label})",
            ylabel=f"model ({label})",
            title=f"{key} per inference",
        )
        ax.legend(fontsize=7)
    fig.suptitle(
        "Loihi model (preset loihi_measured) vs Blouw et al. 2019 measurements", fontsize=9
    )
    ctx.save_figure(fig, "measured_vs_model")

    # ---- microcircuit on a multi-chip system
    system = preset(cfg.system)
    try:
        place_counts(microcircuit_counts(), system)
        infeasible = None
    except MappingError as e:  # Loihi's input-axon limit: see the module docstring
        infeasible = str(e)
        system = system.replace(
            name=system.name + "_8k_axons",
            max_input_axons=2 * system.max_input_axons,
            max_output_axons=2 * system.max_output_axons,
        )
    mc = place_counts(microcircuit_counts(), system)
    step = mc.step(cfg.microcircuit_dt_s)
    # the host terms were fitted on NxSDK spike injection, which the microcircuit (driven
    # on-chip) may not need: report the chip alone too
    chip_step = mc.step(
        cfg.microcircuit_dt_s, system.replace(p_host_mw=0.0, t_host_step_ns=0.0, t_input_msg_ns=0.0)
    )
    (ctx.out_dir / "microcircuit_mapping.txt").write_text(mc.report() + "\n")
    real_time = step["step_ns"] <= cfg.microcircuit_dt_s * 1e9
    _platform_figure(
        ctx,
        system.name,
        [
            (
                "model, host terms",
                step["step_ns"] * 1e-9 / cfg.microcircuit_dt_s,
                step["energy_per_syn_event_uj"],
            ),
            (
                "model, chip only",
                chip_step["step_ns"] * 1e-9 / cfg.microcircuit_dt_s,
                chip_step["energy_per_syn_event_uj"],
            ),
        ],
    )
    return {
        "calibration": rows,
        "workloads_within_2x": int(sum(within)),
        "workloads_total": len(rows),
        "held_out_within_2x": int(
            sum(ok for ok, r in zip(within, rows) if r["role"] == "held-out")
        ),
        "host_terms_fitted": fitted,
        "host_terms_preset": {k: getattr(spec, k) for k in fitted},
        "steps_per_inference": STEPS_PER_INFERENCE,
        "microcircuit": {
            "fits_published_limits": infeasible is None,
            "limit_error": infeasible,
            "system": system.name,
            "neurons": mc.counts.n_neurons,
            "synapses": mc.counts.n_synapses,
            "cores": mc.n_cores,
            "chips": mc.n_chips,
            "boards": mc.n_boards,
            "neurons_per_core": mc.per_core,
            "binding_limit": mc.binding,
            "dt_s": cfg.microcircuit_dt_s,
            "step_time_us": step["step_ns"] * 1e-3,
            "real_time_factor": step["step_ns"] * 1e-9 / cfg.microcircuit_dt_s,
            "real_time": bool(real_time),
            "step_bound_by": step["bound_by"],
            "synaptic_events_per_step": step["syn_ops"],
            "inter_chip_messages_per_step": step["inter_chip_messages"],
            "busiest_link_messages_per_step": step["link_max_msgs"],
            "energy_per_step_uj": {k: v * 1e-6 for k, v in step["energy_pj"].items()},
            "energy_per_synaptic_event_uj": step["energy_per_syn_event_uj"],
            "chip_only_step_time_us": chip_step["step_ns"] * 1e-3,
            "chip_only_step_bound_by": chip_step["bound_by"],
            "chip_only_energy_per_synaptic_event_uj": chip_step["energy_per_syn_event_uj"],
            "chip_only_real_time_factor": chip_step["step_ns"] * 1e-9 / cfg.microcircuit_dt_s,
            "published_source": PUBLISHED_SOURCE,
            "published_per_event": [
                {
                    "study": st,
                    "platform": pl,
                    "real_time_factor": q,
                    "energy_per_synaptic_event_uj": e,
                }
                for st, pl, q, e in PUBLISHED_PER_EVENT
            ],
        },
    }


def _platform_figure(ctx, system: str, model: list) -> None:
    """Real-time factor against energy per synaptic event (log-log, as Senk et al. 2026,
    Fig. 2b): :data:`PUBLISHED_PER_EVENT` and the model's ``(label, rtf, uJ)`` points."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    prev = (None, 1.0)
    for st, pl, q, e in PUBLISHED_PER_EVENT:
        ax.scatter(e, q, color="0.45", zorder=3)
        # a study's second point at nearly the same place gets its label below the first
        dy = -10 if st == prev[0] and abs(math.log(e / prev[1])) < 0.2 else 2
        ax.annotate(f"{st}\n{pl}", (e, q), fontsize=5.5, xytext=(4, dy), textcoords="offset points")
        prev = (st, e)
    for (label, q, e), mk in zip(model, ("*", "P")):
        ax.scatter(e, q, marker=mk, s=140, color="C3", zorder=4, label=f"Loihi {label} ({system})")
    ax.axhline(1.0, color="k", lw=0.6, ls=":")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="energy per synaptic event (uJ)",
        ylabel="real-time factor (wall-clock / model time)",
        title="Potjans-Diesmann microcircuit, full scale: published platforms vs the model",
    )
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(which="both", alpha=0.2)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.text(0.01, 0.005, "published: " + PUBLISHED_SOURCE, fontsize=5)
    ctx.save_figure(fig, "microcircuit_platforms")
