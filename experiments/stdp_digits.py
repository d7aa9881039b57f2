"""stdp-digits: Diehl & Cook (2015) style unsupervised digit learning with STDP.

Network (clock engine): Poisson inputs, one per pixel, at ``pixel * max_rate_hz`` (63.75 Hz
for a white pixel, Diehl & Cook's pixel/4 for 0-255 images; images are in [0, 1]) ->
all-to-all plastic synapses -> an excitatory LIF layer with adaptive thresholds
(``theta += theta_plus`` at each spike) and lateral inhibition, either k-WTA (``kwta``, k
winners per step; the default) or an inhibitory population (``population``: exc -> inh one to
one, inh -> every other exc neuron, as in Diehl & Cook). Delta (current-jump) synapses,
dimensionless membrane (rest 0, threshold 1).

Each image is shown for ``present_s`` then the inputs are silent for ``rest_s`` (the state
relaxes; the simulator is reused across images, only the Poisson rates change). Learning:
pair STDP on the input weights (potentiation at a postsynaptic spike by the presynaptic
trace, depression at a presynaptic spike by the postsynaptic trace, hard bounds
``[0, w_max]``), then every excitatory neuron's incoming weights are normalised to
``weight_total`` (column sum or Euclidean norm, ``weight_norm``) after each image. If the
layer fires fewer than ``min_spikes`` spikes, the image is shown again with the input rates
increased by ``max_rate_hz`` (Diehl & Cook's rule), at most ``max_boosts`` times.

After training, learning and adaptation are frozen, the training images are shown once more
(for ``test_present_s``) and each neuron is assigned the class for which its mean response is
highest; a test image is classified by the class whose assigned neurons fire most on average.
Diehl & Cook keep each neuron's learned ``theta`` in this readout (``test_theta="learned"``);
``"mean"`` sets every threshold to the layer mean first. The adaptive threshold is a training
device (it spreads the winners over the layer); left in place it biases the readout against
the most-used prototypes: on a validation split (400 neurons) equal thresholds and a 1 s
readout gave 95% where the learned ones gave 93% (1 s) and 91% (350 ms). The k-means
baseline of the same size (sklearn KMeans with ``n_clusters = n_neurons``, clusters labelled
by majority, test by nearest centroid) is computed in the same run.

Structural plasticity (``structural=True``, :mod:`sparse_neuro.learning.structural`): the input
projection starts at ``input_density`` (every neuron the same number of random inputs) and every
``rewire_every`` training images each neuron's weakest ``rewire_fraction`` of synapses (decaying
with the learning rate) are replaced by new ones (weight 0) at inputs sampled by their
co-activity with the neuron since the last rewiring (``growth="activity"``: sum over images of
pixel x spike count) or at random; the simulator is rebuilt on the new pattern with its state.
``input_density < 1`` without ``structural`` is the fixed random sparse baseline.

Training checkpoints (weights, thresholds, traces, RNG state, epoch and image index) every
``checkpoint_every`` images and resumes from the checkpoint when rerun into the same
output directory.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, replace

import numpy as np

from sparse_neuro.encoders.datasets import load_digits_split, load_mnist
from sparse_neuro.learning.homeostasis import NORM_ORDERS, normalize_columns
from sparse_neuro.learning.stdp import learning_rate_schedule
from sparse_neuro.learning.structural import StructuralPlasticity, prune_and_grow, rebuild_simulator
from sparse_neuro.neuro import (
    LIFParams,
    Network,
    Population,
    Projection,
    SparseSynapses,
    SpikeMonitor,
)
from sparse_neuro.neuro.engines import ClockSimulator
from sparse_neuro.neuro.model.inputs import PoissonSource
from sparse_neuro.neuro.model.plasticity_rules import STDPRule, ThresholdAdaptation
from sparse_neuro.neuro.model.validation import check_field_types, check_finite_data, real
from sparse_neuro.neuro.plotting import raster
from sparse_neuro.neuro.plotting.fields import receptive_field_grid
from sparse_neuro.neuro.plotting.stdp_figures import assignment_histogram
from sparse_neuro.neuro.storage.atomic import atomic_open
from sparse_neuro.neuro.storage.checkpoint import (
    check_identity,
    check_resume_mode,
    run_identity,
    seal_arrays,
    verify_arrays,
)
from sparse_neuro.neuro.storage.integrity import FormatError
from sparse_neuro.neuro.storage.safe_read import load_npz

__all__ = ["Config", "run", "SMOKE", "QUICK", "diehl_cook_network", "Trainer", "kmeans_baseline"]

INHIBITIONS = ("kwta", "population")
TEST_THETAS = ("learned", "mean")
WEIGHT_L2_DEFAULT = 1.5


@dataclass(frozen=True)
class Config:
    """Diehl & Cook network and training parameters.

    The defaults were chosen on a validation hold-out of the sklearn digits training images
    (``validation_fraction=0.25``, never the test split; seeds 0-2 at 6 epochs, 0-1 at 12):
    Euclidean weight
    normalisation, ``theta_plus`` 0.1, ``a_plus`` 0.05 decaying linearly, inhibition
    4000 / n_neurons, 12 epochs, equal thresholds and 1 s presentations in the readout.
    Diehl & Cook's own choices are ``weight_norm=1, test_theta="learned", test_present_s=0``.
    """

    dataset: str = "digits"
    n_neurons: int = 400
    epochs: int = 12
    n_train: int = 0  # 0: every training image
    n_test: int = 0  # 0: every test image
    # label assignment on the first n_assign training images (0: all; the readout's cost)
    n_assign: int = 0
    dt_s: float = 5e-4
    present_s: float = 0.35
    rest_s: float = 0.15
    max_rate_hz: float = 63.75
    inhibition: str = "population"
    kwta_k: int = 1
    # population inhibition: inh -> exc jump (threshold is 1); 0 = 4000 / n_neurons, i.e. the
    # same total inhibition at every size (validation, 12 epochs, seeds 0-1: 10 at 400 gave
    # 95.3 / 95.6% vs 95.0 / 95.3% with 15; 40 at 100 gave 94.1 / 93.8% vs 92.6 / 92.9% with
    # 60; 25 at 400 left 26 neurons silent)
    w_inhibition: float = 0.0
    tau_mem_s: float = 0.1
    t_ref_s: float = 5e-3
    theta_plus: float = 0.1
    tau_theta_s: float = 1e4
    # per-neuron weight normalisation after each image: 1 = column sum (Diehl & Cook),
    # 2 = Euclidean norm; weight_total is the target norm (0: the default for the order)
    weight_norm: int = 2
    weight_total: float = 0.0
    w_init_max: float = 0.3
    w_max: float = 1.0
    tau_pre_s: float = 20e-3
    tau_post_s: float = 20e-3
    # digits defaults; on the MNIST split (60 wins per neuron per epoch at 100 neurons) a tenth
    # (0.005 / 0.0001) averages each prototype over its images instead of copying the last
    # one: validation 83.05% vs 74.6% at 100 neurons (README)
    a_plus: float = 0.05
    a_minus: float = 0.001
    lr_schedule: str = "linear"
    lr_final_fraction: float = 0.1
    min_spikes: int = 5
    max_boosts: int = 3
    # set every membrane potential to rest after each image's rest period: with strong
    # current-based inhibition the losers' potentials stay far below rest for seconds, which
    # would hand the next image to the previous winner (Diehl & Cook's conductance-based
    # inhibition is bounded by its reversal potential and relaxes during the 150 ms rest)
    reset_between: bool = False
    checkpoint_every: int = 500
    kmeans: bool = True
    # > 0: hold out this fraction of the training images (stratified, random_state 0) and
    # evaluate on it instead of the test split, so that settings are chosen without the test set
    validation_fraction: float = 0.0
    # readout (label assignment and test), learning frozen: presentation time (0: present_s)
    # and thresholds, "learned" (Diehl & Cook: each neuron keeps its theta) or "mean" (every
    # theta set to the layer mean, so the best-matching prototype wins rather than the least used)
    test_present_s: float = 1.0
    test_theta: str = "mean"
    # input synapses: initial density (fixed in-degree), and structural plasticity (see above)
    input_density: float = 1.0
    structural: bool = False
    rewire_every: int = 1000
    rewire_fraction: float = 0.1
    growth: str = "activity"
    # "auto": resume this run's checkpoint and refuse another run's; "fresh": start over
    resume: str = "auto"

    def __post_init__(self) -> None:
        check_field_types(self)  # kwta_k=2.9 would pass the range checks below
        check_resume_mode(self.resume)
        if self.dataset not in ("digits", "mnist"):
            raise ValueError(f"dataset must be 'digits' or 'mnist', got {self.dataset!r}")
        if self.inhibition not in INHIBITIONS:
            raise ValueError(f"inhibition must be one of {INHIBITIONS}, got {self.inhibition!r}")
        if self.n_neurons < 1:
            raise ValueError(f"n_neurons must be >= 1, got {self.n_neurons}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.n_train < 0 or self.n_test < 0 or self.n_assign < 0:
            raise ValueError("n_train, n_test and n_assign must be >= 0 (0: all)")
        if not 0 < self.dt_s <= 1e-3:
            raise ValueError(f"dt_s must be in (0, 1e-3] s, got {self.dt_s}")
        # finite first: rest_s=inf would pass ">= 0" and fail in run() as "duration_s"
        for name in ("present_s", "rest_s", "test_present_s", "w_init_max", "w_max"):
            real(name, getattr(self, name))
        if not self.present_s > 0:
            raise ValueError(f"present_s must be > 0 s, got {self.present_s}")
        if self.rest_s < 0:
            raise ValueError(f"rest_s must be >= 0 s, got {self.rest_s}")
        for name in ("present_s", "rest_s", "test_present_s"):  # run() takes whole steps only
            v = getattr(self, name)
            if v > 0 and abs(v / self.dt_s - round(v / self.dt_s)) > 1e-9 * max(v / self.dt_s, 1):
                raise ValueError(
                    f"{name} must be a whole number of steps of dt_s={self.dt_s:g} s, "
                    f"got {v!r} s ({v / self.dt_s:.9g} steps)"
                )
        if self.w_init_max < 0:
            raise ValueError(f"w_init_max must be a finite number >= 0, got {self.w_init_max}")
        if not 0 < self.max_rate_hz * (1 + self.max_boosts) * self.dt_s <= 1:
            raise ValueError(
                f"max_rate_hz * (1 + max_boosts) * dt_s must be in (0, 1], got "
                f"{self.max_rate_hz * (1 + self.max_boosts) * self.dt_s:g}"
            )
        if not 1 <= self.kwta_k <= self.n_neurons:
            raise ValueError(
                f"kwta_k must be in [1, n_neurons={self.n_neurons}], got {self.kwta_k}"
            )
        if not self.w_inhibition >= 0:
            raise ValueError(
                f"w_inhibition must be >= 0 (0: 4000 / n_neurons), got {self.w_inhibition}"
            )
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {self.checkpoint_every}")
        if self.weight_norm not in NORM_ORDERS:
            raise ValueError(
                f"weight_norm must be 1 (column sum) or 2 (Euclidean), got {self.weight_norm}"
            )
        if not self.weight_total >= 0:
            raise ValueError(
                f"weight_total must be >= 0 (0: default for weight_norm), got {self.weight_total}"
            )
        if not self.test_present_s >= 0:
            raise ValueError(
                f"test_present_s must be >= 0 s (0: present_s), got {self.test_present_s}"
            )
        if self.test_theta not in TEST_THETAS:
            raise ValueError(f"test_theta must be one of {TEST_THETAS}, got {self.test_theta!r}")
        if not 0.0 < self.input_density <= 1.0:
            raise ValueError(f"input_density must be in (0, 1], got {self.input_density}")
        if self.rewire_every < 1:
            raise ValueError(f"rewire_every must be >= 1 (images), got {self.rewire_every}")
        StructuralPlasticity(fraction=self.rewire_fraction, growth=self.growth)  # validates both
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(
                f"validation_fraction must be in [0, 1) (0: evaluate on the test split), "
                f"got {self.validation_fraction}"
            )

    @property
    def readout_present_s(self) -> float:
        """Presentation time of the readout: ``test_present_s``, or ``present_s`` if 0."""
        return self.test_present_s or self.present_s


SMOKE = {
    "n_neurons": 20,
    "epochs": 1,
    "n_train": 60,
    "n_test": 40,
    "present_s": 0.1,
    "test_present_s": 0.1,
    "rest_s": 0.05,
    "checkpoint_every": 25,
}
# three epochs over the 1,347 training images (validation: 1 epoch 22%, 2 epochs 88%,
# 3 epochs 92%: the linearly decaying learning rate needs time for theta to spread the winners)
QUICK = {"n_neurons": 100, "epochs": 3}


def diehl_cook_network(n_inputs: int, cfg: Config, seed: int = 0) -> Network:
    """The excitatory layer with plastic input synapses and lateral inhibition."""
    rng = np.random.default_rng(seed)
    n = cfg.n_neurons
    exc_params = LIFParams(
        tau_mem_s=cfg.tau_mem_s, v_rest=0.0, v_reset=0.0, v_threshold=1.0, t_ref_s=cfg.t_ref_s
    )
    adapt = ThresholdAdaptation(theta_plus=cfg.theta_plus, tau_theta_s=cfg.tau_theta_s)
    rule = STDPRule(
        tau_plus_s=cfg.tau_pre_s,
        tau_minus_s=cfg.tau_post_s,
        a_plus=cfg.a_plus,
        a_minus=cfg.a_minus,
        w_min=0.0,
        w_max=cfg.w_max,
    )
    if cfg.input_density < 1.0:
        k = max(1, int(round(cfg.input_density * n_inputs)))
        w_in = SparseSynapses.fixed_indegree(n_inputs, n, k, seed=rng, dtype=np.float64)
        w_in = w_in.with_weights(rng.uniform(0.0, cfg.w_init_max, w_in.n_synapses))
    else:
        w_in = SparseSynapses.from_dense(rng.uniform(0.0, cfg.w_init_max, (n_inputs, n)))
    w_in = w_in.with_weights(
        normalize_columns(
            w_in.weights.copy(), w_in.indices, n, weight_total(cfg, n_inputs), cfg.weight_norm
        )
    )
    kw = {"kwta_k": cfg.kwta_k} if cfg.inhibition == "kwta" else {}
    pops = [Population("exc", n, exc_params, adaptation=adapt, **kw)]
    projs = [Projection("inp", "exc", w_in, plasticity=rule)]
    if cfg.inhibition == "population":
        pops.append(Population("inh", n, LIFParams(tau_mem_s=10e-3, v_threshold=1.0, t_ref_s=2e-3)))
        projs.append(Projection("exc", "inh", SparseSynapses.from_dense(np.eye(n) * 2.0)))
        projs.append(
            Projection(
                "inh", "exc", SparseSynapses.from_dense(-_w_inhibition(cfg) * (1.0 - np.eye(n)))
            )
        )
    return Network(
        pops, projs, [PoissonSource("inp", n_inputs, rate_hz=0.0)], monitors=[SpikeMonitor("exc")]
    )


def _w_inhibition(cfg: Config) -> float:
    """Inhibitory weight: the configured one, or 4000 / n_neurons (constant total inhibition)."""
    return cfg.w_inhibition if cfg.w_inhibition > 0 else 4000.0 / cfg.n_neurons


def weight_total(cfg: Config, n_inputs: int) -> float:
    """Target norm of each neuron's input weights: the configured one, or by default
    ``0.1 n_inputs`` for the column sum (Diehl & Cook: 78 of 784) and WEIGHT_L2_DEFAULT for
    the Euclidean norm."""
    if cfg.weight_total > 0:
        return cfg.weight_total
    return 0.1 * n_inputs if cfg.weight_norm == 1 else WEIGHT_L2_DEFAULT


class Trainer:
    """Presents images to one reused :class:`ClockSimulator` (see module docstring)."""

    def __init__(self, net: Network, cfg: Config, seed: int):
        self.cfg = cfg
        self.sim = ClockSimulator(net, cfg.dt_s, seed=seed)
        self.n = cfg.n_neurons
        self.n_inputs = net.size("inp")
        self.total = weight_total(cfg, self.n_inputs)
        self._bind()
        # input x spike-count co-activity since the last rewiring (structural plasticity)
        self.coactivity = np.zeros((self.n_inputs, self.n)) if cfg.structural else None

    def _bind(self) -> None:
        """Views of the input weights and their targets (renewed when the pattern changes)."""
        self.w = self.sim.weights_view(0)
        self.idx = self.sim.network.projections[0].synapses.indices

    def rewire(self, fraction: float, rng: np.random.Generator) -> None:
        """Replace each neuron's weakest ``fraction`` of input synapses (structural plasticity)
        and continue on a simulator rebuilt with the current state."""
        rule = StructuralPlasticity(fraction=fraction, growth=self.cfg.growth)
        new, source = prune_and_grow(self.sim.synapses()[0], rule, rng, coactivity=self.coactivity)
        self.sim = rebuild_simulator(self.sim, 0, new, source)
        self._bind()
        self.coactivity[:] = 0.0

    def learning(self, on: bool, rate: float = 1.0) -> None:
        """Switch STDP (at learning rate ``rate``) and threshold adaptation on or off."""
        self.sim.set_learning_rate(rate if on else 0.0)
        self.sim.set_adaptation(on)

    def present(
        self, x: np.ndarray, learn: bool, keep_spikes: bool = False, present_s: float | None = None
    ):
        """Show one image (with intensity boosts) for ``present_s`` (default: the configured
        one); returns the spike counts (and the last presentation's exc spikes if
        ``keep_spikes``)."""
        cfg, sim = self.cfg, self.sim
        for boost in range(cfg.max_boosts + 1):
            sim.set_source_rates("inp", x * cfg.max_rate_hz * (1 + boost))
            self.last_start_s = sim.state.step * cfg.dt_s
            rec = sim.run(cfg.present_s if present_s is None else present_s)
            counts = rec.spikes["exc"].counts()
            if cfg.rest_s > 0:
                sim.set_source_rates("inp", 0.0)
                sim.run(cfg.rest_s)
            if cfg.reset_between:  # every population rests at 0 (see diehl_cook_network)
                sim.state.v[:] = 0.0
            if learn:
                normalize_columns(self.w, self.idx, self.n, self.total, cfg.weight_norm)
            if counts.sum() >= cfg.min_spikes:
                break
        if learn and self.coactivity is not None:
            self.coactivity += np.outer(x, counts)
        return (counts, rec.spikes["exc"]) if keep_spikes else counts

    def freeze(self) -> None:
        """End training: learning and adaptation off, thresholds as ``test_theta`` says."""
        self.learning(False)
        if self.cfg.test_theta == "mean":
            theta = self.sim.theta("exc")
            theta[:] = theta.mean()

    def responses(self, x: np.ndarray, ctx, desc: str) -> np.ndarray:
        """Spike counts ``[n_images, n_neurons]`` for the readout (after :meth:`freeze`),
        each image shown for ``Config.readout_present_s``."""
        out = np.zeros((x.shape[0], self.n), dtype=np.int64)
        for i in ctx.progress(range(x.shape[0]), total=x.shape[0], desc=desc):
            out[i] = self.present(x[i], learn=False, present_s=self.cfg.readout_present_s)
        return out

    # -------------------------------------------------------------- checkpoints
    def save(
        self,
        path,
        epoch: int,
        pos: int,
        order: np.ndarray,
        elapsed: float,
        shuffle_rng: np.random.Generator | None = None,
        identity: dict | None = None,
    ) -> None:
        """Atomically write the simulator state, the training position, the state of the
        generator that shuffles later epochs and the run identity (NPZ, no pickles)."""
        d = self.sim.state_dict()
        inputs = {f"inputs.{k}": np.asarray(v) for k, v in d.pop("inputs").items()}
        extra = {
            **inputs,
            "epoch": epoch,
            "pos": pos,
            "order": order,
            "elapsed": elapsed,
            **(identity or {}),
        }
        if self.coactivity is not None:  # the input pattern changes: store it
            syn = self.sim.network.projections[0].synapses
            extra.update(
                {
                    "pattern.indptr": syn.indptr,
                    "pattern.indices": syn.indices,
                    "coactivity": self.coactivity,
                }
            )
        if shuffle_rng is not None:
            extra["shuffle_state"] = json.dumps(shuffle_rng.bit_generator.state)
        arrays = {
            **{k: np.asarray(v) for k, v in d.items()},
            **{k: np.asarray(v) for k, v in extra.items()},
        }
        with atomic_open(path, "wb") as fh:
            np.savez(fh, **seal_arrays(arrays))  # manifest and SHA-256, verified by load

    def load(
        self,
        path,
        identity: dict | None = None,
        shuffle_rng: np.random.Generator | None = None,
        n_images: int | None = None,
    ) -> tuple[int, int, np.ndarray, float]:
        """Restore a checkpoint; returns ``(epoch, pos, order, elapsed_s)``.

        ``identity`` (:func:`sparse_neuro.neuro.storage.checkpoint.run_identity`) must match the
        stored one, else :class:`sparse_neuro.neuro.storage.checkpoint.CheckpointMismatch`;
        ``shuffle_rng`` gets its stored state. ``n_images``: the training images of the run
        (``order`` must be a permutation of them). A file that is not such a checkpoint, fails its
        manifest or checksum, or holds a value out of range (checked before any is used) raises
        :class:`sparse_neuro.neuro.storage.integrity.FormatError` naming the file and the value.
        """
        try:
            d = load_npz(path, "stdp-digits checkpoint")  # regular file, no zip bomb
            d = verify_arrays(d, str(path))
            meta = {k: str(d.pop(k)) for k in _CKPT_TEXT if k in d}
            raw = (d.pop("epoch"), d.pop("pos"), d.pop("order"), d.pop("elapsed"))
        except (FileNotFoundError, PermissionError, FormatError):
            raise
        except Exception as e:
            raise FormatError(
                f"{path}: not a stdp-digits checkpoint: {type(e).__name__}: {e}"
            ) from None
        if identity is not None:
            check_identity(meta, identity, str(path))
        position = _checked_position(path, *raw, self.cfg.epochs, n_images)
        try:
            return self._restore(d, meta, shuffle_rng, position)
        except (ValueError, TypeError, KeyError) as e:  # a value out of range, named
            raise FormatError(f"{path}: {e}") from None

    def _restore(
        self,
        d: dict,
        meta: dict,
        shuffle_rng: np.random.Generator | None,
        position: tuple[int, int, np.ndarray, float],
    ) -> tuple[int, int, np.ndarray, float]:
        """Load the checked entries of a checkpoint (simulator state checked by
        ``load_state_dict``) and return ``position``."""
        d["inputs"] = {k[len("inputs.") :]: d.pop(k) for k in list(d) if k.startswith("inputs.")}
        if "pattern.indptr" in d:
            syn = self.sim.network.projections[0].synapses
            stored = SparseSynapses(
                d.pop("pattern.indptr"),
                d.pop("pattern.indices"),
                syn.weights,
                syn.delays,
                syn.n_post,
                syn.dt_s,
            )
            co = np.asarray(d.pop("coactivity"))
            if (
                co.shape != self.coactivity.shape
                or co.dtype.kind != "f"
                or not (np.all(np.isfinite(co)) and np.all(co >= 0))
            ):
                raise ValueError(
                    f"coactivity must be finite, >= 0, of shape "
                    f"{self.coactivity.shape}, got {co.dtype} {co.shape}"
                )
            self.sim = rebuild_simulator(self.sim, 0, stored, np.full(stored.n_synapses, -1))
            self._bind()
            self.coactivity[:] = co
        self.sim.load_state_dict(d)
        if shuffle_rng is not None:
            shuffle_rng.bit_generator.state = json.loads(meta["shuffle_state"])
        return position


def _checked_position(
    path,
    epoch: np.ndarray,
    pos: np.ndarray,
    order: np.ndarray,
    elapsed: np.ndarray,
    epochs: int,
    n_images: int | None,
) -> tuple[int, int, np.ndarray, float]:
    """The training position of a checkpoint, checked: ``epoch`` in ``[0, epochs]``, ``pos``
    in ``[0, n_images]`` (0 after the last epoch), ``order`` a permutation of the images,
    ``elapsed`` finite and >= 0 (else a FormatError naming the file and the value)."""
    n = int(order.size) if n_images is None else int(n_images)
    for name, v, hi in (("epoch", epoch, epochs), ("pos", pos, n)):
        if v.shape != () or v.dtype.kind not in "iu" or not 0 <= int(v) <= hi:
            raise FormatError(f"{path}: {name} must be an integer in [0, {hi}], got {v!r}")
    if int(epoch) == epochs and int(pos) != 0:
        raise FormatError(f"{path}: pos must be 0 after the last epoch, got {int(pos)}")
    if order.dtype.kind not in "iu" or not np.array_equal(np.sort(order), np.arange(n)):
        raise FormatError(f"{path}: order must be a permutation of the {n} training images")
    if (
        elapsed.shape != ()
        or elapsed.dtype.kind != "f"
        or not (np.isfinite(elapsed) and elapsed >= 0)
    ):
        raise FormatError(
            f"{path}: elapsed must be a finite number of seconds >= 0, got {elapsed!r}"
        )
    return int(epoch), int(pos), order.astype(np.int64), float(elapsed)


# checkpoint entries stored as JSON or plain text rather than simulator arrays
_CKPT_TEXT = ("shuffle_state", "config_hash", "code_version", "source_hashes", "provenance")


def assign_labels(resp: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Each neuron's class: the one with the highest mean response (silent neurons: -1)."""
    mean = np.stack(
        [
            resp[labels == c].mean(axis=0) if np.any(labels == c) else np.zeros(resp.shape[1])
            for c in range(n_classes)
        ]
    )
    a = mean.argmax(axis=0)
    a[mean.max(axis=0) == 0] = -1
    return a


