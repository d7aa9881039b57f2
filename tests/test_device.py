"""Torch layers and training follow the model's device (tested on CPU; GPU where present)."""

from __future__ import annotations

import pytest
import torch

from sparse_neuro.experiments.__main__ import main
from sparse_neuro.learning.training import TrainConfig, evaluate, resolve_device, train
from sparse_neuro.neuro.train import LIF, SpikingMLP

HAS_CUDA = torch.cuda.is_available()


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="torch device"):
        resolve_device("warp-drive")
    if not HAS_CUDA:
        with pytest.raises(ValueError, match="not available.*'cpu'"):
            resolve_device("cuda")


def test_lif_state_is_created_on_the_input_device():
    # the meta device has no CPU fallback: a CPU initial membrane would fail to mix with it
    x = torch.empty(4, 2, 3, device="meta")
    spikes, mems, mem_t = LIF(0.9)(x)
    assert spikes.device.type == "meta" and mem_t.device.type == "meta"


@pytest.mark.parametrize("device", ["cpu"] + (["cuda"] if HAS_CUDA else []))
def test_train_and_evaluate_on_the_model_device(device):
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 6, generator=g), torch.randint(0, 3, (40,), generator=g)
    model = SpikingMLP((6, 10, 3), n_steps=5, seed=0).to(device)
    ref = SpikingMLP((6, 10, 3), n_steps=5, seed=0)
    cfg = TrainConfig(epochs=1, batch_size=20, lr=1e-2)
    train(model, x.numpy(), y.numpy(), cfg, progress=False)
    train(ref, x.numpy(), y.numpy(), cfg, progress=False)
    assert next(model.parameters()).device.type == device
    ev, ev_ref = evaluate(model, x.numpy(), y.numpy()), evaluate(ref, x.numpy(), y.numpy())
    assert ev["predictions"].shape == (40,)
    if device == "cpu":  # same device, same seeds: the same run
        assert (ev["predictions"] == ev_ref["predictions"]).all()


@pytest.mark.skipif(HAS_CUDA, reason="checks the error on a machine without a GPU")
def test_cli_device_cuda_without_gpu_is_a_usage_error(tmp_path, capsys):
    assert (
        main(["run", "digits-surrogate", "--smoke", "--out", str(tmp_path), "--set", "device=cuda"])
        == 2
    )
    assert "not available" in capsys.readouterr().err
