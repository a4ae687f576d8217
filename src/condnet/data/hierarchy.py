"""Class hierarchies: trees whose leaves are class indices and whose inner nodes are named groups.

Built-in trees for Fashion-MNIST, CIFAR-10 and CIFAR-100 (its 20 official superclasses); trees from
YAML/JSON files (leaves written as class names or indices); and :func:`derive`, which clusters a
confusion matrix into groups for datasets without a given hierarchy (e.g. MNIST).
"""

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np
import yaml

from condnet.data.datasets import dataset_info
from condnet.errors import CondnetError
from condnet.files import read_data_file, write_text_atomic

ROOT = "root"
MAX_DEPTH = 32  # levels below the root; deeper than any class tree needs


@dataclass(frozen=True)
class Group:
    """An inner node: a unique name and its children (groups or class indices)."""

    name: str
    children: tuple[Union["Group", int], ...]


@dataclass(frozen=True)
class Hierarchy:
    """A validated tree over the classes ``0..len(class_names)-1``; ``root`` is its top group."""

    root: Group
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        _validate(self.root, self.class_names)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def groups(self) -> Iterator[tuple[Group, int]]:
        """Every group with its depth (root is depth 0), parents before children."""
        stack = [(self.root, 0)]
        while stack:
            group, depth = stack.pop(0)
            yield group, depth
            stack += [(c, depth + 1) for c in group.children if isinstance(c, Group)]

    def depth(self) -> int:
        """The depth of the deepest class leaf (1 when every class hangs from the root)."""
        return max(depth + 1 for group, depth in self.groups() for c in group.children if isinstance(c, int))

    def group(self, name: str) -> Group:
        for group, _ in self.groups():
            if group.name == name:
                return group
        raise CondnetError(f"no group {name!r} in the hierarchy; groups: {', '.join(self.group_names())}")

    def group_names(self) -> list[str]:
        return [g.name for g, _ in self.groups()]

    def top_groups(self) -> list[Group]:
        """The groups directly under the root (the coarsest categories)."""
        return [c for c in self.root.children if isinstance(c, Group)]

    def top_group_of(self, cls: int) -> Group | None:
        """The top-level group holding class ``cls`` (None for a class directly under the root)."""
        return next((g for g in self.top_groups() if cls in leaves(g)), None)

    def resolve_classes(self, items: Sequence[str | int]) -> list[int]:
        """Class indices (sorted) of class names, class indices or group names (a group = all its classes)."""
        found: set[int] = set()
        groups = {g.name: g for g, _ in self.groups()}
        for item in items:
            if isinstance(item, str) and item.strip().lstrip("-").isdigit():
                item = int(item)
            if isinstance(item, int):
                if not 0 <= item < self.num_classes:
                    raise CondnetError(f"class index {item} out of range 0..{self.num_classes - 1}")
                found.add(item)
            elif item in self.class_names:
                found.add(self.class_names.index(item))
            elif item in groups:
                found.update(leaves(groups[item]))
            else:
                raise CondnetError(f"unknown class or group {item!r}; "
                                   f"classes: {', '.join(self.class_names)}; "
                                   f"groups: {', '.join(g for g in groups if g != self.root.name)}")
        if not found:
            raise CondnetError("no classes given; name at least one class or group")
        return sorted(found)

    def to_dict(self) -> dict[str, Any]:
        """A plain mapping (leaves as class names) that :func:`from_dict` reads back."""
        def node(child: Group | int) -> Any:
            if isinstance(child, int):
                return self.class_names[child]
            return {"name": child.name, "children": [node(c) for c in child.children]}

        return {"classes": list(self.class_names), "tree": node(self.root)}


def leaves(group: Group) -> list[int]:
    """The class indices under ``group``, in tree order."""
    out: list[int] = []
    for child in group.children:
        out += [child] if isinstance(child, int) else leaves(child)
    return out


def _validate(root: Group, class_names: tuple[str, ...]) -> None:
    seen_classes: list[int] = []
    names: set[str] = set(class_names)
    if len(names) != len(class_names):
        raise CondnetError("class names must be unique")
    stack = [root]
    while stack:
        group = stack.pop()
        if not group.children:
            raise CondnetError(f"group {group.name!r} is empty; every group needs at least one class")
        if group.name in names:
            raise CondnetError(f"name {group.name!r} is used twice (groups and classes need unique names); "
                               "rename the group")
        names.add(group.name)
        for child in group.children:
            if isinstance(child, Group):
                stack.append(child)
            else:
                seen_classes.append(child)
    bad = [c for c in seen_classes if not 0 <= c < len(class_names)]
    if bad:
        raise CondnetError(f"class index {bad[0]} out of range 0..{len(class_names) - 1}")
    twice = sorted({class_names[c] for c in seen_classes if seen_classes.count(c) > 1})
    if twice:
        raise CondnetError(f"class {twice[0]!r} appears more than once in the hierarchy; "
                           "list each class once")
    missing = [class_names[c] for c in range(len(class_names)) if c not in seen_classes]
    if missing:
        raise CondnetError(f"the hierarchy misses class(es) {', '.join(map(repr, missing))}; "
                           "every class must appear exactly once")


