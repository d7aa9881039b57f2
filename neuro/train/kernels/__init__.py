"""Compiled training kernels (numba, LLVM IR intrinsics), all through
:func:`sparse_neuro.neuro.jit.njit` (cache keyed to the sources):

- :mod:`.lif_steps`: the LIF recursion forward and backward, one step per call;
- :mod:`.event_products`: event-driven products of spike batches with a CSR matrix;
- :mod:`.fused_lif`: a sparse projection and its LIF layer, all steps in one call;
- :mod:`.simd`: the vector primitives and LIF tiles the fused kernels inline.

Which of them runs for a given layer and input: docs/TRAINING_KERNELS.md.
"""
