"""The MAC accountant: known answers per layer type (worked out by hand below), paper B's figures, the
per-module table, and the cross-check against FlopCounterMode on every registered model."""


import pytest
import torch
from model_options import build_registered
from torch import nn

import condnet
from condnet.cost import (
    RoutedCost,
    cost_table,
    count_macs,
    count_params,
    flop_counter_macs,
    measure_macs,
    sample_macs,
    summarize_macs,
)
from condnet.errors import CondnetError


def _both(module: nn.Module, x: torch.Tensor) -> int:
    """count_macs, checked against FlopCounterMode / 2 on the same input."""
    macs = count_macs(module, x)
    assert macs == flop_counter_macs(module, x)
    return macs


# ---- known answers per layer type ------------------------------------------------------------------
# A convolution's MACs per sample = output elements x (in_channels / groups) x kernel area.

def test_conv_stride_padding():
    # 3 -> 8 channels, 3x3, stride 2, padding 1 on 9x9: out side = (9 + 2 - 3) // 2 + 1 = 5
    # MACs = 8 * 5 * 5 outputs * (3 * 3 * 3) = 200 * 27 = 5400
    assert _both(nn.Conv2d(3, 8, 3, stride=2, padding=1), torch.randn(2, 3, 9, 9)) == 5400


def test_conv_dilation():
    # 2 -> 4, 3x3, dilation 2, no padding on 10x10: effective kernel 5, out side 10 - 5 + 1 = 6
    # MACs = 4 * 6 * 6 * (2 * 9) = 144 * 18 = 2592
    assert _both(nn.Conv2d(2, 4, 3, dilation=2), torch.randn(3, 2, 10, 10)) == 2592


def test_conv_groups():
    # 8 -> 12, 3x3, groups 4, padding 1 on 6x6: out 6x6; each output sees 8/4 = 2 channels
    # MACs = 12 * 36 * (2 * 9) = 432 * 18 = 7776
    assert _both(nn.Conv2d(8, 12, 3, padding=1, groups=4), torch.randn(2, 8, 6, 6)) == 7776


def test_depthwise_conv():
    # depthwise 16 channels, 3x3, stride 2, padding 1 on 8x8: out 4x4, one input channel each
    # MACs = 16 * 16 * 9 = 2304
    assert _both(nn.Conv2d(16, 16, 3, stride=2, padding=1, groups=16), torch.randn(2, 16, 8, 8)) == 2304


def test_conv1d_and_conv3d():
    # conv1d 4 -> 6, k 5, padding 2 on length 20: out 20; MACs = 6 * 20 * 4 * 5 = 2400
    assert _both(nn.Conv1d(4, 6, 5, padding=2), torch.randn(2, 4, 20)) == 2400
    # conv3d 2 -> 3, k 3, no padding on 5x5x5: out 3x3x3; MACs = 3 * 27 * (2 * 27) = 4374
    assert _both(nn.Conv3d(2, 3, 3), torch.randn(2, 2, 5, 5, 5)) == 4374


def test_transposed_conv():
    # every input element meets every weight of its group once: MACs = input elements x out_channels x k*k
    # 4 -> 6, 3x3, stride 2 on 5x5 input: 4 * 25 = 100 input elements x 6 * 9 = 5400
    assert _both(nn.ConvTranspose2d(4, 6, 3, stride=2), torch.randn(2, 4, 5, 5)) == 5400
    # grouped: 4 -> 6 in 2 groups, each input channel feeds 3 outputs: 100 x 3 * 9 = 2700
    assert _both(nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2), torch.randn(2, 4, 5, 5)) == 2700


def test_linear_2d_and_3d():
    # 2-D: 20 -> 7: 140 MACs per sample
    assert _both(nn.Linear(20, 7), torch.randn(4, 20)) == 140
    # 3-D [N, 5 tokens, 20] -> 7: 5 * 140 = 700 per sample
    assert _both(nn.Linear(20, 7, bias=False), torch.randn(4, 5, 20)) == 700