def from_dict(raw: Any, class_names: Sequence[str] | None = None) -> Hierarchy:
    """Read ``{"classes": [...], "tree": {"name": ..., "children": [...]}}``; leaves are names or indices.

    ``class_names`` (the dataset's) is required when the mapping has no ``classes`` list, and must match it
    when it has one.
    """
    if not isinstance(raw, dict) or "tree" not in raw:
        raise CondnetError("a hierarchy must be a mapping with 'tree' (and optionally 'classes')")
    names = raw.get("classes", class_names)
    if names is None:
        raise CondnetError("the hierarchy lists no 'classes' and no dataset class names were given")
    names = tuple(str(n) for n in names)
    if class_names is not None and names != tuple(class_names):
        raise CondnetError("the hierarchy's classes differ from the dataset's class names; "
                           f"expected {', '.join(class_names)}")

    def node(item: Any, depth: int = 0) -> Group | int:
        if depth > MAX_DEPTH:
            raise CondnetError(f"the hierarchy is deeper than {MAX_DEPTH} levels (or refers to itself); "
                               "give a tree of nested groups over the classes")
        if isinstance(item, bool):
            raise CondnetError(f"bad hierarchy leaf {item!r}")
        if isinstance(item, int):
            return item
        if isinstance(item, str):
            if item not in names:
                raise CondnetError(f"unknown class {item!r} in the hierarchy; classes: {', '.join(names)}")
            return names.index(item)
        if (isinstance(item, dict) and isinstance(item.get("name"), str)
                and isinstance(item.get("children"), list)):
            return Group(item["name"], tuple(node(c, depth + 1) for c in item["children"]))
        raise CondnetError(f"bad hierarchy node {item!r}: a group is {{name: ..., children: [...]}}, "
                           "a leaf is a class name or index")

    root = node(raw["tree"])
    if not isinstance(root, Group):
        raise CondnetError("the hierarchy's tree must be a group, not a single class")
    return Hierarchy(root, names)


def load_hierarchy(path: str | Path, class_names: Sequence[str] | None = None) -> Hierarchy:
    """Read a hierarchy from a ``.yaml``/``.yml`` or ``.json`` file."""
    return from_dict(read_data_file(path, "hierarchy file"), class_names)


def save_hierarchy(hierarchy: Hierarchy, path: str | Path) -> None:
    """Write a hierarchy as JSON (``.json``) or YAML (anything else), atomically."""
    path = Path(path)
    data = hierarchy.to_dict()
    text = (json.dumps(data, indent=2) + "\n" if path.suffix == ".json"
            else yaml.safe_dump(data, sort_keys=False))
    write_text_atomic(path, text)


def _tree(spec: dict[str, Any]) -> dict[str, Any]:
    """``{"name": [children]}`` shorthand -> the ``{"name":, "children":}`` form."""
    def node(item: Any) -> Any:
        if isinstance(item, dict):
            ((name, children),) = item.items()
            return {"name": name, "children": [node(c) for c in children]}
        return item

    return node({ROOT: spec[ROOT]})


CIFAR100_SUPERCLASSES = {
    "aquatic_mammals": ["beaver", "dolphin", "otter", "seal", "whale"],
    "fish": ["aquarium_fish", "flatfish", "ray", "shark", "trout"],
    "flowers": ["orchid", "poppy", "rose", "sunflower", "tulip"],
    "food_containers": ["bottle", "bowl", "can", "cup", "plate"],
    "fruit_and_vegetables": ["apple", "mushroom", "orange", "pear", "sweet_pepper"],
    "household_electrical_devices": ["clock", "keyboard", "lamp", "telephone", "television"],
    "household_furniture": ["bed", "chair", "couch", "table", "wardrobe"],
    "insects": ["bee", "beetle", "butterfly", "caterpillar", "cockroach"],
    "large_carnivores": ["bear", "leopard", "lion", "tiger", "wolf"],
    "large_man-made_outdoor_things": ["bridge", "castle", "house", "road", "skyscraper"],
    "large_natural_outdoor_scenes": ["cloud", "forest", "mountain", "plain", "sea"],
    "large_omnivores_and_herbivores": ["camel", "cattle", "chimpanzee", "elephant", "kangaroo"],
    "medium_mammals": ["fox", "porcupine", "possum", "raccoon", "skunk"],
    "non-insect_invertebrates": ["crab", "lobster", "snail", "spider", "worm"],
    "people": ["baby", "boy", "girl", "man", "woman"],
    "reptiles": ["crocodile", "dinosaur", "lizard", "snake", "turtle"],
    "small_mammals": ["hamster", "mouse", "rabbit", "shrew", "squirrel"],
    "trees": ["maple_tree", "oak_tree", "palm_tree", "pine_tree", "willow_tree"],
    "vehicles_1": ["bicycle", "bus", "motorcycle", "pickup_truck", "train"],
    "vehicles_2": ["lawn_mower", "rocket", "streetcar", "tank", "tractor"],
}

