"""encoders: everything between raw data and spikes (datasets and spike codes)."""

from sparse_neuro.encoders.codes import (
    delta_code,
    first_spike_steps,
    latency_code,
    poisson_code,
    population_code,
    rate_code,
    to_events,
)
from sparse_neuro.encoders.datasets import (
    MNIST_FILES,
    MNIST_MIRRORS,
    Split,
    default_data_dir,
    load_digits_split,
    load_mnist,
    read_idx,
)
from sparse_neuro.encoders.download import DownloadError, data_home
from sparse_neuro.encoders.natural_images import (
    DEFAULT_IMAGES,
    load_images,
    sample_patches,
    whiten_image,
    whiten_images,
    whitening_filter,
)
from sparse_neuro.neuro.storage.integrity import FormatError

__all__ = [
    "MNIST_FILES",
    "MNIST_MIRRORS",
    "DownloadError",
    "FormatError",
    "data_home",
    "Split",
    "default_data_dir",
    "DEFAULT_IMAGES",
    "delta_code",
    "first_spike_steps",
    "latency_code",
    "load_digits_split",
    "load_images",
    "load_mnist",
    "poisson_code",
    "population_code",
    "rate_code",
    "read_idx",
    "sample_patches",
    "to_events",
    "whiten_image",
    "whiten_images",
    "whitening_filter",
]
