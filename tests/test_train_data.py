"""train() with DataLoaders and iterables, any optimizer and scheduler, callbacks; exact resume."""

import pytest
import torch
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

from sparse_neuro.encoders import load_digits_split
from sparse_neuro.learning.callbacks import Callback
from sparse_neuro.learning.training import TrainConfig, count_ce_loss, train
from sparse_neuro.neuro.train import SpikingMLP

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def data():
    d = load_digits_split()
    return torch.as_tensor(d.x_train[:240]), torch.as_tensor(d.y_train[:240])


def _model(seed=0):
    return SpikingMLP((64, 24, 10), n_steps=6, beta=0.9, seed=seed)


def _loader(data, seeded):
    gen = torch.Generator().manual_seed(7) if seeded else None
    return DataLoader(TensorDataset(*data), batch_size=40, shuffle=True, generator=gen)


class _Killed(Exception):
    pass


class _Recorder(Callback):
    def __init__(self, kill_at=None):
        self.steps, self.epochs, self.kill_at = [], [], kill_at

    def on_step(self, state):
        self.steps.append((state.epoch, state.step, state.batch, state.loss))
        if self.kill_at is not None and state.step == self.kill_at:
            raise _Killed

    def on_epoch_end(self, state):
        self.epochs.append((state.epoch, state.step, state.loss))


@pytest.mark.parametrize("seeded", [True, False])  # own generator; torch's global random state
def test_dataloader_mid_epoch_resume_is_exact(data, tmp_path, seeded):
    cfg = TrainConfig(epochs=2, lr=3e-3, checkpoint_every=2)
    torch.manual_seed(11)
    ref_model = _model(1)
    ref = train(ref_model, _loader(data, seeded), None, cfg, loss_fn=count_ce_loss, progress=False)
    ck = tmp_path / "ck.pt"
    torch.manual_seed(11)
    with pytest.raises(_Killed):  # step 9: batch 2 of epoch 1, after the checkpoint at 8
        train(
            _model(1),
            _loader(data, seeded),
            None,
            cfg,
            callbacks=[_Recorder(kill_at=9)],
            loss_fn=count_ce_loss,
            checkpoint_path=ck,
            progress=False,
        )
    torch.manual_seed(999)  # the resume must not depend on the state it starts in
    m = _model(5)
    rec = _Recorder()
    res = train(
        m,
        _loader(data, seeded),
        None,
        cfg,
        callbacks=[rec],
        loss_fn=count_ce_loss,
        checkpoint_path=ck,
        progress=False,
    )
    assert res.resumed_from == (1, 2)
    assert rec.steps[0][:3] == (1, 9, 2)  # steps keep counting across the resume
    assert res.loss == ref.loss and res.train_accuracy == ref.train_accuracy
    for a, b in zip(ref_model.state_dict().values(), m.state_dict().values()):
        assert torch.equal(a, b)


def test_list_of_batches_trains_and_callbacks_see_every_step(data):
    x, y = data
    batches = [(x[i : i + 60], y[i : i + 60]) for i in range(0, 240, 60)]
    rec = _Recorder()
    res = train(
        _model(),
        batches,
        config=TrainConfig(epochs=3, lr=5e-3),
        loss_fn=count_ce_loss,
        callbacks=[rec],
        progress=False,
    )
    assert [s[1] for s in rec.steps] == list(range(1, 13))
    assert [s[2] for s in rec.steps[:4]] == [0, 1, 2, 3]
    assert [(e, s) for e, s, _ in rec.epochs] == [(0, 4), (1, 8), (2, 12)]
    assert [loss for *_, loss in rec.epochs] == pytest.approx(res.loss)
    assert res.loss[-1] < res.loss[0]


