"""Hostile files for every reader: links, virtual and external storage, FIFOs, lying sizes.

Each reader (network, recording, results, NIR, image stack, point and sweep files,
checkpoints) gets a file of each kind; every one must end in a FormatError that reads
nothing outside the file (a sentinel file's access time stays untouched and its content
appears nowhere) and never blocks (FIFO cases run in a subprocess with a timeout, since a
thread blocked inside HDF5 would hold h5py's global lock).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from sparse_neuro.experiments.common import UsageError
from sparse_neuro.experiments.point_store import PointStore
from sparse_neuro.neuro import (
    LIFParams,
    Network,
    Population,
    Projection,
    SparseSynapses,
    SpikeMonitor,
)
from sparse_neuro.neuro.interop import read_nir, to_nir
from sparse_neuro.neuro.model.inputs import PoissonSource
from sparse_neuro.neuro.model.plasticity_rules import STDPRule, ThresholdAdaptation
from sparse_neuro.neuro.model.record import Recording, SpikeTrains
from sparse_neuro.neuro.storage.hdf5 import (
    load_network,
    load_recording,
    read_arrays,
    save_network,
    save_recording,
    write_arrays,
)
from sparse_neuro.neuro.storage.integrity import FormatError, stamp_integrity
from sparse_neuro.neuro.storage.safe_read import load_npz, read_json

ROOT = Path(__file__).resolve().parents[1]
SECRET = b"SENTINEL-outside-data-7f3a9c"
N = 64  # elements of the replaced dataset


# ----------------------------------------------------------------------------- sources
def _net() -> Network:
    syn = SparseSynapses.fixed_probability(8, 4, 0.5, 0.1, seed=0)
    pop = Population(
        "exc",
        4,
        LIFParams(tau_mem_s=0.02, t_ref_s=2e-3, bias=0.1),
        kwta_k=2,
        adaptation=ThresholdAdaptation(theta_plus=0.05, tau_theta_s=1.0),
    )
    return Network(
        [pop],
        [Projection("inp", "exc", syn, plasticity=STDPRule(a_plus=0.02))],
        [PoissonSource("inp", 8, 10.0)],
        monitors=[SpikeMonitor("exc")],
    )


def _write_network(p: Path) -> None:
    save_network(p, _net())


def _write_recording(p: Path) -> None:
    st = SpikeTrains(np.linspace(0, 0.09, N), np.arange(N) % 4, 4, 0.1)
    save_recording(p, Recording({"exc": st}, {}, {}, 1e-3, 0.1, {}))


def _write_results(p: Path) -> None:
    write_arrays(p, "g", {"x": np.arange(N, dtype=np.float64)})


def _write_nir(p: Path) -> None:
    from sparse_neuro.neuro.interop import write_nir
    from sparse_neuro.neuro.train import SpikingMLP

    with pytest.warns(UserWarning):
        write_nir(p, to_nir(SpikingMLP((8, 8), n_steps=2, beta=0.9, seed=0)))


def _read_stack(p: Path) -> object:
    from sparse_neuro.encoders.natural_images import load_images

    return load_images(p)


def _write_stack(p: Path) -> None:
    with h5py.File(p, "w") as f:
        f["images"] = np.zeros((1, 8, 8))


#: reader name -> (writer, reader, dataset replaced, re-sign?)
READERS: dict[str, tuple[Callable, Callable, str, bool]] = {
    "network": (_write_network, load_network, "/projections/0/weights", True),
    "recording": (_write_recording, load_recording, "/spikes/exc/times_s", True),
    "results": (_write_results, lambda p: read_arrays(p, "g"), "/g/x", True),
    "nir": (_write_nir, read_nir, "/node/nodes/fc0/weight", False),
    "image stack": (_write_stack, _read_stack, "/images", False),
}


def _sentinels(d: Path) -> tuple[Path, Path]:
    """A raw file and an HDF5 file holding SECRET, with their access time set to 0."""
    raw = d / "secret.bin"
    raw.write_bytes(SECRET * 64)
    h5 = d / "secret.h5"
    with h5py.File(h5, "w") as f:
        f["data"] = np.frombuffer((SECRET * 64)[: 4 * N], dtype=np.float32)
    for p in (raw, h5):
        os.utime(p, (0, p.stat().st_mtime))
    return raw, h5


def _replace(f: h5py.File, name: str, how: str, raw: Path, h5: Path) -> None:
    """Replace dataset ``name`` of an open file by a hostile object of kind ``how``."""
    old = f[name]
    dtype, shape = old.dtype, old.shape
    del f[name]
    if how == "soft link":
        f["hidden/data"] = np.zeros(shape, dtype)  # a real target, in another group
        f[name] = h5py.SoftLink("/hidden/data")
    elif how == "external link":
        f[name] = h5py.ExternalLink(str(h5), "/data")
    elif how == "virtual dataset":
        layout = h5py.VirtualLayout(shape=(N,), dtype=np.float32)
        layout[:] = h5py.VirtualSource(str(h5), "data", shape=(N,))
        f.create_virtual_dataset(name, layout)
    elif how == "external storage":
        f.create_dataset(name, shape=shape, dtype=dtype, external=[(str(raw), 0, 1 << 20)])
    elif how == "oversized":  # 2 GiB declared, never written (reads would be fill values)
        f.create_dataset(name, shape=(1 << 28,), dtype=np.float64)
    elif how == "oversized compressed":
        f.create_dataset(
            name, shape=(1 << 28,), dtype=np.float64, chunks=(1 << 16,), compression="gzip"
        )
    else:
        raise AssertionError(how)


KINDS = [
    "soft link",
    "external link",
    "virtual dataset",
    "external storage",
    "oversized",
    "oversized compressed",
]


def _hostile(src: Path, dest: Path, name: str, how: str, raw: Path, h5: Path, sign: bool) -> Path:
    dest.write_bytes(src.read_bytes())
    with h5py.File(dest, "a") as f:
        _replace(f, name, how, raw, h5)
        if sign and not how.startswith("oversized"):  # signing would read 2 GiB
            stamp_integrity(f)  # re-signed: only the reader's own checks can refuse it
    for p in (raw, h5):
        os.utime(p, (0, p.stat().st_mtime))  # signing may have read them
    return dest


def _refused(read: Callable, path: Path) -> str:
    with pytest.raises(FormatError) as e:
        read(path)
    msg = str(e.value)
    assert str(path) in msg and SECRET.decode() not in msg, msg
    return msg


@pytest.mark.parametrize("reader", list(READERS))
def test_every_hostile_hdf5_kind_is_refused_and_reads_nothing_outside(tmp_path, reader):
    write, read, name, sign = READERS[reader]
    raw, h5 = _sentinels(tmp_path)
    src = tmp_path / "good.h5"
    write(src)
    read(src)  # the unmodified file reads
    want = {
        "soft link": "soft link",
        "external link": "external link",
        "virtual dataset": "virtual dataset",
        "external storage": "external file",
        "oversized": "declares",
        "oversized compressed": "declares",
    }
    for how in KINDS:
        path = _hostile(src, tmp_path / f"{how.replace(' ', '_')}.h5", name, how, raw, h5, sign)
        msg = _refused(read, path)
        assert want[how] in msg, (how, msg)
    assert raw.stat().st_atime == 0 and h5.stat().st_atime == 0, "a sentinel file was read"


# ----------------------------------------------------------------------------- FIFOs, no hang
_FIFO_SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from tests.test_hostile_files import fifo_outcomes
    print(json.dumps(fifo_outcomes(Path(sys.argv[2]))))
""")