class _MatMuls(nn.Module):
    """Every matrix-product spelling once, on a sample of shape [3, 4]."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 5))
        self.b = nn.Parameter(torch.randn(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.matmul(x, self.w)  # [N,3,4]@[4,5]: 3*5 outputs * 4 = 60
        b = x @ self.w  # 60
        c = torch.bmm(x, self.w.expand(len(x), 4, 5))  # 60
        flat = x.reshape(-1, 4)  # [3N, 4]
        d = torch.mm(flat, self.w)  # 3N*5*4 = 60 per sample
        e = torch.addmm(self.b, flat, self.w)  # 60 per sample
        return a + b + c + d.view_as(a) + e.view_as(a)


def test_matmul_family():
    assert _both(_MatMuls(), torch.randn(2, 3, 4)) == 5 * 60


class _VectorProducts(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x[0]  # [3, 4]
        return torch.mv(m, m[0]).sum() + torch.dot(m[0], m[0])  # mv: 3 * 4 = 12 MACs, dot: 4 MACs


def test_vector_products_counted_where_flop_counter_is_silent():
    # a documented difference (docs/cost.md): FlopCounterMode has no formula for aten.mv / aten.dot
    x = torch.randn(1, 3, 4)
    assert count_macs(_VectorProducts(), x) == 16 and flop_counter_macs(_VectorProducts(), x) == 0


def test_not_counted_bn_activation_pooling_elementwise():
    model = nn.Sequential(nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2), nn.AvgPool2d(2)).eval()
    x = torch.randn(2, 3, 8, 8)
    assert count_macs(model, x) == 0 == flop_counter_macs(model, x)


def test_count_params_by_hand():
    # Conv2d(3, 8, 3): 8*3*9 + 8 = 224; BatchNorm2d(8): 16; Linear(8, 2): 18
    assert count_params(nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Linear(8, 2))) == 258


def test_routed_samples_refused_by_count_macs():
    class Skip(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return torch.cat([self.fc(x[:1]), x[1:]])  # only the first sample runs the layer

    # 16 MACs ran for a batch of 3: not the same for every sample
    with pytest.raises(CondnetError, match="sample_macs"):
        count_macs(Skip(), torch.randn(3, 4))


def test_routed_cost_interface():
    class Routed(nn.Module):
        def forward(self, x):
            return x

        def sample_macs(self, x):
            return torch.tensor([10, 30, 30, 50])[: len(x)]

    assert isinstance(Routed(), RoutedCost)
    assert sample_macs(Routed(), torch.zeros(4, 1)).tolist() == [10, 30, 30, 50]
    stats = summarize_macs(sample_macs(Routed(), torch.zeros(4, 1)), bins=4)
    assert (stats["mean"], stats["min"], stats["max"]) == (30.0, 10, 50)
    assert stats["histogram"]["counts"] == [1, 0, 2, 1]
    assert stats["histogram"]["edges"] == [10, 20, 30, 40, 50]
    plain = nn.Linear(3, 2)  # 6 MACs for every sample
    assert sample_macs(plain, torch.zeros(5, 3)).tolist() == [6] * 5


# ---- paper B's figures, derived from the layer shapes ----------------------------------------------

def _conv(out_side: int, out_ch: int, in_ch: int, k: int) -> int:
    return out_side * out_side * out_ch * in_ch * k * k


def _conv_params(out_ch: int, in_ch: int, k: int, bias: bool = True) -> int:
    return out_ch * in_ch * k * k + (out_ch if bias else 0)


def _fashion_net(c0: int, c1: int, c2: int, f0: int, f1: int) -> tuple[int, int]:
    """Fashion Net: conv5x5 'same' at 28, 14, conv1x1 at 7 (each BN + pool), FC f0, f1 (BN1d), head 10."""
    macs = _conv(28, c0, 1, 5) + _conv(14, c1, c0, 5) + _conv(7, c2, c1, 1)
    flat = c2 * 3 * 3  # 7 -> 3 after the last pooling
    macs += flat * f0 + f0 * f1 + f1 * 10
    params = (_conv_params(c0, 1, 5) + 2 * c0 + _conv_params(c1, c0, 5) + 2 * c1 + _conv_params(c2, c1, 1)
              + 2 * c2 + flat * f0 + f0 + 2 * f0 + f0 * f1 + f1 + 2 * f1 + f1 * 10 + 10)
    return macs, params


def _mnist_net(c0: int, c1: int, f0: int) -> tuple[int, int]:
    """MNIST LeNet: conv5x5 'same' at 28 and 14 (each + pool), FC f0, head 10; no BatchNorm."""
    macs = _conv(28, c0, 1, 5) + _conv(14, c1, c0, 5) + c1 * 49 * f0 + f0 * 10
    params = _conv_params(c0, 1, 5) + _conv_params(c1, c0, 5) + c1 * 49 * f0 + f0 + f0 * 10 + 10
    return macs, params


@pytest.mark.parametrize("name, expected, literal", [
    # paper ~11.79 M / ~786.6 K
    ("lenet_fmnist_thick", _fashion_net(32, 64, 128, 512, 256), (11_787_264, 786_634)),
    ("lenet_fmnist_thin", _fashion_net(32, 32, 32, 128, 64), (5_740_672, 73_994)),  # paper ~5.74 M / 74.0 K
    ("lenet_mnist_thin", _mnist_net(20, 15, 25), (1_880_625, 26_695)),  # paper ~1.88 M / 26.7 K
    ("lenet_mnist_thick", _mnist_net(20, 30, 100), (3_480_000, 163_660)),
])
def test_paper_b_lenets(name, expected, literal):
    assert expected == literal
    model = condnet.create_model(name).eval()
    assert (_both(model, torch.randn(2, 1, 28, 28)), count_params(model)) == literal


def _resnet_cifar_macs(n: int) -> int:
    """CIFAR ResNet-(6n+2), widths 16/32/64, projection shortcuts, 32x32 input."""
    stem = _conv(32, 16, 3, 3)
    stage1 = 2 * n * _conv(32, 16, 16, 3)
    stage2 = _conv(16, 32, 16, 3) + _conv(16, 32, 16, 1) + (2 * n - 1) * _conv(16, 32, 32, 3)
    stage3 = _conv(8, 64, 32, 3) + _conv(8, 64, 32, 1) + (2 * n - 1) * _conv(8, 64, 64, 3)
    return stem + stage1 + stage2 + stage3 + 64 * 10


def test_resnet110_paper_b():
    assert _resnet_cifar_macs(18) == 253_149_824  # paper B: 253.15 M
    model = condnet.create_model("resnet110").eval()
    assert count_macs(model, torch.randn(1, 3, 32, 32)) == 253_149_824
    assert count_params(model) == 1_730_714  # paper B: 1.731 M


@pytest.mark.parametrize("depth", [20, 32, 56])
def test_resnet_depths(depth):
    model = condnet.create_model(f"resnet{depth}").eval()
    assert count_macs(model, torch.randn(1, 3, 32, 32)) == _resnet_cifar_macs((depth - 2) // 6)


# ---- the per-module table --------------------------------------------------------------------------

def test_cost_table_sums():
    model = condnet.create_model("lenet_fmnist_thin").eval()
    rows = {r.name: r for r in cost_table(model, torch.randn(2, 1, 28, 28), max_depth=2)}
    assert rows["(total)"].macs == 5_740_672 and rows["(total)"].params == 73_994
    top = [r for name, r in rows.items() if name.count(".") == 0 and name != "(total)"]
    assert {r.name for r in top} == {"stages", "head"}
    assert sum(r.macs for r in top) == rows["(total)"].macs
    assert sum(r.params for r in top) == rows["(total)"].params
    stages = [r for name, r in rows.items() if name.startswith("stages.") and name.count(".") == 1]
    assert [r.macs for r in stages] == [_conv(28, 32, 1, 5), _conv(14, 32, 32, 5), _conv(7, 32, 32, 1),
                                        288 * 128 + 128 * 64]
    assert rows["head"].macs == 64 * 10


def test_measure_macs_by_module():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    count = measure_macs(model, torch.randn(5, 4))
    assert count.batch == 5 and count.total == 5 * (12 + 6)
    assert dict(count.by_module) == {"0": 60, "2": 30} and count.inclusive("") == 90


# ---- every registered model against FlopCounterMode ------------------------------------------------

SLOW_MODELS = {"hnn_resnet56_cifar100"}  # > 5 s on the 2-core test machine (measured with --durations)


def _example(model: nn.Module) -> torch.Tensor:
    cfg = model.condnet_config
    size = cfg.get("input_size", 32)
    return torch.randn(1 if isinstance(model, RoutedCost) else 2, cfg.get("in_channels", 3), size, size)


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_MODELS else n
                                  for n in condnet.list_models()])
def test_count_macs_equals_flop_counter(name):
    torch.manual_seed(0)
    model = build_registered(name).eval()
    x = _example(model)
    macs = count_macs(model, x)
    assert macs > 0 and macs == flop_counter_macs(model, x)
