"""Declared options: one dataclass per option group validates configs, gives a factory's signature and is
what `condnet models NAME` prints; a new family registers itself and is dispatched on by analyses."""

import dataclasses
import inspect

import pytest
import torch
from torch import nn

from condnet.analysis.report import run_kind
from condnet.data.hierarchy import HierarchySource
from condnet.errors import ConfigError
from condnet.models import BACKBONES, create_model, family_of, model_entry, registry
from condnet.models.registry import Family, options_from_signature, register_family, register_model
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
    return check_option(f"model.{key}", value, annotation, field)


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
    declared = set(fields_of(*backbone.options))
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
    assert run_kind(model, model.condnet_config) == "tiny_routed"
    assert run_kind(model, {**model.condnet_config, "routing": "random"}) == "baseline"
    with pytest.raises(ConfigError, match="model.features must be >= 1, got 0"):
        create_model("tiny_router", features=0)
    with pytest.raises(ValueError, match="family 'tiny_routed' registered twice"):
        register_family(Family("tiny_routed", "again"))


def test_registration_checks_its_defaults(isolated_registry):
    with pytest.raises(ValueError, match="not a field of its option groups"):
        register_model("bad", nn.Identity, (TinyOptions,), "bad", "backbone", defaults={"depth": 2})
    with pytest.raises(ConfigError, match="bad default features must be >= 1"):
        register_model("bad", nn.Identity, (TinyOptions,), "bad", "backbone", defaults={"features": 0})