def fifo_outcomes(d: Path) -> dict[str, str]:
    """Every reader on files that are, or point at, a FIFO: the exception type of each."""
    fifo = d / "fifo"
    os.mkfifo(fifo)
    devzero = d / "zero.h5"
    devzero.symlink_to("/dev/zero")
    out: dict[str, str] = {}

    def run(label: str, fn: Callable, path: Path) -> None:
        try:
            fn(path)
            out[label] = "read"
        except Exception as e:
            out[label] = type(e).__name__

    for reader, (write, read, name, _sign) in READERS.items():
        src = d / f"{reader}.h5"
        write(src)
        run(f"{reader}: FIFO", read, fifo)
        run(f"{reader}: symlink to /dev/zero", read, devzero)
        for how in ("external link", "external storage"):
            dest = d / f"{reader}-{how}.h5"
            dest.write_bytes(src.read_bytes())
            with h5py.File(dest, "a") as f:
                _replace(f, name, how, fifo, fifo)  # the FIFO as the other file
            run(f"{reader}: {how} to a FIFO", read, dest)
    store = PointStore(d / "points", "r")
    (d / "points" / "r-a.json").symlink_to("/dev/zero")
    os.mkfifo(d / "points" / "r-b.json")
    run("point: symlink to /dev/zero", lambda _p: store.get("a"), d)
    run("point: FIFO", lambda _p: store.get("b"), d)
    from sparse_neuro.learning.training import load_checkpoint

    run("training checkpoint: FIFO", load_checkpoint, fifo)
    run("npz checkpoint: FIFO", load_npz, fifo)
    run("npz checkpoint: /dev/zero", load_npz, devzero)
    run("sweep file: FIFO", read_json, fifo)
    return out


