"""Declared options: one dataclass per option group validates configs, gives a factory's signature and is
what `condnet models NAME` prints; a new family registers itself and is dispatched on by analyses."""

import dataclasses
import inspect

import pytest
import torch
from torch import nn
from user_models import STAGES

from condnet.analysis.report import run_kind
from condnet.data.hierarchy import HierarchySource
from condnet.deploy.export import check_exportable
from condnet.errors import CondnetError, ConfigError
from condnet.models import BACKBONES, backbone_spec, create_model, family_of, model_entry, registry
from condnet.models.registry import (
    Family,
    options_from_signature,
    register_family,
    register_model,
    routes_at_random,
)
from condnet.models.user_stages import cigt_from_stages, hnn_from_stages
from condnet.options import build_section, check_option, fields_of, option


@dataclasses.dataclass(frozen=True)
class Toy:
    ratio: float = option(0.5, at_least=0, at_most=1, doc="a share")
    width: int = option(8, above=0)
    rate: float = option(0.1, above=0, below=1)
    mode: str = option("a", choices=("a", "b"))
    sizes: list[int] = option([1, 2], at_least=1)
    limit: int | None = option(None, at_most=5)
    name: str | dict = "x"


def _check(key: str, value: object) -> object:
    field, annotation = fields_of(Toy)[key]
    return check_option(f"model.{key}", value, field, annotation)


@pytest.mark.parametrize("key, text", [("ratio", "in [0, 1]"), ("width", "> 0"), ("rate", "in (0, 1)"),
                                       ("mode", "one of a, b"), ("sizes", ">= 1"), ("limit", "<= 5"),
                                       ("name", "")])
def test_valid_values_are_described_from_the_declaration(key, text):
    assert fields_of(Toy)[key][0].metadata.get("valid", "") == text


@pytest.mark.parametrize("key, value, message", [
    ("ratio", 1.5, "model.ratio must be in [0, 1], got 1.5"),
    ("width", 0, "model.width must be > 0, got 0"),
    ("width", 2.0, "model.width must be of type int, got 2.0"),
    ("width", True, "model.width must be of type int, got True"),
    ("rate", 1, "model.rate must be in (0, 1), got 1.0"),
    ("rate", float("nan"), "model.rate must be a finite number"),
    ("mode", "c", "model.mode must be one of a, b, got 'c'"),
    ("sizes", 3, "model.sizes must be a list, got 3"),
    ("sizes", [1, 0], "model.sizes must be >= 1, got [1, 0]"),
    ("limit", 6, "model.limit must be <= 5, got 6"),
    ("name", 3, "model.name must be of type str | dict, got 3"),
])
def test_bad_values_are_refused_with_the_option_and_its_rule(key, value, message):
    with pytest.raises(ConfigError) as err:
        _check(key, value)
    assert message in str(err.value)


def test_good_values_are_normalised():
    assert _check("ratio", 1) == 1.0 and isinstance(_check("ratio", 1), float)
    assert _check("sizes", (3, 4)) == [3, 4] and _check("limit", None) is None
    assert _check("name", {"a": 1}) == {"a": 1}


def test_a_section_refuses_unknown_keys_and_copies_list_defaults():
    with pytest.raises(ConfigError, match="unknown key toy.size; valid keys in toy: ratio, width, rate"):
        build_section(Toy, {"size": 1}, "toy")
    first, second = build_section(Toy, {}, "toy"), build_section(Toy, {"width": 3}, "toy")
    assert first.sizes == [1, 2] and first.sizes is not second.sizes and second.width == 3


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_each_backbone_builder_takes_exactly_its_declared_options(name):
    backbone = BACKBONES[name]
    declared = set(fields_of(*backbone.option_groups))
    assert set(inspect.signature(backbone.spec).parameters) == declared
    assert set(model_entry(name).options()) == declared - set(backbone.fixed)


def test_an_entry_signature_and_description_come_from_the_declaration():
    entry = model_entry("cigt_lenet_fmnist")
    params = entry.signature().parameters
    assert params["random_ratio"].default == 0.49 and params["random_ratio"].annotation is float
    assert params["dropout"].default == 0.185  # the entry's default, over DropoutOptions' 0.0
    rows = {r["option"]: r for r in entry.describe()}
    assert rows["warmup_routing"]["valid"] == "one of random, all"
    assert rows["boundaries"]["type"] == "list[int] | None"


def test_user_factory_options_come_from_its_signature():
    def build(width: int, depth=3, rates: list[float] | None = None, hierarchy: str = "fashion_mnist"):
        return nn.Identity()

    fields = fields_of(options_from_signature(build, "mine:build"))
    assert fields["width"][1] is int and fields["depth"][1] is int
    assert fields["width"][0].default is dataclasses.MISSING  # required
    assert fields["rates"][1] == list[float] | None and fields["hierarchy"][1] == HierarchySource


