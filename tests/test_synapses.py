"""SparseSynapses: builders, conversions, memory, validation."""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sparse_neuro.neuro import SparseSynapses
from sparse_neuro.neuro.train.sparse_linear import synapses_to_torch


def test_from_dense_roundtrip_and_scipy_torch():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(30, 20)) * (rng.random((30, 20)) < 0.2)
    syn = SparseSynapses.from_dense(w, delay=2)
    assert syn.shape == (30, 20) and syn.n_synapses == np.count_nonzero(w)
    np.testing.assert_allclose(syn.to_dense(), w)
    np.testing.assert_allclose(syn.to_scipy().toarray(), w)
    np.testing.assert_allclose(synapses_to_torch(syn, "csr").to_dense().numpy(), w)
    np.testing.assert_allclose(synapses_to_torch(syn, "coo").to_dense().numpy(), w)
    assert np.all(syn.delays == 2)
    back = SparseSynapses.from_scipy(sp.csr_matrix(w))
    np.testing.assert_array_equal(back.indptr, syn.indptr)
    np.testing.assert_array_equal(back.indices, syn.indices)
    assert syn.mask().sum() == syn.n_synapses
    # fan-in/out agree with the dense matrix
    np.testing.assert_array_equal(syn.fan_out(), np.count_nonzero(w, axis=1))
    np.testing.assert_array_equal(syn.fan_in(), np.count_nonzero(w, axis=0))


def test_torch_sparse_matmul_matches_dense():
    rng = np.random.default_rng(1)
    syn = SparseSynapses.fixed_probability(50, 40, 0.1, rng.normal(size=(50, 40)), seed=2)
    x = torch.from_numpy(rng.random((3, 50)).astype(np.float32))
    y_sparse = (synapses_to_torch(syn, "coo").t() @ x.t()).t()
    y_dense = x @ torch.from_numpy(syn.to_dense())
    torch.testing.assert_close(y_sparse, y_dense, rtol=1e-5, atol=1e-5)


def test_fixed_probability_statistics_and_no_self():
    syn = SparseSynapses.fixed_probability(400, 300, 0.05, 1.0, seed=3)
    n = syn.n_synapses
    mean, sd = 400 * 300 * 0.05, np.sqrt(400 * 300 * 0.05 * 0.95)
    assert abs(n - mean) < 5 * sd
    # rows sorted, no duplicates
    for i in range(0, 400, 37):
        row = syn.indices[syn.indptr[i] : syn.indptr[i + 1]]
        assert np.all(np.diff(row) > 0)
    rec = SparseSynapses.fixed_probability(200, 200, 0.3, 1.0, seed=4, allow_self=False)
    assert not np.any(rec.pre_indices() == rec.indices)
    # same seed -> same matrix
    again = SparseSynapses.fixed_probability(400, 300, 0.05, 1.0, seed=3)
    np.testing.assert_array_equal(again.indices, syn.indices)


def test_fixed_indegree_exact_and_distinct():
    syn = SparseSynapses.fixed_indegree(100, 80, 15, 0.5, seed=5, allow_self=False)
    np.testing.assert_array_equal(syn.fan_in(), np.full(80, 15))
    pairs = set(zip(syn.pre_indices().tolist(), syn.indices.tolist()))
    assert len(pairs) == syn.n_synapses
    assert not np.any(syn.pre_indices() == syn.indices)


def test_memory_per_synapse_and_build_speed():
    t0 = time.perf_counter()
    syn = SparseSynapses.fixed_probability(30_000, 25_000, 0.02, 0.1, seed=0)
    elapsed = time.perf_counter() - t0
    assert syn.n_synapses > 14_900_000
    per_syn = (syn.indices.nbytes + syn.weights.nbytes + syn.delays.nbytes) / syn.n_synapses
    assert per_syn == 9.0
    assert syn.nbytes / syn.n_synapses < 9.1  # indptr adds ~0.02 bytes per synapse
    assert elapsed < 20.0  # seconds, not minutes (about 1-2 s here)


def test_validation_errors_name_the_problem():
    with pytest.raises(ValueError, match="indices out of range"):
        SparseSynapses(np.array([0, 1]), np.array([5]), np.array([1.0]), 0, n_post=3)
    with pytest.raises(ValueError, match="finite"):
        SparseSynapses(np.array([0, 1]), np.array([0]), np.array([np.nan]), 0, n_post=3)
    with pytest.raises(ValueError, match="non-decreasing"):
        SparseSynapses(np.array([0, 2, 1]), np.array([0, 1]), np.array([1.0, 1.0]), 0, n_post=3)
    with pytest.raises(ValueError, match="shape"):
        SparseSynapses(np.array([0, 2]), np.array([0]), np.array([1.0]), 0, n_post=3)
    with pytest.raises(ValueError, match="delays must be >= 0"):
        SparseSynapses.from_dense(np.ones((2, 2)), delay=-1)
    with pytest.raises(ValueError, match="p must be in \\[0, 1\\]"):
        SparseSynapses.fixed_probability(3, 3, 1.5)
    with pytest.raises(ValueError, match="k must be in"):
        SparseSynapses.fixed_indegree(3, 3, 5)
    with pytest.raises(ValueError, match="2-D"):
        SparseSynapses.from_dense(np.ones(3))
