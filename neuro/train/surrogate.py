"""Surrogate spike functions: a Heaviside forward pass with a smooth pseudo-derivative.

Each factory (:func:`fast_sigmoid`, :func:`arctan`, :func:`triangle`) returns a
:class:`SurrogateSpike`, a frozen, typed callable::

    spike_fn = fast_sigmoid(slope=25.0)
    s = spike_fn(v - threshold)          # forward: (x > 0) as the input dtype
    s.sum().backward()                   # backward: spike_fn.derivative(x) * grad

``derivative`` is also exposed as a plain tensor function so that fused kernels (the
LIF layer of :mod:`sparse_neuro.neuro.train`) can run their whole backward pass in one loop.

The forward pass of every surrogate is

.. math:: S(x) = H(x) = \\begin{cases} 1 & x > 0 \\\\ 0 & x \\le 0 \\end{cases}

(strict inequality, as snntorch and the engines: a neuron spikes when ``v > v_threshold``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["SurrogateSpike", "fast_sigmoid", "arctan", "triangle"]


class _Spike(torch.autograd.Function):
    """Heaviside forward, ``surrogate.derivative(x) * grad`` backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, surrogate: SurrogateSpike) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad * ctx.surrogate.derivative(x), None


@dataclass(frozen=True)
class SurrogateSpike:
    """A surrogate spike function: Heaviside forward, ``derivative`` backward.

    Use the factories :func:`fast_sigmoid`, :func:`arctan`, :func:`triangle`; they
    validate their parameters.

    Attributes
    ----------
    kind : str
        ``"fast_sigmoid"``, ``"arctan"`` or ``"triangle"``.
    scale : float
        The sharpness parameter (slope, alpha or width, see the factory).
    """

    kind: str
    scale: float

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Spikes ``(x > 0)`` (same dtype as ``x``) with the surrogate gradient."""
        return _Spike.apply(x, self)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        """The pseudo-derivative ``dS/dx`` used in the backward pass (a plain tensor op)."""
        if self.kind == "fast_sigmoid":
            return 1.0 / (self.scale * torch.abs(x) + 1.0) ** 2
        if self.kind == "arctan":
            return self.scale / 2 / (1 + (math.pi / 2 * self.scale * x) ** 2)
        # triangle
        return torch.clamp(1.0 - torch.abs(x) / self.scale, min=0.0)


def _check_positive(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def fast_sigmoid(slope: float = 25.0) -> SurrogateSpike:
    """Fast-sigmoid surrogate (SuperSpike).

    .. math::

        S(x) = H(x), \\qquad \\frac{\\partial S}{\\partial x} = \\frac{1}{(1 + k|x|)^2}

    the derivative of :math:`x / (1 + k|x|)`, peak 1 at ``x = 0``. Identical to
    ``snntorch.surrogate.fast_sigmoid(slope)``.

    Source: F. Zenke and S. Ganguli (2018), "SuperSpike: Supervised learning in multilayer
    spiking neural networks", Neural Computation 30(6):1514-1541.

    Parameters
    ----------
    slope : float
        ``k`` > 0; larger is sharper.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([-0.1, 0.2], requires_grad=True)
    >>> s = fast_sigmoid(slope=10.0)(x); s.tolist()
    [0.0, 1.0]
    >>> s.sum().backward(); [round(g, 4) for g in x.grad.tolist()]
    [0.25, 0.1111]
    """
    return SurrogateSpike("fast_sigmoid", _check_positive("slope", slope))


def arctan(alpha: float = 2.0) -> SurrogateSpike:
    """Arctangent surrogate.

    .. math::

        S(x) = H(x), \\qquad \\frac{\\partial S}{\\partial x} =
        \\frac{\\alpha / 2}{1 + (\\frac{\\pi}{2} \\alpha x)^2}

    the derivative of :math:`\\frac{1}{\\pi}\\arctan(\\frac{\\pi}{2}\\alpha x)`, unit area,
    peak ``alpha / 2``. Identical to ``snntorch.surrogate.atan(alpha)`` (snntorch's default).

    Source: W. Fang, Z. Yu, Y. Chen, T. Masquelier, T. Huang and Y. Tian (2021),
    "Incorporating learnable membrane time constants to enhance learning of spiking
    neural networks", ICCV 2021, pp. 2661-2671.

    Parameters
    ----------
    alpha : float
        > 0; larger is sharper.
    """
    return SurrogateSpike("arctan", _check_positive("alpha", alpha))


def triangle(width: float = 1.0) -> SurrogateSpike:
    """Triangular (piecewise-linear) surrogate.

    .. math::

        S(x) = H(x), \\qquad \\frac{\\partial S}{\\partial x} = \\max(0, 1 - |x| / w)

    peak 1 at ``x = 0``, zero for ``|x| >= w``. (Not the same as
    ``snntorch.surrogate.triangular``, whose backward is a constant ``+-threshold``.)

    Source: G. Bellec, D. Salaj, A. Subramoney, R. Legenstein and W. Maass (2018),
    "Long short-term memory and learning-to-learn in networks of spiking neurons",
    NeurIPS 2018 (pseudo-derivative ``gamma * max(0, 1 - |v|)`` with ``gamma = 1``);
    also S. K. Esser et al. (2016), PNAS 113(41):11441-11446.

    Parameters
    ----------
    width : float
        Half-width ``w`` > 0 of the triangle, in the units of ``x``.
    """
    return SurrogateSpike("triangle", _check_positive("width", width))