def test_fifo_and_device_targets_never_block_any_reader(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", _FIFO_SCRIPT, str(ROOT), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(out) == 4 * len(READERS) + 6
    assert set(out.values()) == {"FormatError"}, out


# ----------------------------------------------------------------------------- sizes
_SIZE_SCRIPT = textwrap.dedent("""
    import json, resource, sys, time
    sys.path.insert(0, sys.argv[1])
    from sparse_neuro.neuro.storage.hdf5 import load_network
    from sparse_neuro.neuro.storage.integrity import FormatError
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    try:
        load_network(sys.argv[2])
        outcome = "read"
    except FormatError as e:
        outcome = str(e)
    print(json.dumps({"s": time.perf_counter() - t0, "outcome": outcome, "grew_kib":
                      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before}))
""")


def test_a_file_declaring_2_gib_is_refused_fast_in_little_memory(tmp_path):
    raw, h5 = _sentinels(tmp_path)
    src = tmp_path / "net.h5"
    _write_network(src)
    path = _hostile(
        src, tmp_path / "big.h5", "/projections/0/weights", "oversized", raw, h5, sign=False
    )
    assert path.stat().st_size < 100_000
    proc = subprocess.run(
        [sys.executable, "-c", _SIZE_SCRIPT, str(ROOT), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "declares 2147483648 bytes" in res["outcome"], res
    assert res["s"] < 1.0 and res["grew_kib"] < 100 * 1024, res


def test_a_file_larger_than_available_memory_is_refused_naming_both(tmp_path, monkeypatch):
    import sparse_neuro.neuro.storage.safe_read as safe_read

    src = tmp_path / "net.h5"
    _write_network(src)
    monkeypatch.setattr(safe_read, "available_memory", lambda: 10)  # bytes
    with pytest.raises(
        FormatError,
        match=r"net\.h5: reading it needs .* bytes\), more than "
        r"the 0\.00 GiB of memory available",
    ):
        load_network(src)
    monkeypatch.setattr(safe_read, "available_memory", lambda: None)  # unknown: no check
    load_network(src)


def test_zip_bomb_npz_is_refused_from_its_directory(tmp_path):
    bomb = tmp_path / "bomb.npz"
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    header["shape"] = (1 << 25,)  # 256 MiB of float64 zeros in about 260 kB
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("step.npy", "w", force_zip64=True) as m:
            np.lib.format.write_array_header_1_0(m, header)
            zero = bytes(1 << 24)
            for _ in range(16):
                m.write(zero)
    assert bomb.stat().st_size < 400_000
    with pytest.raises(FormatError, match="member 'step.npy' declares"):
        load_npz(bomb)
    from sparse_neuro.neuro.storage.safe_read import load_npz as used_by_stdp_digits

    assert used_by_stdp_digits is load_npz
    small = tmp_path / "ok.npz"
    np.savez(small, a=np.arange(5), b=np.ones((2, 3)))
    got = load_npz(small)
    assert got["a"].tolist() == list(range(5)) and got["b"].shape == (2, 3)


def test_zip_bomb_torch_checkpoint_is_refused_before_loading(tmp_path):
    """torch.save writes a zip of stored members: a checkpoint whose members declare more
    than the file holds is refused from its directory, before torch.load inflates it."""
    import torch

    from sparse_neuro.learning.training import load_checkpoint

    bomb = tmp_path / "ckpt.pt"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("archive/data/0", "w", force_zip64=True) as m:
            for _ in range(16):
                m.write(bytes(1 << 24))  # 256 MiB of zeros in about 260 kB
    assert bomb.stat().st_size < 400_000
    with pytest.raises(FormatError, match="declares") as e:
        load_checkpoint(bomb)
    assert str(bomb) in str(e.value)
    not_zip = tmp_path / "legacy.pt"
    not_zip.write_bytes(b"\x80\x02not a zip")
    with pytest.raises(FormatError, match="not a zip archive"):
        load_checkpoint(not_zip)
    good = tmp_path / "good.pt"
    torch.save({"x": torch.arange(3)}, good)
    with pytest.raises(FormatError, match="manifest|seal|checksum|not a training"):
        load_checkpoint(good)  # a real torch file passes the zip check, then the seal


# ----------------------------------------------------------------------------- JSON files
@pytest.mark.parametrize(
    "content", [b"{not json", b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe", b""]
)
def test_bad_point_and_sweep_files_are_format_errors_naming_the_file(tmp_path, content):
    from sparse_neuro.experiments.sweep import check_sweep_identity

    store = PointStore(tmp_path / "p", "r")
    (tmp_path / "p" / "r-a.json").write_bytes(content)
    with pytest.raises(FormatError, match=r"r-a\.json: point file"):
        store.get("a")
    (tmp_path / "sweep.json").write_bytes(content)
    with pytest.raises(FormatError, match=r"sweep\.json: sweep file"):
        check_sweep_identity(
            tmp_path, {"experiment": "x", "smoke": True, "overrides": {}, "code_version": "1"}
        )


# ----------------------------------------------------------------------------- sweeps
def test_a_sweep_rerun_with_another_configuration_is_refused(tmp_path, monkeypatch):
    import csv

    import sparse_neuro.experiments.sweep as sweep

    def in_process(name, out, todo, smoke, overrides, scheduler, workers):
        for p in todo:  # stands in for Dask
            sweep._run_point(
                name, str(out / "points" / p.id), p.seed, smoke, {**overrides, **dict(p.values)}
            )
        return {}

    monkeypatch.setattr(sweep, "_run_points", in_process)
    grid = {"n_pairs": ["4"]}
    r1 = sweep.run_sweep("stdp-window", tmp_path, grid, [0], smoke=True)
    assert r1["ran"] == 1 and r1["finished"] == 1
    before = {f: (tmp_path / f).read_bytes() for f in ("sweep.json", "sweep.csv")}
    for kwargs, what in (
        ({"smoke": True, "overrides": {"tau_plus_s": "0.03"}}, "overrides"),
        ({"smoke": False}, "smoke"),
    ):
        with pytest.raises(UsageError, match=f"another configuration.*{what}"):
            sweep.run_sweep("stdp-window", tmp_path, grid, [0], **kwargs)
        assert {f: (tmp_path / f).read_bytes() for f in before} == before  # nothing rewritten
    r2 = sweep.run_sweep("stdp-window", tmp_path, grid, [0, 1], smoke=True)  # more seeds: fine
    assert r2["ran"] == 1 and r2["skipped"] == 1
    stored = json.loads((tmp_path / "sweep.json").read_text())
    with (tmp_path / "sweep.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert stored["seeds"] == [0, 1] and sorted(r["seed"] for r in rows) == ["0", "1"]
    orphan = tmp_path / "orphan"
    (orphan / "points" / "n_pairs=4__seed=0").mkdir(parents=True)  # points, no sweep.json
    with pytest.raises(UsageError, match="configuration is unknown"):
        sweep.run_sweep("stdp-window", orphan, grid, [0], smoke=True)


# ----------------------------------------------------------------------------- schema
def _edited(src: Path, dest: Path, edit: Callable[[h5py.File], None]) -> Path:
    dest.write_bytes(src.read_bytes())
    with h5py.File(dest, "a") as f:
        edit(f)
        stamp_integrity(f)  # re-signed
    return dest


def _rename(g: str, old: str, new: str | None) -> Callable[[h5py.File], None]:
    def edit(f: h5py.File) -> None:
        v = f[g].attrs[old]
        del f[g].attrs[old]
        if new is not None:
            f[g].attrs[new] = v

    return edit


def _set(g: str, name: str, value: object) -> Callable[[h5py.File], None]:
    def edit(f: h5py.File) -> None:
        f[g].attrs[name] = value

    return edit


POP, PRJ = "/populations/exc", "/projections/0"
EDITS: list[tuple[str, Callable[[h5py.File], None], str]] = [
    *[
        (f"{a} deleted", _rename(POP, a, None), f"attribute '{a}' is missing")
        for a in ("bias", "tau_mem_s", "t_ref_s", "kwta_k")
    ],
    ("adaptation deleted", _rename(POP, "adaptation.json", None), "'adaptation' is missing"),
    ("plasticity deleted", _rename(PRJ, "plasticity", None), "'plasticity' is missing"),
    ("bias renamed", _rename(POP, "bias", "bias_v"), "'bias' is missing"),
    ("unknown attribute", _set(POP, "colour", "red"), "unknown attribute(s) ['colour']"),
    ("kwta_k = 2.9", _set(POP, "kwta_k", 2.9), "kwta_k: expected an integer, got 2.9"),
    ("kwta_k = '3'", _set(POP, "kwta_k", "3"), "kwta_k: expected an integer, got '3'"),
    ("receptor = 0.7", _set(PRJ, "receptor", 0.7), "receptor: expected an integer"),
    ("tau_mem_s = '0.02'", _set(POP, "tau_mem_s", "0.02"), "tau_mem_s: expected a number"),
    ("kwta_k = True", _set(POP, "kwta_k", True), "kwta_k: expected an integer"),
]


def test_every_schema_attribute_is_required_and_typed(tmp_path):
    src = tmp_path / "net.h5"
    _write_network(src)
    back = load_network(src)
    assert back.populations[0].kwta_k == 2 and back.projections[0].plasticity is not None
    for what, edit, message in EDITS:
        path = _edited(src, tmp_path / "edited.h5", edit)
        with pytest.raises(FormatError) as e:
            load_network(path)
        assert message in str(e.value), (what, str(e.value))


def test_integer_weights_are_refused_not_rounded(tmp_path):
    src = tmp_path / "net.h5"
    _write_network(src)

    def int_weights(f: h5py.File) -> None:
        w = f[PRJ + "/weights"][()]
        del f[PRJ + "/weights"]
        f[PRJ + "/weights"] = (w * 1000).astype(np.int64)

    with pytest.raises(FormatError, match="weights: expected a 1-D array of kind 'f'"):
        load_network(_edited(src, tmp_path / "int.h5", int_weights))


def test_none_is_stored_explicitly_and_round_trips(tmp_path):
    net = Network([Population("a", 3)], [], [], monitors=[])
    save_network(tmp_path / "n.h5", net)
    with h5py.File(tmp_path / "n.h5") as f:
        assert isinstance(f["populations/a"].attrs["kwta_k"], h5py.Empty)
    assert load_network(tmp_path / "n.h5").populations[0].kwta_k is None
    # schema 2 wrote no attribute for None: read as None there, an error in schema 3
    for version, outcome in ((2, None), (3, "'kwta_k' is missing")):

        def drop(f: h5py.File, version: int = version) -> None:
            del f["populations/a"].attrs["kwta_k"]
            f.attrs["schema_version"] = version

        path = _edited(tmp_path / "n.h5", tmp_path / f"v{version}.h5", drop)
        if outcome is None:
            assert load_network(path).populations[0].kwta_k is None
        else:
            with pytest.raises(FormatError, match=outcome):
                load_network(path)


# ----------------------------------------------------------------------------- temp files
def test_a_writer_removes_stale_temp_files_of_dead_writers_only(tmp_path):
    from sparse_neuro.neuro.storage.atomic import write_text

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    stale = tmp_path / f".other.h5.{dead}.0123abcd.neuro-tmp"
    live = tmp_path / f".other.h5.{os.getppid()}.0123abcd.neuro-tmp"  # a live process
    foreign = tmp_path / f".notes.{dead}.txt"  # not the toolkit's pattern
    for p in (stale, live, foreign):
        p.write_text("x")
    write_text(tmp_path / "unrelated.txt", "hello")  # any writer in the directory
    assert not stale.exists() and live.exists() and foreign.exists()


def test_matlab_stack_declaring_more_than_memory_is_refused_before_loading(tmp_path, monkeypatch):
    """A .mat stack's variables are listed (scipy.io.whosmat) and their declared size checked
    against the memory available before loadmat inflates them."""
    import scipy.io

    import sparse_neuro.neuro.storage.safe_read as sr
    from sparse_neuro.encoders.natural_images import load_images

    path = tmp_path / "IMAGES.mat"
    scipy.io.savemat(path, {"IMAGES": np.zeros((64, 64, 4))}, do_compression=True)
    assert len(load_images(path)) == 4  # a real stack loads
    monkeypatch.setattr(sr, "available_memory", lambda: 50_000)  # < 64*64*4*8 = 131 kB
    with pytest.raises(FormatError, match="GiB") as e:
        load_images(path)
    assert str(path) in str(e.value)
    bad = tmp_path / "bad.mat"
    bad.write_bytes(b"MATLAB 5.0 MAT-file" + bytes(200))
    with pytest.raises(FormatError, match=str(bad)):
        load_images(bad)
