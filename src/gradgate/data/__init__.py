"""Data for training: built-in datasets, file loaders, batching and preprocessing.

Everything here works on NumPy arrays; only `DataLoader` iteration builds gradgate Tensors.
"""

from gradgate.data.datasets import (
    DATASET_NAMES,
    digits,
    iris,
    load_dataset,
    moons,
    spirals,
    xor,
)
from gradgate.data.files import CsvData, load_csv, load_npz, parse_csv
from gradgate.data.loader import DataLoader, Dataset, TensorDataset, default_collate
from gradgate.data.samplers import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    WeightedRandomSampler,
)
from gradgate.data.transforms import Standardizer, train_test_split

__all__ = [
    "DATASET_NAMES",
    "BatchSampler",
    "CsvData",
    "DataLoader",
    "Dataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Standardizer",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "digits",
    "iris",
    "load_csv",
    "load_dataset",
    "load_npz",
    "moons",
    "parse_csv",
    "spirals",
    "train_test_split",
    "xor",
]
