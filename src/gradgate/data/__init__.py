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
from gradgate.data.loader import DataLoader, Dataset, TensorDataset
from gradgate.data.transforms import Standardizer, train_test_split

__all__ = [
    "DATASET_NAMES",
    "CsvData",
    "DataLoader",
    "Dataset",
    "Standardizer",
    "TensorDataset",
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
