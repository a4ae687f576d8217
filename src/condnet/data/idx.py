"""Reader for the IDX format of MNIST and Fashion-MNIST (files raw or gzip-compressed).

The file is read incrementally: the header first, then at most the number of bytes it declares (plus one, to
notice extra data), so a gzip bomb or a forged header is refused without decompressing or allocating it all.
"""

import gzip
import math
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from condnet.errors import DataError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

# The largest data size an IDX header may declare. The biggest real file (MNIST/Fashion-MNIST train
# images) holds 47 MB; 2 GiB leaves room for larger IDX datasets while refusing forged headers that
# would make condnet decompress or allocate many gigabytes.
MAX_IDX_BYTES = 2 * 1024**3

_CHUNK = 1 << 24  # bytes read per call while reading the data
_FIX = "re-download or reinstall the dataset"


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (``.gz`` or raw) into an array of its declared shape and type."""
    compressed = path.suffix == ".gz"
    try:
        with (gzip.open if compressed else open)(path, "rb") as handle:
            return _read_stream(handle, path, compressed)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"cannot read IDX file {path}: {message}; {_FIX}") from None


def _read_stream(handle: BinaryIO, path: Path, compressed: bool) -> np.ndarray:
    dtype, shape = _read_header(handle, path)
    expected = math.prod(shape) * dtype.itemsize
    if expected > MAX_IDX_BYTES:
        raise DataError(f"{path} declares shape {shape} ({expected} bytes), more than the {MAX_IDX_BYTES} "
                        f"bytes an IDX file may hold; the header is corrupt: {_FIX}")
    data = _read_at_most(handle, expected + 1)
    if len(data) > expected:
        raise DataError(f"{path} {'decompresses to' if compressed else 'holds'} more than its header "
                        f"declares (shape {shape}, {expected} bytes); the file is corrupt: {_FIX}")
    if len(data) < expected:
        raise DataError(f"{path} is truncated or corrupt: header says shape {shape} ({expected} bytes) but "
                        f"{len(data)} bytes follow; {_FIX}")
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def _read_header(handle: BinaryIO, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    """The element type and shape of the magic number and dimensions at the start of ``handle``."""
    magic = _read_at_most(handle, 4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number); check that the path holds the "
                        "original MNIST/Fashion-MNIST files")
    ndim = magic[3]
    dims = _read_at_most(handle, 4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{path} is truncated (header incomplete); {_FIX}")
    shape = tuple(int.from_bytes(dims[4 * i: 4 * i + 4], "big") for i in range(ndim))
    return np.dtype(_DTYPES[magic[2]]), shape


def _read_at_most(handle: BinaryIO, limit: int) -> bytearray:
    """Up to ``limit`` bytes of ``handle``, fewer only at its end; never reads past ``limit``."""
    data = bytearray()
    while len(data) < limit:
        chunk = handle.read(min(limit - len(data), _CHUNK))
        if not chunk:
            break
        data += chunk
    return data
