"""One .npz of arrays: ``x_train``, ``y_train``, ``x_test``, ``y_test`` and optionally ``x_val``, ``y_val``
and ``class_names``. Images are uint8 [N, H, W], [N, H, W, C] or [N, C, H, W] with C 1 or 3; labels are
integers 0..K-1."""

import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from condnet.data.datasets import Split
from condnet.errors import DataError, DataNotFoundError, first_line

KEYS = ("x_train", "y_train", "x_test", "y_test", "x_val", "y_val", "class_names")
NEEDS = ("a .npz with x_train, y_train, x_test, y_test (uint8 images, integer labels) and optionally x_val, "
         "y_val, class_names")
_NPZ_ERRORS = (OSError, ValueError, EOFError, zipfile.BadZipFile)


def read_arrays(path: Path) -> tuple[tuple[str, ...], Split, Split | None, Split]:
    """Class names and the train, val (None without ``x_val``) and test splits of a .npz file."""
    arrays = _load(path)
    missing = [key for key in KEYS[:4] if key not in arrays]
    if ("x_val" in arrays) != ("y_val" in arrays):
        missing.append("y_val" if "x_val" in arrays else "x_val")
    if missing:
        raise DataError(f"{path} has no {', '.join(missing)}; an arrays dataset needs {NEEDS}")
    splits = {split: Split(_images(path, f"x_{split}", arrays[f"x_{split}"]), _labels(path, split, arrays))
              for split in ("train", "val", "test") if f"x_{split}" in arrays}
    shapes = {f"x_{split}": tuple(s.images.shape[1:]) for split, s in splits.items()}
    if len(set(shapes.values())) > 1:
        raise DataError(f"{path}: the splits' images differ in shape (C, H, W: {shapes}); store them in one "
                        "shape")
    if not len(splits["train"]):
        raise DataError(f"{path}: x_train holds no images; an arrays dataset needs {NEEDS}")
    names = _class_names(path, arrays, splits["train"].labels)
    source = "class_names" if "class_names" in arrays else "the labels in y_train"
    for split, s in splits.items():
        bad = s.labels[(s.labels < 0) | (s.labels >= len(names))]
        if len(bad):
            raise DataError(f"{path}: y_{split} holds label {int(bad[0])}, outside the classes "
                            f"0..{len(names) - 1} ({source}); labels must be 0..K-1, every class in training")
    empty = (torch.bincount(splits["train"].labels, minlength=len(names)) == 0).nonzero().flatten().tolist()
    if empty:
        raise DataError(f"{path}: y_train has no image of class {empty[0]} ({names[empty[0]]!r}); every "
                        "class needs training images")
    return names, splits["train"], splits.get("val"), splits["test"]


def _load(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DataNotFoundError(f"data.root {path} is not a file; an arrays dataset needs {NEEDS}")
    try:
        npz = np.load(path, allow_pickle=False)
    except _NPZ_ERRORS as exc:
        raise DataError(f"cannot read {path} as a .npz file ({first_line(exc)}); write it with "
                        "numpy.savez(path, x_train=..., ...)") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise DataError(f"{path} is a single array, not a .npz of named arrays; write it with "
                        "numpy.savez(path, x_train=..., ...)")
    with npz:
        unknown = sorted(set(npz.files) - set(KEYS))
        if unknown:
            raise DataError(f"{path} holds {unknown[0]!r}, which an arrays dataset does not take; its arrays "
                            f"are {', '.join(KEYS)}")
        arrays = {}
        for key in npz.files:
            try:
                arrays[key] = npz[key]
            except _NPZ_ERRORS as exc:
                raise DataError(f"cannot read {key} from {path} ({first_line(exc)}); store plain numeric "
                                "arrays and class_names as np.array(names, dtype=str)") from None
    return arrays


def _images(path: Path, key: str, x: np.ndarray) -> torch.Tensor:
    """Images as uint8 [N, C, H, W]."""
    if x.dtype != np.uint8:
        raise DataError(f"{path}: {key} has dtype {x.dtype}, not uint8; store pixels 0..255 as uint8 (from "
                        "floats in [0, 1]: (x * 255).round().astype(np.uint8))")
    if x.ndim == 3:
        return torch.from_numpy(np.ascontiguousarray(x[:, None]))
    if x.ndim == 4 and (x.shape[3] in (1, 3)) != (x.shape[1] in (1, 3)):
        return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2) if x.shape[3] in (1, 3) else x))
    raise DataError(f"{path}: {key} has shape {x.shape}; store images as [N, H, W], [N, H, W, C] or "
                    "[N, C, H, W] with C 1 or 3 (and H, W larger than 3)")


def _labels(path: Path, split: str, arrays: dict[str, np.ndarray]) -> torch.Tensor:
    x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
    if y.dtype.kind not in "iu":
        raise DataError(f"{path}: y_{split} has dtype {y.dtype}; labels must be integers 0..K-1")
    if y.shape != (len(x),):
        raise DataError(f"{path}: y_{split} has shape {y.shape} for the {len(x)} images of x_{split}; store "
                        "one label per image")
    return torch.from_numpy(y.astype(np.int64))


def _class_names(path: Path, arrays: dict[str, np.ndarray], train_labels: torch.Tensor) -> tuple[str, ...]:
    """``class_names`` if given, else "0".."K-1" for the largest training label K-1."""
    if "class_names" not in arrays:
        return tuple(str(i) for i in range(max(int(train_labels.max()) + 1, 0)))
    names = arrays["class_names"]
    if names.dtype.kind != "U" or names.ndim != 1:
        raise DataError(f"{path}: class_names has dtype {names.dtype} and shape {names.shape}; store the "
                        "names as a 1-D array of strings, np.array(names, dtype=str)")
    twice = sorted(name for name, count in Counter(names.tolist()).items() if count > 1)
    if twice:
        raise DataError(f"{path}: class_names lists {twice[0]!r} more than once; name each class once")
    return tuple(names.tolist())
