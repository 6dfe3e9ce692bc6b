"""Data for training: built-in datasets, file loaders, batching and preprocessing.

Everything here works on NumPy arrays; only `DataLoader` iteration builds gradgate Tensors.
"""

from gradgate.data.datasets import (
    DATASET_NAMES,
    digits,
    iris,
    load_dataset,
    load_table,
    moons,
    spirals,
    xor,
)
from gradgate.data.files import (
    MAX_CLASSES,
    MAX_COLUMNS,
    CsvData,
    csv_columns,
    load_csv,
    load_npz,
    parse_csv,
)
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
    "MAX_CLASSES",
    "MAX_COLUMNS",
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
    "csv_columns",
    "digits",
    "iris",
    "load_csv",
    "load_dataset",
    "load_npz",
    "load_table",
    "moons",
    "parse_csv",
    "spirals",
    "train_test_split",
    "xor",
]