def classify(resp: np.ndarray, assignments: np.ndarray, n_classes: int) -> np.ndarray:
    """Class with the highest mean count over its assigned neurons (Diehl & Cook's vote)."""
    scores = np.full((resp.shape[0], n_classes), -1.0)
    for c in range(n_classes):
        m = assignments == c
        if m.any():
            scores[:, c] = resp[:, m].mean(axis=1)
    return scores.argmax(axis=1)


def kmeans_baseline(x_train, y_train, x_test, y_test, n_clusters: int, seed: int) -> float:
    """Test accuracy of k-means with majority label assignment and nearest-centroid test."""
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=n_clusters, n_init=3, random_state=seed).fit(x_train)
    lab = np.zeros(n_clusters, dtype=np.int64)
    for k in range(n_clusters):
        members = y_train[km.labels_ == k]
        lab[k] = np.bincount(members).argmax() if members.size else 0
    return float(np.mean(lab[km.predict(x_test)] == y_test))


def run(cfg: Config, ctx) -> dict:
    """Train, assign labels, test; figures and the k-means baseline."""
    data = load_digits_split(0.25, 0) if cfg.dataset == "digits" else load_mnist(n_train=8000)
    xtr, ytr, xte, yte = data.x_train, data.y_train, data.x_test, data.y_test
    if cfg.n_train:
        xtr, ytr = xtr[: cfg.n_train], ytr[: cfg.n_train]
    if cfg.validation_fraction > 0:
        from sklearn.model_selection import train_test_split

        xtr, xte, ytr, yte = train_test_split(
            xtr, ytr, test_size=cfg.validation_fraction, random_state=0, stratify=ytr
        )
    if cfg.n_test:
        xte, yte = xte[: cfg.n_test], yte[: cfg.n_test]
    eval_split = "validation" if cfg.validation_fraction > 0 else "test"
    side = int(round(math.sqrt(xtr.shape[1])))
    n_classes = 10
    net = diehl_cook_network(xtr.shape[1], cfg, seed=ctx.seed)
    tr = Trainer(net, cfg, seed=ctx.seed)
    check_finite_data("training images", xtr)
    ckpt = ctx.checkpoint_path("stdp_digits_train.npz")
    identity = run_identity(replace(cfg, resume="auto"), seed=ctx.seed, n_train=len(xtr))
    rng = np.random.default_rng(ctx.seed + 1)
    epoch, pos, order, elapsed = 0, 0, rng.permutation(len(xtr)), 0.0
    resumed = ckpt.exists() and cfg.resume == "auto"
    if resumed:
        epoch, pos, order, elapsed = tr.load(
            ckpt, identity=identity, shuffle_rng=rng, n_images=len(xtr)
        )
    tr.learning(True)
    total = cfg.epochs * len(xtr)
    bar = ctx.progress(total=total, desc="STDP training")
    bar.update(epoch * len(xtr) + pos)
    t0 = time.perf_counter() - elapsed
    while epoch < cfg.epochs:
        while pos < len(order):
            progress = (epoch * len(xtr) + pos) / total
            rate = learning_rate_schedule(1.0, progress, cfg.lr_schedule, cfg.lr_final_fraction)
            tr.learning(True, rate)
            tr.present(xtr[order[pos]], learn=True)
            pos += 1
            if cfg.structural and (epoch * len(xtr) + pos) % cfg.rewire_every == 0:
                # the rewired fraction decays with the learning rate; the draw depends only on
                # the seed and the position, so a resumed run rewires identically
                tr.rewire(cfg.rewire_fraction * rate, np.random.default_rng([ctx.seed, epoch, pos]))
            bar.update(1)
            if pos % cfg.checkpoint_every == 0:
                tr.save(ckpt, epoch, pos, order, time.perf_counter() - t0, rng, identity)
        epoch, pos = epoch + 1, 0
        order = rng.permutation(len(xtr))
        tr.save(ckpt, epoch, pos, order, time.perf_counter() - t0, rng, identity)
    bar.close()
    train_s = time.perf_counter() - t0

    theta_learned = tr.sim.theta("exc").copy()
    tr.freeze()
    n_assign = cfg.n_assign or len(xtr)
    resp_tr = tr.responses(xtr[:n_assign], ctx, "label assignment")
    assignments = assign_labels(resp_tr, ytr[:n_assign], n_classes)
    resp_te = tr.responses(xte, ctx, "test")
    pred = classify(resp_te, assignments, n_classes)
    acc = float(np.mean(pred == yte))
    train_acc = float(np.mean(classify(resp_tr, assignments, n_classes) == ytr[:n_assign]))

    w = tr.sim.synapses()[0].to_dense()  # (n_inputs, n_neurons)
    ctx.save_figure(
        receptive_field_grid(
            w.T.reshape(-1, side, side)[: min(cfg.n_neurons, 400)],
            title=f"STDP receptive fields ({cfg.dataset})",
        ),
        "receptive_fields",
    )
    ctx.save_figure(assignment_histogram(assignments[assignments >= 0], n_classes), "assignments")
    test_present_s = cfg.readout_present_s
    _, spk = tr.present(xte[0], learn=False, keep_spikes=True, present_s=test_present_s)
    t_start = tr.last_start_s
    ctx.save_figure(
        raster(
            spk,
            t_start_s=t_start,
            t_stop_s=t_start + test_present_s,
            marker_size=8.0,
            title=f"exc layer, one presentation (label {yte[0]})",
        ),
        "raster",
    )
    ctx.save_arrays("weights", {"w_in": w, "theta": theta_learned, "assignments": assignments})
    ctx.save_arrays("responses", {"test_counts": resp_te, "test_pred": pred, "test_label": yte})

    summary = {
        "dataset": cfg.dataset,
        # the loaded split, and how much of it this run trained and evaluated on
        "data": {"split": data.description, "train_used": len(xtr), f"{eval_split}_used": len(xte)},
        "n_neurons": cfg.n_neurons,
        "inhibition": cfg.inhibition,
        "eval_split": eval_split,
        f"{eval_split}_accuracy": acc,
        "train_accuracy": train_acc,
        "n_train_images": int(len(xtr)),
        "n_assign_images": int(n_assign),
        f"n_{eval_split}_images": int(len(xte)),
        "epochs": cfg.epochs,
        "train_seconds": train_s,
        "samples_per_second": cfg.epochs * len(xtr) / train_s if train_s > 0 else float("nan"),
        "mean_test_spikes": float(resp_te.sum(axis=1).mean()),
        "silent_neurons": int(np.sum(assignments < 0)),
        "resumed_from_checkpoint": bool(resumed),
        "dt_ms": cfg.dt_s * 1e3,
        "present_ms": cfg.present_s * 1e3,
        "rest_ms": cfg.rest_s * 1e3,
        "test_present_ms": test_present_s * 1e3,
        "test_theta": cfg.test_theta,
        "input_synapses": int(tr.sim.network.projections[0].synapses.n_synapses),
        "input_density": tr.sim.network.projections[0].synapses.n_synapses / w.size,
        "structural": cfg.structural,
    }
    if cfg.kmeans:
        summary[f"kmeans_{eval_split}_accuracy"] = kmeans_baseline(
            xtr, ytr, xte, yte, cfg.n_neurons, ctx.seed
        )
    return summary
