"""Data: IDX and CIFAR readers and their errors, dataset lookup, validation split, augmentation, batching."""

import gzip
import pickle
import zlib

import numpy as np
import pytest
import torch
from fake_files import ShellPayload, idx_bytes, write_cifar, write_idx_dataset

from condnet.data import Batcher, Split, load_dataset, random_crop, random_flip, validation_split
from condnet.data.cifar import read_cifar_batch
from condnet.data.datasets import FASHION_MNIST_DEB_DIR, locate_dataset
from condnet.data.idx import MAX_IDX_BYTES, read_idx
from condnet.errors import CondnetError, DataError, DataNotFoundError

# ---- IDX -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("compress", [True, False])
def test_idx_dataset_gz_and_raw(tmp_path, compress):
    root = write_idx_dataset(tmp_path / "d", n_train=12, n_test=5, compress=compress)
    train, test = load_dataset("mnist", root)
    assert train.images.shape == (12, 1, 28, 28) and train.images.dtype == torch.uint8
    assert test.images.shape == (5, 1, 28, 28) and train.labels.dtype == torch.int64
    # fake_files encodes the label in the pixel values: 19 * label + noise in [0, 60)
    assert torch.all(train.images.flatten(1).min(1).values >= 19 * train.labels)


def test_idx_values_round_trip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(idx_bytes(array))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(array)))
    assert np.array_equal(read_idx(tmp_path / "a"), array)
    assert np.array_equal(read_idx(tmp_path / "a.gz"), array)


