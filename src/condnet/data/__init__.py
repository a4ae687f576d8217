"""Datasets read into memory, class names, validation split and tensor batching."""

from condnet.data.batches import Batcher, random_crop, random_flip, validation_split
from condnet.data.datasets import DATASETS, DatasetInfo, Split, dataset_info, load_dataset, locate_dataset

__all__ = ["DATASETS", "Batcher", "DatasetInfo", "Split", "dataset_info", "load_dataset", "locate_dataset",
           "random_crop", "random_flip", "validation_split"]