class TinyRouted(nn.Module):
    """A routed network of another family: one linear layer per path, routes chosen by the input's sign."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.path_counts = [2]
        self.paths = nn.ModuleList(nn.Linear(features, 3) for _ in range(2))

    def forward(self, x: torch.Tensor, return_routes: bool = False):
        route = (x.flatten(1).sum(1) > 0).long()
        logits = torch.stack([self.paths[int(r)](row) for r, row in zip(route, x.flatten(1), strict=True)])
        return (logits, route[:, None]) if return_routes else logits


@dataclasses.dataclass(frozen=True)
class TinyOptions:
    features: int = option(4, at_least=1)
    routing: str = option("learned", choices=("learned", "random"))


@pytest.fixture
def isolated_registry(monkeypatch):
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    monkeypatch.setattr(registry, "_FAMILIES", dict(registry._FAMILIES))


def test_a_new_routed_family_needs_only_its_own_registration(isolated_registry):
    register_family(Family("tiny_routed", "a test family", routed=True))
    register_model("tiny_router", lambda features, routing: TinyRouted(features), (TinyOptions,),
                   "a routed test model", "tiny_routed")
    model = create_model("tiny_router", features=6)
    assert family_of(model).routed and not family_of(model).hierarchical
    assert run_kind(model) == "tiny_routed" and not routes_at_random(model)
    random_baseline = create_model("tiny_router", routing="random")
    assert run_kind(random_baseline) == "baseline" and routes_at_random(random_baseline)
    with pytest.raises(CondnetError, match="routing: random"):
        check_exportable(random_baseline)
    with pytest.raises(ConfigError, match="model.features must be >= 1, got 0"):
        create_model("tiny_router", features=0)
    with pytest.raises(ValueError, match="family 'tiny_routed' registered twice"):
        register_family(Family("tiny_routed", "again"))


def test_registration_checks_its_defaults(isolated_registry):
    with pytest.raises(ValueError, match="not a field of its option groups"):
        register_model("bad", nn.Identity, (TinyOptions,), "bad", "backbone", defaults={"depth": 2})
    with pytest.raises(ConfigError, match="bad default features must be >= 1"):
        register_model("bad", nn.Identity, (TinyOptions,), "bad", "backbone", defaults={"features": 0})


class _ClassFactory(nn.Module):
    def __init__(self, width: float | None = None, sizes=(2, 3), table: dict | None = None, extra={"a": 1}):  # noqa: B006
        super().__init__()


def test_user_factories_with_tuple_dict_and_class_signatures():
    fields = fields_of(options_from_signature(_ClassFactory, "mine:_ClassFactory"))
    assert fields["width"][1] == float | None  # from __init__'s annotations
    assert check_option("model.sizes", [4, 5], *fields["sizes"]) == [4, 5]
    group = options_from_signature(_ClassFactory, "mine:_ClassFactory")
    first, second = group(), group()
    assert first.extra == {"a": 1} and first.extra is not second.extra  # a fresh copy of a dict default
    with pytest.raises(ConfigError, match="model.width must be of type float, got 'abc'"):
        check_option("model.width", "abc", *fields["width"])


def test_choices_bounds_and_tuples_hold_for_every_item():
    @dataclasses.dataclass(frozen=True)
    class Items:
        modes: list[str] = option(["a"], choices=("a", "b"))
        pair: tuple[int, str] = (1, "x")

    fields = fields_of(Items)
    assert check_option("m.modes", ["a", "b"], *fields["modes"]) == ["a", "b"]
    with pytest.raises(ConfigError, match="m.modes must be one of a, b, got"):
        check_option("m.modes", ["a", "c"], *fields["modes"])
    with pytest.raises(ConfigError, match="m.pair must be a list of 2 values"):
        check_option("m.pair", [1, "x", 3], *fields["pair"])


def test_builders_called_from_python_are_held_to_the_declared_rules():
    with pytest.raises(ConfigError, match="model.shortcut must be one of projection, pad, got 'bogus'"):
        backbone_spec("resnet20", shortcut="bogus")
    with pytest.raises(ConfigError, match="model 'resnet20' has no option 'depth'"):
        backbone_spec("resnet20", depth=32)  # fixed by the entry, not an option
    with pytest.raises(ConfigError, match="model.conv of the Fashion Net needs 3 widths"):
        create_model("lenet_fmnist_thick", conv=[8, 8])
    with pytest.raises(ConfigError, match="model.path_counts must be >= 1, got \\[0, 2\\]"):
        cigt_from_stages(STAGES, [1], [0, 2], 1, 28, 10)
    with pytest.raises(ConfigError, match="model.boundaries must be increasing stage indices in 1..3"):
        cigt_from_stages(STAGES, [5], [1, 2], 1, 28, 10)
    with pytest.raises(ConfigError, match="model.attention must be one of head, node, evidence"):
        hnn_from_stages(STAGES, "fashion_mnist", 1, 28, 10, attention="loud")


def test_an_expert_inherits_the_attention_mode_set_on_its_network():
    model = create_model("hnn_lenet_fmnist")
    model.attention = "evidence"
    assert model.cutout(["footwear"]).attention == "evidence"
    assert model.cutout(["footwear"]).options.classes == [5, 7, 9]


def test_registration_refuses_an_option_both_default_and_fixed(isolated_registry):
    with pytest.raises(ValueError, match="features is both a default and fixed"):
        register_model("bad", nn.Identity, (TinyOptions,), "bad", "backbone", defaults={"features": 2},
                       fixed={"features": 3})