def test_optimizer_factory_and_scheduler_are_used_and_resume(data, tmp_path):
    x, y = data
    cfg = TrainConfig(epochs=3, batch_size=60, lr=1.0)
    seen = []

    class LR(Callback):
        def on_epoch_end(self, state):
            seen.append(state.optimizer.param_groups[0]["lr"])
            assert isinstance(state.optimizer, torch.optim.SGD)

    def run(model, **kw):
        return train(
            model,
            x,
            y,
            cfg,
            optimizer=lambda p: torch.optim.SGD(p, lr=0.2, momentum=0.5),
            scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, 1, gamma=0.5),
            loss_fn=count_ce_loss,
            progress=False,
            **kw,
        )

    ref_model = _model(2)
    ref = run(ref_model, callbacks=[LR()])
    assert seen == pytest.approx([0.1, 0.05, 0.025])  # stepped after every epoch
    ck = tmp_path / "ck.pt"
    run(_model(2), checkpoint_path=ck, stop_after_batches=6)  # 1 epoch and a half
    m = _model(3)
    res = run(m, checkpoint_path=ck)
    assert res.resumed_from == (1, 0) and res.loss == ref.loss
    for a, b in zip(ref_model.state_dict().values(), m.state_dict().values()):
        assert torch.equal(a, b)


def test_step_scheduler_and_optimizer_instance(data):
    x, y = data
    m = _model()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    train(
        m,
        x,
        y,
        TrainConfig(epochs=1, batch_size=60),
        optimizer=opt,
        scheduler=torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5),
        scheduler_interval="step",
        progress=False,
    )
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 / 2**4)


class _Stream(IterableDataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __iter__(self):
        return iter(zip(self.x, self.y))


def test_data_that_cannot_resume_mid_epoch_is_refused_clearly(data, tmp_path):
    x, y = data

    def gen():
        yield x[:60], y[:60]

    mid = TrainConfig(epochs=1, checkpoint_every=1)
    for source in (gen(), DataLoader(_Stream(x, y), batch_size=60), map(tuple, [(x, y)])):
        with pytest.raises(ValueError, match="checkpoint_every=1 needs data that can resume"):
            train(_model(), source, None, mid, progress=False)
    with pytest.raises(ValueError, match="one-shot iterator"):
        train(_model(), gen(), None, TrainConfig(epochs=2), progress=False)
    # an IterableDataset loader trains and resumes at epoch ends
    ck = tmp_path / "ck.pt"
    cfg = TrainConfig(epochs=2)
    train(_model(), DataLoader(_Stream(x, y), batch_size=60), None, cfg, progress=False,
          checkpoint_path=ck, stop_after_batches=5)  # fmt: skip
    res = train(_model(), DataLoader(_Stream(x, y), batch_size=60), None, cfg,
                progress=False, checkpoint_path=ck)  # fmt: skip
    assert res.resumed_from == (1, 0) and len(res.loss) == 2


def test_bad_arguments_name_the_parameter(data):
    x, y = data
    with pytest.raises(TypeError, match="y_train=None"):
        train(_model(), x, None, progress=False)
    with pytest.raises(ValueError, match="scheduler_interval"):
        train(_model(), x, y, scheduler_interval="batch", progress=False)
    with pytest.raises(TypeError, match="optimizer factory must return"):
        train(_model(), x, y, optimizer=lambda p: 3, progress=False)
    with pytest.raises(TypeError, match=r"callbacks\[0\]"):
        train(_model(), x, y, callbacks=[object()], progress=False)
    with pytest.raises(ValueError, match="batch 0 of the training data must be a pair"):
        train(_model(), [x], progress=False)


def test_resigned_checkpoint_with_bad_epoch_state_is_a_format_error(data, tmp_path):
    from sparse_neuro.neuro.storage.checkpoint import seal
    from sparse_neuro.neuro.storage.integrity import FormatError

    cfg = TrainConfig(epochs=1, checkpoint_every=2)
    ck = tmp_path / "ck.pt"
    train(_model(), _loader(data, True), None, cfg, checkpoint_path=ck, progress=False,
          stop_after_batches=3)  # fmt: skip
    state = torch.load(ck, weights_only=True)
    assert state["batch"] == 2 and len(state["epoch_state"]["generators"]) == 1
    state.pop("integrity")
    state["epoch_state"]["torch_rng"] = torch.zeros(3)
    torch.save(seal(state), ck)
    with pytest.raises(FormatError, match=r"epoch_state.torch_rng must be a uint8"):
        train(_model(), _loader(data, True), None, cfg, checkpoint_path=ck, progress=False)