BUILTIN_TREES: dict[str, dict[str, Any]] = {
    "fashion_mnist": _tree({ROOT: [
        {"clothing": [{"tops": ["T-shirt/top", "Pullover", "Coat", "Shirt"]}, "Trouser", "Dress"]},
        {"footwear": ["Sandal", "Sneaker", "Ankle boot"]},
        "Bag"]}),
    "cifar10": _tree({ROOT: [
        {"vehicles": [{"air_water": ["airplane", "ship"]}, {"road": ["automobile", "truck"]}]},
        {"animals": [{"bird_frog": ["bird", "frog"]}, {"mammals": ["cat", "dog", "deer", "horse"]}]}]}),
    "cifar100": _tree({ROOT: [{name: members} for name, members in CIFAR100_SUPERCLASSES.items()]}),
}


DERIVE_HINT = ("give a YAML/JSON file, or derive one from a model trained on the dataset with "
               "`condnet hierarchy RUN_DIR --out tree.yaml`, and set model.hierarchy to it")


def builtin_hierarchy(dataset: str) -> Hierarchy:
    """The built-in tree of ``dataset`` (fashion_mnist, cifar10, cifar100)."""
    if dataset not in BUILTIN_TREES:
        raise CondnetError(f"no built-in hierarchy for {dataset!r} (built in: {', '.join(BUILTIN_TREES)}); "
                           f"{DERIVE_HINT}")
    return from_dict({"tree": BUILTIN_TREES[dataset]}, dataset_info(dataset).class_names)


HierarchySource = str | dict[str, Any]  # a built-in name or a file, or a mapping {classes, tree}


def resolve_hierarchy(source: HierarchySource, num_classes: int,
                      class_names: Sequence[str] | None = None) -> Hierarchy:
    """A hierarchy of ``num_classes`` classes from a built-in dataset name, a YAML/JSON file or a mapping.

    With ``class_names`` (the dataset's), the tree's classes must be exactly those names, in that order.
    """
    what = source if isinstance(source, str) else "(inline)"
    if isinstance(source, dict):
        found = from_dict(source, class_names)
    elif source in BUILTIN_TREES:
        found = builtin_hierarchy(source)
    elif isinstance(source, str) and Path(source).suffix in (".yaml", ".yml", ".json"):
        found = load_hierarchy(source, class_names)
    else:
        raise CondnetError(f"hierarchy {source!r} is neither a built-in ({', '.join(BUILTIN_TREES)}) nor a "
                           f".yaml/.json file; {DERIVE_HINT}")
    if found.num_classes != num_classes:
        raise CondnetError(f"hierarchy {what!r} has {found.num_classes} classes but the model has "
                           f"{num_classes}; set model.hierarchy to the dataset's hierarchy")
    if class_names is not None and found.class_names != tuple(class_names):
        raise CondnetError(f"hierarchy {what!r} is a tree over other classes "
                           f"({', '.join(found.class_names[:3])}, ...) "
                           f"than the dataset's ({', '.join(class_names[:3])}, ...); "
                           "set model.hierarchy to a tree over the dataset's classes")
    return found


def derive(confusion: np.ndarray, class_names: Sequence[str], num_groups: int | None = None) -> Hierarchy:
    """Group classes that a model confuses with each other (average-linkage agglomerative clustering).

    The distance of two classes is 1 minus their symmetric confusion rate; the dendrogram is cut into
    ``num_groups`` groups (default: round(sqrt(classes))). A group of one class becomes a leaf of the root.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    confusion = np.asarray(confusion, dtype=np.float64)
    n = len(class_names)
    if confusion.shape != (n, n):
        raise CondnetError(f"confusion matrix must be {n}x{n}, got {confusion.shape}")
    k = max(1, round(n ** 0.5)) if num_groups is None else num_groups
    if not 1 <= k <= n:
        raise CondnetError(f"num_groups must be in 1..{n}, got {k}")
    rates = confusion / np.maximum(confusion.sum(1, keepdims=True), 1)
    similarity = (rates + rates.T) / 2
    distance = 1.0 - similarity
    np.fill_diagonal(distance, 0.0)
    labels = fcluster(linkage(squareform(distance, checks=False), "average"), k, criterion="maxclust")
    clusters = sorted((sorted(np.flatnonzero(labels == c).tolist()) for c in set(labels)), key=lambda m: m[0])
    children: list[Group | int] = []
    for members in clusters:
        if len(members) == 1:
            children.append(members[0])
        else:
            children.append(Group("+".join(class_names[m] for m in members), tuple(members)))
    return Hierarchy(Group(ROOT, tuple(children)), tuple(class_names))