def test_idx_wrong_magic(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"\x12\x34\x08\x01" + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(CondnetError, match="bad magic number"):
        read_idx(path)


def test_idx_truncated_raw_and_gz(tmp_path):
    data = idx_bytes(np.zeros((4, 28, 28), np.uint8))
    (tmp_path / "raw").write_bytes(data[:-10])
    with pytest.raises(CondnetError, match="truncated or corrupt.*re-download"):
        read_idx(tmp_path / "raw")
    (tmp_path / "short").write_bytes(data[:9])
    with pytest.raises(CondnetError, match="header incomplete"):
        read_idx(tmp_path / "short")
    (tmp_path / "cut.gz").write_bytes(gzip.compress(data)[:-30])
    with pytest.raises(CondnetError, match="cannot read IDX file"):
        read_idx(tmp_path / "cut.gz")


def test_idx_corrupt_gz_stream(tmp_path):
    packed = bytearray(gzip.compress(bytes(range(256)) * 40))
    packed[12:20] = b"\xff" * 8  # damage the deflate stream itself (zlib.error, not OSError)
    (tmp_path / "bad.gz").write_bytes(bytes(packed))
    with pytest.raises(CondnetError, match="cannot read IDX file"):
        read_idx(tmp_path / "bad.gz")


def _gzip_bomb(path, header: bytes, megabytes: int) -> None:
    """``header`` then ``megabytes`` MB of zeros, gzip-compressed chunk by chunk (about 1000:1)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip container
    parts = [packer.compress(header)] + [packer.compress(bytes(1 << 20)) for _ in range(megabytes)]
    path.write_bytes(b"".join(parts) + packer.flush())


def test_idx_gzip_bomb_refused_without_decompressing_it(tmp_path, monkeypatch):
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    _gzip_bomb(path, idx_bytes(np.arange(4, dtype=np.uint8)), megabytes=50)
    assert path.stat().st_size < 100_000
    returned = []
    real_read = gzip.GzipFile.read

    def counting_read(self, size=-1):
        returned.append(real_read(self, size))
        return returned[-1]

    monkeypatch.setattr(gzip.GzipFile, "read", counting_read)
    with pytest.raises(DataError, match=r"decompresses to more than its header declares "
                       r"\(shape \(4,\), 4 bytes\).*re-download or reinstall") as err:
        read_idx(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    # read: magic and dims (8 bytes), the 4 declared bytes and one more to see the excess, nothing further
    assert 8 < sum(map(len, returned)) <= 8 + 4 + 1


def test_idx_raw_file_longer_than_declared(tmp_path):
    (tmp_path / "raw").write_bytes(idx_bytes(np.zeros((2, 3), np.uint8)) + b"extra")
    with pytest.raises(DataError, match="holds more than its header declares"):
        read_idx(tmp_path / "raw")


@pytest.mark.parametrize("name", ["huge", "huge.gz"])
def test_idx_header_above_cap_refused(tmp_path, name):
    header = bytes([0, 0, 0x08, 3]) + b"".join(d.to_bytes(4, "big") for d in (70_000, 1000, 1000))
    path = tmp_path / name
    path.write_bytes(gzip.compress(header + bytes(100)) if name.endswith(".gz") else header + bytes(100))
    with pytest.raises(DataError, match=rf"declares shape \(70000, 1000, 1000\) \(70000000000 bytes\), more "
                       rf"than the {MAX_IDX_BYTES} bytes.*re-download") as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_idx_gz_with_bad_checksum(tmp_path):
    packed = bytearray(gzip.compress(idx_bytes(np.zeros((3, 5), np.uint8))))
    packed[-8] ^= 0xFF  # the CRC32 of the trailer: the data itself is complete and of the declared size
    (tmp_path / "crc.gz").write_bytes(bytes(packed))
    with pytest.raises(DataError, match="cannot read IDX file .*crc.gz: CRC check failed"):
        read_idx(tmp_path / "crc.gz")


def test_image_label_count_mismatch(tmp_path):
    root = write_idx_dataset(tmp_path / "d", n_train=10, n_test=4)
    (root / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(9, np.uint8))))
    with pytest.raises(CondnetError, match="10 train images but 9 labels"):
        load_dataset("mnist", root)


def test_missing_directory_names_where_and_how(tmp_path):
    with pytest.raises(CondnetError) as err:
        load_dataset("mnist", tmp_path / "nope")
    message = str(err.value)
    assert str(tmp_path / "nope") in message and "no such directory" in message
    assert "set data.root or CONDNET_DATA" in message


def test_missing_files_in_given_root_say_how_to_get_them(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CondnetError) as err:
        load_dataset("mnist", tmp_path / "empty")
    message = str(err.value)
    assert "missing train-images-idx3-ubyte(.gz)" in message and str(tmp_path / "empty") in message
    assert "To fix:" in message and "IDX files" in message


def test_root_with_only_train_files_names_missing_test_files(tmp_path):
    root = write_idx_dataset(tmp_path / "half", n_train=6, n_test=3)
    for path in root.glob("t10k-*"):
        path.unlink()
    with pytest.raises(DataNotFoundError) as err:
        load_dataset("mnist", root)
    message = str(err.value)
    assert (f"{root} (incomplete: missing t10k-images-idx3-ubyte(.gz), t10k-labels-idx1-ubyte(.gz))"
            in message)
    assert "train-images" not in message
    assert message.startswith("mnist not found in the location data.root names. Looked in:")
    with pytest.raises(DataNotFoundError, match="missing t10k-images"):
        locate_dataset("mnist", root)


def test_cifar_root_missing_one_batch(tmp_path):
    root = write_cifar(tmp_path / "c10", classes=10, n_per_file=4)
    (root / "data_batch_3").unlink()
    with pytest.raises(DataNotFoundError, match=rf"{root} \(incomplete: missing data_batch_3\)\. To fix:"):
        load_dataset("cifar10", root)


def test_condnet_data_empty_dir_never_falls_back_to_default(tmp_path, monkeypatch):
    if not FASHION_MNIST_DEB_DIR.is_dir():
        pytest.skip(f"needs the installed Fashion-MNIST in {FASHION_MNIST_DEB_DIR}")
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("CONDNET_DATA", str(tmp_path / "empty"))
    for find in (locate_dataset, load_dataset):
        with pytest.raises(DataNotFoundError) as err:
            find("fashion_mnist")
        message = str(err.value)
        assert f"{tmp_path / 'empty' / 'fashion-mnist'} (no such directory)" in message
        assert f"{tmp_path / 'empty'} (missing train-images-idx3-ubyte(.gz)" in message
        assert message.startswith("fashion_mnist not found in the location CONDNET_DATA names. Looked in:")
        assert "\n" not in message
        assert f"CONDNET_DATA is set, so the default location {FASHION_MNIST_DEB_DIR} is not used" in message


def test_locate_default_only_when_nothing_named(tmp_path, monkeypatch):
    if not FASHION_MNIST_DEB_DIR.is_dir():
        pytest.skip(f"needs the installed Fashion-MNIST in {FASHION_MNIST_DEB_DIR}")
    monkeypatch.delenv("CONDNET_DATA", raising=False)
    assert locate_dataset("fashion_mnist") == FASHION_MNIST_DEB_DIR
    with pytest.raises(DataNotFoundError, match=r"Looked in: .*nope \(no such directory\)\. To fix"):
        locate_dataset("fashion_mnist", tmp_path / "nope")
    with pytest.raises(DataNotFoundError, match=r"Looked in: nowhere \(no data.root, no CONDNET_DATA"):
        locate_dataset("mnist")


def test_load_reads_the_located_directory(tmp_path, monkeypatch):
    write_idx_dataset(tmp_path / "env", n_train=6, n_test=3)
    write_idx_dataset(tmp_path / "env" / "mnist", n_train=7, n_test=3)
    (tmp_path / "env" / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()  # subfolder incomplete: use env
    monkeypatch.setenv("CONDNET_DATA", str(tmp_path / "env"))
    assert locate_dataset("mnist") == tmp_path / "env"
    assert len(load_dataset("mnist")[0]) == 6


def test_corrupt_files_are_data_errors_without_fallback(tmp_path, monkeypatch):
    write_idx_dataset(tmp_path / "env", n_train=6, n_test=3)
    bad = write_idx_dataset(tmp_path / "env" / "mnist", n_train=7, n_test=3)
    (bad / "train-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    monkeypatch.setenv("CONDNET_DATA", str(tmp_path / "env"))
    with pytest.raises(DataError, match="cannot read IDX file .*train-images-idx3-ubyte.gz") as err:
        load_dataset("mnist")  # the complete but corrupt subfolder is reported, not skipped
    assert not isinstance(err.value, DataNotFoundError)


def test_condnet_data_env_subfolder_and_itself(tmp_path, monkeypatch):
    write_idx_dataset(tmp_path / "env" / "mnist", n_train=7, n_test=3)
    monkeypatch.setenv("CONDNET_DATA", str(tmp_path / "env"))
    assert len(load_dataset("mnist")[0]) == 7
    write_idx_dataset(tmp_path / "flat", n_train=6, n_test=3)
    monkeypatch.setenv("CONDNET_DATA", str(tmp_path / "flat"))
    assert len(load_dataset("mnist")[0]) == 6


def test_data_root_wins_over_env(tmp_path, monkeypatch):
    write_idx_dataset(tmp_path / "env", n_train=7, n_test=3)
    write_idx_dataset(tmp_path / "root", n_train=5, n_test=3)
    monkeypatch.setenv("CONDNET_DATA", str(tmp_path / "env"))
    assert len(load_dataset("mnist", tmp_path / "root")[0]) == 5


def test_env_without_dataset_lists_every_place_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("CONDNET_DATA", str(tmp_path))
    with pytest.raises(CondnetError) as err:
        load_dataset("mnist")
    message = str(err.value)
    assert f"{tmp_path / 'mnist'} (no such directory)" in message and "missing train-images" in message


def test_unknown_dataset_lists_names():
    with pytest.raises(CondnetError, match="unknown dataset 'svhn'; choose one of fashion_mnist, mnist"):
        load_dataset("svhn")


def test_real_fashion_mnist(fmnist):
    train, test = fmnist
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert torch.equal(torch.bincount(train.labels), torch.full((10,), 6000))


# ---- CIFAR -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("classes, dataset, n_train", [(10, "cifar10", 5 * 20), (100, "cifar100", 20)])
def test_cifar_readers(tmp_path, classes, dataset, n_train):
    root = write_cifar(tmp_path / dataset, classes=classes, n_per_file=20)
    train, test = load_dataset(dataset, root)
    assert train.images.shape == (n_train, 3, 32, 32) and test.images.shape == (20, 3, 32, 32)
    first = pickle.loads((root / ("data_batch_1" if classes == 10 else "train")).read_bytes())
    assert torch.equal(train.images[0].flatten(), torch.from_numpy(first[b"data"][0]))
    assert train.labels[:20].tolist() == first[b"labels" if classes == 10 else b"fine_labels"]


def test_cifar_unpickler_refuses_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": ShellPayload(marker), b"labels": [0]}, protocol=2))
    with pytest.raises(CondnetError, match="global .*system is not allowed"):
        read_cifar_batch(path, "labels")
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # the same file with the stock unpickler does run the command
    assert marker.exists()


def test_cifar_wrong_keys_and_shapes(tmp_path):
    (tmp_path / "a").write_bytes(pickle.dumps({b"x": 1}, protocol=2))
    with pytest.raises(CondnetError, match="not a CIFAR python batch"):
        read_cifar_batch(tmp_path / "a", "labels")
    (tmp_path / "b").write_bytes(pickle.dumps({b"data": np.zeros((3, 100), np.uint8), b"labels": [0, 1, 2]}))
    with pytest.raises(CondnetError, match="corrupt"):
        read_cifar_batch(tmp_path / "b", "labels")
    (tmp_path / "c").write_bytes(b"\x80\x02}q")
    with pytest.raises(CondnetError, match="cannot read CIFAR batch"):
        read_cifar_batch(tmp_path / "c", "labels")


@pytest.mark.parametrize("content, match", [
    (pickle.dumps([1, 2, 3], protocol=2), "not a CIFAR python batch"),
    (b"c_codecs\nencode\n(X\x01\x00\x00\x00aX\x07\x00\x00\x00nocodectR.", "unknown encoding: nocodec"),
    (b"cnumpy\ndtype\n(I1\ntR.", "cannot read CIFAR batch"),
    (b"\x80\x02X\x02\x00\x00\x00\xff\xfe.", "cannot read CIFAR batch"),
    (pickle.dumps({b"data": np.zeros((2, 3072)), b"labels": [0, 1]}, protocol=2), "must be a uint8 array"),
    (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": ["a", "b"]}, protocol=2), "integers"),
    (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [[0], [1, 2]]}, protocol=2),
     "cannot read its labels"),
])
def test_cifar_foreign_pickles_are_data_errors(tmp_path, content, match):
    (tmp_path / "x").write_bytes(content)
    with pytest.raises(DataError, match=match) as err:
        read_cifar_batch(tmp_path / "x", "labels")
    assert str(tmp_path / "x") in str(err.value) and "\n" not in str(err.value)


# ---- validation split, augmentation, batching ------------------------------------------------------

def _toy_split(n: int) -> Split:
    return Split(torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).clone(),
                 torch.arange(n) % 3)


def test_validation_split_seeded_disjoint_sized():
    data = _toy_split(100)
    train, val = validation_split(data, 30, seed=5)
    ids_train, ids_val = set(train.images[:, 0, 0, 0].tolist()), set(val.images[:, 0, 0, 0].tolist())
    assert len(val) == 30 and len(train) == 70
    assert ids_train.isdisjoint(ids_val) and ids_train | ids_val == set(range(100))
    again_train, again_val = validation_split(data, 30, seed=5)
    assert torch.equal(again_val.images, val.images) and torch.equal(again_train.labels, train.labels)
    assert not torch.equal(validation_split(data, 30, seed=6)[1].images, val.images)


def test_random_crop_by_hand():
    image = torch.tensor([[1, 2], [3, 4]], dtype=torch.uint8).view(1, 1, 2, 2).repeat(64, 2, 1, 1)
    out = random_crop(image, 1, torch.Generator().manual_seed(0))
    padded = torch.zeros(4, 4, dtype=torch.uint8)
    padded[1:3, 1:3] = torch.tensor([[1, 2], [3, 4]])
    windows = {(dy, dx): padded[dy:dy + 2, dx:dx + 2] for dy in range(3) for dx in range(3)}
    seen = set()
    for sample in out:
        assert torch.equal(sample[0], sample[1])  # both channels share the offset
        match = [k for k, w in windows.items() if torch.equal(sample[0], w)]
        assert len(match) == 1
        seen.add(match[0])
    assert seen == set(windows)  # 64 draws hit all 9 offsets
    # offset (0, 0) of the zero-padded image, written out by hand:
    assert torch.equal(windows[(0, 0)], torch.tensor([[0, 0], [0, 1]], dtype=torch.uint8))


def test_random_flip_by_hand():
    images = torch.tensor([[1, 2, 3]], dtype=torch.uint8).view(1, 1, 1, 3).repeat(40, 1, 1, 1)
    out = random_flip(images, torch.Generator().manual_seed(1))
    flipped = torch.tensor([3, 2, 1], dtype=torch.uint8)
    kept = [torch.equal(o.flatten(), images[0].flatten()) for o in out]
    mirrored = [torch.equal(o.flatten(), flipped) for o in out]
    assert all(k != m for k, m in zip(kept, mirrored, strict=True))
    assert 5 < sum(mirrored) < 35
    expected = torch.rand(40, generator=torch.Generator().manual_seed(1)) < 0.5
    assert mirrored == expected.tolist()


def test_batcher_normalisation_values():
    split = Split(torch.tensor([0, 51, 255], dtype=torch.uint8).view(3, 1, 1, 1), torch.tensor([0, 1, 2]))
    x, y = next(Batcher(split, 3, mean=(0.2,), std=(0.5,)).epoch())
    # (pixel / 255 - 0.2) / 0.5: 0 -> -0.4, 51 -> 0.0, 255 -> 1.6
    assert torch.allclose(x.flatten(), torch.tensor([-0.4, 0.0, 1.6]), atol=1e-6)
    assert y.tolist() == [0, 1, 2]


def _ids(batcher: Batcher, epoch: int) -> list[int]:
    # std 1/255 and mean 0: x is the pixel value
    return [int(v) for x, _ in batcher.epoch(epoch) for v in x[:, 0, 0, 0].round().tolist()]


def test_batcher_shards_disjoint_equal():
    split = _toy_split(103)
    shards = [Batcher(split, 10, (0.0,), (1 / 255,), shuffle=True, seed=3, rank=r, world_size=2)
              for r in range(2)]
    assert len(shards[0].indices(4)) == len(shards[1].indices(4)) == 103 // 2
    assert set(shards[0].indices(4).tolist()).isdisjoint(shards[1].indices(4).tolist())
    ids = [_ids(b, 4) for b in shards]
    assert len(ids[0]) == len(ids[1]) == 50  # 51 = 5 batches of 10 + a dropped single image
    assert set(ids[0]).isdisjoint(ids[1])
    assert shards[0].num_batches() == shards[1].num_batches() == 5
    single = Batcher(split, 10, (0.0,), (1 / 255,), shuffle=True, seed=3)
    assert _ids(single, 4) != _ids(single, 5)  # a new order every epoch
    assert _ids(single, 4) == _ids(Batcher(split, 10, (0.0,), (1 / 255,), shuffle=True, seed=3), 4)


def test_eval_batcher_shards_cover_everything():
    split = _toy_split(7)
    ids = [_ids(Batcher(split, 2, (0.0,), (1 / 255,), rank=r, world_size=2), 0) for r in range(2)]
    assert sorted(ids[0] + ids[1]) == list(range(7))


def test_training_batcher_drops_single_image_tail():
    split = _toy_split(21)
    batcher = Batcher(split, 10, (0.0,), (1 / 255,), shuffle=True)
    assert [len(y) for _, y in batcher.epoch(0)] == [10, 10] and batcher.num_batches() == 2
    evaluation = Batcher(split, 10, (0.0,), (1 / 255,))
    assert [len(y) for _, y in evaluation.epoch(0)] == [10, 10, 1] and evaluation.num_batches() == 3


def test_restricted_relabels_in_given_order():
    split = Split(torch.zeros(6, 1, 1, 1, dtype=torch.uint8), torch.tensor([0, 1, 2, 3, 2, 0]))
    assert split.restricted([2, 0]).labels.tolist() == [1, 0, 0, 1]
