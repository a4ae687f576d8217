"""Datasets read into memory (built-in ones and the user's own), class names, validation split and tensor
batching."""

from condnet.data.batches import Batcher, random_crop, random_flip, validation_split
from condnet.data.datasets import (
    DATASETS,
    USER_DATASETS,
    DatasetInfo,
    Split,
    dataset_info,
    load_dataset,
    locate_dataset,
)
from condnet.data.user_data import UserData, data_info, read_user_data

__all__ = ["DATASETS", "USER_DATASETS", "Batcher", "DatasetInfo", "Split", "UserData", "data_info",
           "dataset_info", "load_dataset", "locate_dataset", "random_crop", "random_flip", "read_user_data",
           "validation_split"]
