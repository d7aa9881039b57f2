"""k-WTA: numpy reference rule, torch selection, KWTA module and LIF(kwta_k=...)."""

import numpy as np
import pytest
import torch

from sparse_neuro.neuro.train import LIF
from sparse_neuro.neuro.train.kwta import KWTA, kwta_mask_torch, kwta_select

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_reference_rule_largest_first_ties_by_lower_index():
    v = np.array([0.5, 2.0, 3.0, 2.0, 2.0, 9.0])
    crossed = np.array([True, True, True, True, True, False])  # 9.0 did not cross
    np.testing.assert_array_equal(kwta_select(v, crossed, 3), [0, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(kwta_select(v, crossed, 0), np.zeros(6, bool))
    np.testing.assert_array_equal(kwta_select(v, crossed, 10), crossed)


def test_reference_groups_int_and_labels():
    v = np.array([1.0, 2.0, 3.0, 4.0, 4.0, 1.0])
    c = np.ones(6, bool)
    np.testing.assert_array_equal(kwta_select(v, c, 1, groups=2), [0, 0, 1, 1, 0, 0])
    lab = np.array([0, 1, 0, 1, 0, 1])
    # label 0: {0: 1, 2: 3, 4: 4} -> index 4 ; label 1: {1: 2, 3: 4, 5: 1} -> index 3
    np.testing.assert_array_equal(kwta_select(v, c, 1, groups=lab), [0, 0, 0, 1, 1, 0])
    with pytest.raises(ValueError, match="groups"):
        kwta_select(v, c, 1, groups=4)


@pytest.mark.parametrize("groups", [None, 4])
def test_torch_selection_equals_reference_with_many_ties(groups):
    rng = np.random.default_rng(0)
    v = rng.integers(0, 4, size=(50, 24)).astype(np.float64)  # heavy ties
    crossed = rng.random((50, 24)) < 0.6
    for k in (0, 1, 3, 6):
        ref = kwta_select(v, crossed, k, groups)
        got = kwta_mask_torch(torch.from_numpy(v), torch.from_numpy(crossed), k, groups).numpy()
        np.testing.assert_array_equal(got, ref)
        per_group = got.reshape(50, groups or 1, -1).sum(-1)
        assert per_group.max() <= k


def test_kwta_module_gradient_flows_through_winners_only():
    v = torch.tensor([[1.5, 3.0, 0.5, 2.0, 2.5]], requires_grad=True)
    s = KWTA(k=2, threshold=1.0)(v)
    assert s.tolist() == [[0.0, 1.0, 0.0, 0.0, 1.0]]
    s.sum().backward()
    g = v.grad[0]
    assert g[1] > 0 and g[4] > 0
    assert g[0] == 0 and g[2] == 0 and g[3] == 0  # loser 1.5/2.0 and the sub-threshold one


@pytest.mark.parametrize("losers", ["hold", "reset"])
def test_lif_kwta_at_most_k_and_matches_reference_stepwise(losers):
    torch.manual_seed(0)
    T, B, N, k = 15, 3, 20, 3
    x = torch.rand(T, B, N, dtype=torch.float64) * 0.8
    s, m, _ = LIF(0.9, kwta_k=k, kwta_losers=losers)(x)
    assert s.sum(-1).max() <= k and s.sum() > 0
    # replay the recurrence in numpy with the reference selection
    mem = np.zeros((B, N))
    prev = np.zeros((B, N))
    for t in range(T):
        mem = 0.9 * mem + x[t].numpy() - prev * 1.0
        np.testing.assert_allclose(m[t].numpy(), mem, rtol=0, atol=1e-12)
        crossed = mem > 1.0
        win = kwta_select(mem, crossed, k)
        np.testing.assert_array_equal(s[t].numpy().astype(bool), win)
        prev = (crossed if losers == "reset" else win).astype(float)


def test_lif_kwta_grad_zero_for_losers():
    x = torch.full((1, 1, 4), 0.0, dtype=torch.float64)
    x[0, 0] = torch.tensor([1.2, 1.5, 1.1, 0.5])
    x.requires_grad_()
    s, _, _ = LIF(0.9, kwta_k=1)(x)
    s.sum().backward()
    assert s[0, 0].tolist() == [0, 1, 0, 0]
    assert x.grad[0, 0, 1] > 0 and x.grad[0, 0, 0] == 0 and x.grad[0, 0, 2] == 0
