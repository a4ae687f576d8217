"""MAC rules and unsupported ops: ops that ran with no rule are reported (or refused with strict), a
registered rule counts them, and ops not counted by convention stay silent."""

import json
import math

import pytest
import torch
from model_options import build_registered
from test_cost import SLOW_MODELS
from torch import nn

import condnet
from condnet.cli.main import main
from condnet.cost import (
    count_macs,
    flop_counter_macs,
    measure_macs,
    register_mac_rule,
    unregister_mac_rule,
)
from condnet.errors import UnsupportedOpsError


class Mixer(nn.Module):
    """Token and channel mixing written with torch.einsum, then a linear head (counted by a built-in rule)."""

    def __init__(self, channels: int, tokens: int, width: int) -> None:
        super().__init__()
        self.token_mix = nn.Parameter(torch.randn(tokens, tokens))
        self.channel_mix = nn.Parameter(torch.randn(width, channels))
        self.head = nn.Linear(width * tokens, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.einsum("nct,st->ncs", x.flatten(2), self.token_mix)  # C * T * T MACs per sample
        x = torch.einsum("nct,dc->ndt", x.relu(), self.channel_mix)  # D * T * C
        return self.head(x.flatten(1))  # D * T * 10


def mixer_net(in_channels: int = 2, input_size: int = 4) -> nn.Module:
    """The mixer on images (imported by path by the CLI tests)."""
    return Mixer(in_channels, input_size * input_size, 3)


# 2 channels, 16 tokens, width 3: token mixing 2*16*16 = 512, channel mixing 3*16*2 = 96, head 3*16*10 = 480
X = torch.randn(3, 2, 4, 4)
HEAD_MACS, EINSUM_MACS = 480, 512 + 96


def einsum_macs(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
    """A two-operand einsum without '...': the product of the sizes of all its indices."""
    equation, *operands = args
    inputs = equation.replace(" ", "").split("->")[0].split(",")
    sizes = {index: size for letters, x in zip(inputs, operands, strict=True)
             for index, size in zip(letters, x.shape, strict=True)}
    return math.prod(sizes.values())


def test_einsum_reported_with_its_calls():
    count = measure_macs(mixer_net(), X)
    assert count.unsupported_ops == {"torch.einsum": 2} and count.total == 3 * HEAD_MACS
    with pytest.warns(UserWarning, match=r"not counted \(no MAC rule\): torch\.einsum \(2 calls\)"):
        assert count_macs(mixer_net(), X) == HEAD_MACS


def test_strict_refuses_unsupported_ops():
    with pytest.raises(UnsupportedOpsError, match=r"torch\.einsum \(2 calls\).*register_mac_rule"):
        count_macs(mixer_net(), X, strict=True)


def test_registered_rule_counts_and_unregistering_restores():
    register_mac_rule(torch.einsum, einsum_macs)
    try:
        count = measure_macs(mixer_net(), X, strict=True)
        assert count.unsupported_ops == {} and count.total == 3 * (HEAD_MACS + EINSUM_MACS)
        assert count.by_module[""] == 3 * EINSUM_MACS  # einsum runs in the root module's forward
        assert count_macs(mixer_net(), X) == HEAD_MACS + EINSUM_MACS == flop_counter_macs(mixer_net(), X)
    finally:
        unregister_mac_rule("torch.einsum")  # the name reported stands for the op
    assert measure_macs(mixer_net(), X).unsupported_ops == {"torch.einsum": 2}
    with pytest.raises(ValueError, match="no MAC rule was registered for torch.einsum"):
        unregister_mac_rule(torch.einsum)


def test_per_call_rules_leave_the_registry_alone():
    rules = {torch.einsum: einsum_macs}
    assert count_macs(mixer_net(), X, rules=rules, strict=True) == HEAD_MACS + EINSUM_MACS
    assert measure_macs(mixer_net(), X).unsupported_ops == {"torch.einsum": 2}


def test_overriding_a_built_in_rule():
    register_mac_rule(nn.functional.linear, lambda args, kwargs, out: 0)
    try:
        assert measure_macs(mixer_net(), X).total == 0
    finally:
        unregister_mac_rule(nn.functional.linear)
    assert measure_macs(mixer_net(), X).total == 3 * HEAD_MACS  # the built-in rule applies again


@torch.library.custom_op("condnet_test::double", mutates_args=())
def double(x: torch.Tensor) -> torch.Tensor:
    return x * 2


def test_rule_for_a_custom_op():
    class Doubler(nn.Module):
        def forward(self, x):
            return double(x)

    assert measure_macs(Doubler(), X).unsupported_ops == {"condnet_test.double": 1}
    def one_per_element(args: tuple, kwargs: dict, out: torch.Tensor) -> int:
        return out.numel()

    for op in ("condnet_test::double", torch.ops.condnet_test.double, torch.ops.condnet_test.double.default):
        assert count_macs(Doubler(), X, rules={op: one_per_element}, strict=True) == 32
    with pytest.raises(TypeError, match="torch.ops.NS.NAME or 'NS::NAME'"):
        register_mac_rule(double, one_per_element)


class _NotCounted(nn.Module):
    """BatchNorm, activations, pooling, dropout, element-wise ops, indexing and attribute reads."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu_(self.layers(x) * 2 + 1)
        x = nn.functional.batch_norm(x, None, None, training=True).softmax(-1)
        return torch.cat([x[:, :, 0], x.mean((2, 3), keepdim=True)[..., 0].expand(len(x), x.shape[1], 2)])


@pytest.mark.parametrize("training", [False, True])
def test_ops_ignored_by_convention_are_not_reported(training):
    count = measure_macs(_NotCounted().train(training), X, strict=True)
    assert count.total == 0 and count.unsupported_ops == {}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_MODELS else n
                                  for n in condnet.list_models()])
def test_registered_models_have_no_unsupported_ops(name):
    model = build_registered(name).eval()
    cfg = model.condnet_config
    measure_macs(model, torch.randn(1, cfg["in_channels"], cfg["input_size"], cfg["input_size"]), strict=True)


# ---- condnet cost --------------------------------------------------------------------------------

def test_cli_prints_unsupported_ops(capsys):
    assert main(["cost", "test_cost_rules:mixer_net"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # params: token mixing 256, channel mixing 6, head 490
    assert lines[-2:] == ["unsupported ops: torch.einsum (2 calls)", "params 752  MACs/sample 480"]
    assert main(["cost", "test_cost_rules:mixer_net", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unsupported_ops"] == {"torch.einsum": 2}
    assert main(["cost", "lenet_mnist_thin"]) == 0
    assert "unsupported ops: none" in capsys.readouterr().out.splitlines()


def test_cli_strict_fails_in_one_line(capsys):
    assert main(["cost", "test_cost_rules:mixer_net", "--strict"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert captured.err.startswith("condnet cost: error: ops without a MAC rule ran and were not counted: "
                                   "torch.einsum (2 calls); add a rule with condnet.cost.register_mac_rule")
