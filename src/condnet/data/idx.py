"""Reader for the IDX format of MNIST and Fashion-MNIST (files raw or gzip-compressed)."""

import gzip
import zlib
from pathlib import Path

import numpy as np

from condnet.errors import CondnetError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (``.gz`` or raw) into an array of its declared shape and type."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise CondnetError(f"cannot read IDX file {path}: {exc}; re-download or reinstall the dataset") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise CondnetError(f"{path} is not an IDX file (bad magic number); check that the path holds the "
                           "original MNIST/Fashion-MNIST files")
    dtype = np.dtype(_DTYPES[data[2]])
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise CondnetError(f"{path} is truncated (header incomplete); re-download or reinstall the dataset")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise CondnetError(f"{path} is truncated or corrupt: header says shape {shape} ({expected} bytes) but "
                           f"{len(data) - header} bytes follow; re-download or reinstall the dataset")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
