"""Class hierarchies: built-in trees, class/group resolution, validation errors, files, derive."""

import numpy as np
import pytest

from condnet.data.hierarchy import (
    Group,
    Hierarchy,
    builtin_hierarchy,
    derive,
    from_dict,
    leaves,
    load_hierarchy,
    resolve_hierarchy,
    save_hierarchy,
)
from condnet.errors import CondnetError

NAMES = ("a", "b", "c", "d")


def test_builtin_fashion_mnist_tree():
    tree = builtin_hierarchy("fashion_mnist")
    assert tree.depth() == 3
    assert leaves(tree.group("footwear")) == [5, 7, 9]
    assert leaves(tree.group("tops")) == [0, 2, 4, 6]
    assert [g.name for g in tree.top_groups()] == ["clothing", "footwear"]
    assert tree.top_group_of(8) is None and tree.top_group_of(3).name == "clothing"


def test_builtin_cifar_trees():
    cifar100 = builtin_hierarchy("cifar100")
    assert cifar100.depth() == 2 and len(cifar100.top_groups()) == 20
    assert all(len(leaves(g)) == 5 for g in cifar100.top_groups())
    assert sorted(leaves(cifar100.root)) == list(range(100))
    assert leaves(cifar100.group("people")) == [2, 11, 35, 46, 98]  # baby, boy, girl, man, woman
    cifar10 = builtin_hierarchy("cifar10")
    assert leaves(cifar10.group("vehicles")) == [0, 8, 1, 9]
    assert leaves(cifar10.group("mammals")) == [3, 5, 4, 7]


def test_resolve_classes_names_indices_groups():
    tree = builtin_hierarchy("fashion_mnist")
    assert tree.resolve_classes(["Bag", "footwear"]) == [5, 7, 8, 9]
    assert tree.resolve_classes(["3", 1]) == [1, 3]
    with pytest.raises(CondnetError, match="unknown class or group 'shoes'"):
        tree.resolve_classes(["shoes"])
    with pytest.raises(CondnetError, match="out of range"):
        tree.resolve_classes([10])


@pytest.mark.parametrize("root, message", [
    (Group("root", (0, 1, 2)), "misses class"),
    (Group("root", (0, 1, 2, 3, 3)), "appears more than once"),
    (Group("root", (0, 1, Group("g", ()), 2, 3)), "is empty"),
    (Group("root", (Group("g", (0, 1)), Group("g", (2, 3)))), "used twice"),
    (Group("root", (Group("a", (0, 1)), 2, 3)), "used twice"),
    (Group("root", (0, 1, 2, 7)), "out of range"),
])
def test_validation_errors(root, message):
    with pytest.raises(CondnetError, match=message):
        Hierarchy(root, NAMES)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_save_load_round_trip(tmp_path, suffix):
    tree = builtin_hierarchy("fashion_mnist")
    path = tmp_path / f"tree{suffix}"
    save_hierarchy(tree, path)
    assert load_hierarchy(path) == tree
    assert resolve_hierarchy(str(path), 10) == tree
    with pytest.raises(CondnetError, match="has 10 classes but the model has 4"):
        resolve_hierarchy(str(path), 4)


def test_file_errors(tmp_path):
    with pytest.raises(CondnetError, match="not found"):
        load_hierarchy(tmp_path / "none.yaml")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CondnetError, match="not valid JSON"):
        load_hierarchy(bad)
    with pytest.raises(CondnetError, match="unknown class 'e'"):
        from_dict({"classes": list(NAMES), "tree": {"name": "root", "children": ["a", "b", "c", "e"]}})
    with pytest.raises(CondnetError, match="neither a built-in"):
        resolve_hierarchy("mnist", 10)


def test_derive_groups_confused_classes():
    # a<->b and c<->d are confused with each other, never across the pairs
    confusion = np.array([[90, 10, 0, 0], [8, 92, 0, 0], [0, 0, 85, 15], [0, 1, 20, 79]])
    tree = derive(confusion, NAMES, num_groups=2)
    assert [leaves(g) for g in tree.top_groups()] == [[0, 1], [2, 3]]
    single = derive(confusion, NAMES, num_groups=3)
    assert sorted(len(leaves(g)) for g in single.top_groups()) == [2]  # one pair, two root-level classes
    with pytest.raises(CondnetError, match="must be 4x4"):
        derive(confusion[:3], NAMES)
