"""Sibling fusion for inference: packed layers against the layers they replace, and the fused HNN (and its
experts) against the HNN on every registered kind and on the whole Fashion-MNIST test set."""

import pytest
import torch
from model_options import build_registered
from torch import nn

from condnet.deploy.exportable import ChannelAffine, exportable_copy
from condnet.deploy.fused_hnn import FusedHNN
from condnet.deploy.inference import inference_copy
from condnet.deploy.siblings import NotFusable, fuse_members
from condnet.errors import CondnetError
from condnet.models import list_models
from condnet.models.resnet import BasicBlock, PadShortcut

HNN_MODELS = [name for name in list_models() if name.startswith("hnn_")]
# outputs per fused step: one step per tree level
LEVEL_PLANS = {"hnn_lenet_fmnist": [3, 7, 10], "hnn_resnet20_fmnist": [3, 7, 10],
               "hnn_resnet20_cifar10": [2, 4, 10], "hnn_vgg11_cifar10": [2, 4, 10],
               "hnn_mobilenetv2_cifar10": [2, 4, 10], "hnn_resnet56_cifar100": [20, 100]}


def randomised(model: nn.Module, seed: int = 0) -> nn.Module:
    """``model`` in eval mode with BatchNorm statistics far from the identity, so folding matters."""
    generator = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.rand(m.num_features, generator=generator) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
    return model.eval()


def close(got: torch.Tensor, want: torch.Tensor, tolerance: float = 1e-5) -> bool:
    got, want = got.detach(), want.detach()
    limit = tolerance * max(1.0, float(want.abs().max()))
    return got.shape == want.shape and float((got - want).abs().max()) <= limit


def images(model, n=3, seed=1):
    spec = model.spec
    return torch.randn(n, spec.in_channels, spec.input_size, spec.input_size,
                       generator=torch.Generator().manual_seed(seed))


def test_convolutions_of_different_widths_reading_shared_and_own_inputs():
    torch.manual_seed(0)
    convs = [nn.Conv2d(4, width, 3, padding=1) for width in (5, 2)] + [nn.Conv2d(3, 4, 3, padding=1)]
    fused = fuse_members(convs, mapping=[0, 0, 1])  # two siblings read block 0 (4 ch), one reads block 1
    a, b = torch.randn(2, 4, 6, 6), torch.randn(2, 3, 6, 6)
    want = torch.cat([convs[0](a), convs[1](a), convs[2](b)], dim=1)
    assert close(fused(torch.cat([a, b], dim=1)), want)  # source-aligned: one convolution
    assert close(fused(torch.cat([a, a, b], dim=1)), want)  # member-aligned: block-diagonal weight
    with pytest.raises(NotFusable, match="fits neither"):
        fused(torch.randn(2, 5, 6, 6))


def test_equal_widths_run_as_a_grouped_convolution_and_linear_layers_as_blocks():
    torch.manual_seed(0)
    convs = [nn.Conv2d(3, 4, 3, padding=1, bias=False) for _ in range(3)]
    fused = fuse_members(convs)
    assert fused.groups == 3 and fused.weight.shape == (12, 3, 3, 3)
    parts = [torch.randn(2, 3, 5, 5) for _ in convs]
    assert close(fused(torch.cat(parts, 1)), torch.cat([c(p) for c, p in zip(convs, parts, strict=True)], 1))
    linears = [nn.Linear(6, 2), nn.Linear(6, 3)]
    x = torch.randn(4, 6)
    assert close(fuse_members(linears, [0, 0])(x), torch.cat([m(x) for m in linears], 1))


def test_affine_and_padding_shortcut_copy_a_shared_input_to_every_member():
    torch.manual_seed(0)
    norms = [nn.BatchNorm2d(3).eval() for _ in range(2)]
    for bn in norms:
        bn.running_mean.uniform_(-1, 1)
    x = torch.randn(2, 3, 4, 4)
    affine = fuse_members([ChannelAffine(bn) for bn in norms], [0, 0])
    assert close(affine(x), torch.cat([bn(x) for bn in norms], 1))
    shortcuts = [PadShortcut(3, 5, 2), PadShortcut(2, 6, 2)]
    packed = fuse_members(shortcuts)
    y = torch.randn(2, 5, 4, 4)
    want = torch.cat([shortcuts[0](y[:, :3]), shortcuts[1](y[:, 3:])], 1)
    assert torch.equal(packed(y), want)


def test_residual_block_adding_a_shared_input_is_not_fused_source_aligned():
    blocks = [BasicBlock(4, 4).eval() for _ in range(2)]  # identity shortcut: adds its own input
    fused = fuse_members([exportable_copy(b) for b in blocks], [0, 0])
    x = torch.randn(1, 4, 5, 5)
    with pytest.raises(RuntimeError):
        fused(x)  # 8 channels of output + 4 of shared input: the planner's check falls back
    assert close(fused(torch.cat([x, x], 1)), torch.cat([b(x) for b in blocks], 1))


def test_members_of_different_types_do_not_fuse():
    with pytest.raises(NotFusable):
        fuse_members([nn.Conv2d(2, 2, 3), nn.Conv2d(2, 2, 1, stride=2)])
    with pytest.raises(NotFusable, match="different types"):
        fuse_members([nn.ReLU(), nn.Tanh()])


@pytest.mark.parametrize("name", HNN_MODELS)
def test_fused_hnn_and_its_experts_agree_with_the_hnn(name):
    torch.manual_seed(0)
    hnn = randomised(build_registered(name))
    fused = FusedHNN(exportable_copy(hnn), measure=False)
    if name in LEVEL_PLANS:
        assert [len(step["outputs"]) for step in fused.plan] == LEVEL_PLANS[name]
    x = images(hnn)
    with torch.no_grad():
        logits = hnn(x)
        assert close(fused(x), logits)
        kept = [0, hnn.spec.num_classes - 1]
        expert = FusedHNN(exportable_copy(hnn.cutout(kept)), measure=False)
        assert close(expert(x), logits[:, kept])


def test_fused_expert_on_the_whole_test_set(fmnist):
    """Every Fashion-MNIST test image: the fused footwear expert's logits are the fused full network's for
    its classes within 1e-5, and it predicts the same class among them."""
    _, test = fmnist
    hnn = randomised(build_registered("hnn_lenet_fmnist"), seed=3)
    full, expert_hnn = inference_copy(hnn), hnn.cutout(["footwear"])
    expert = inference_copy(expert_hnn)
    x = (test.images.float() / 255 - 0.2860) / 0.3530
    with torch.no_grad():
        want = torch.cat([full(part) for part in x.split(1000)])[:, expert_hnn.output_classes]
        got = torch.cat([expert(part) for part in x.split(1000)])
    assert len(got) == 10_000 and close(got, want)
    assert torch.equal(got.argmax(1), want.argmax(1))


def test_fused_hnn_is_for_inference_only():
    fused = inference_copy(build_registered("hnn_lenet_fmnist"))
    assert isinstance(fused, FusedHNN) and not fused.training
    with pytest.raises(CondnetError, match="inference only"):
        fused.train()


def test_onnx_plans_use_no_block_diagonal_weights():
    """For onnxruntime the planner fuses only siblings that need no block-diagonal weight: ResNet-20's
    level 2 (tops at 13 channels, six classes at 3) becomes tops alone plus the six as one grouped step."""
    hnn = randomised(build_registered("hnn_resnet20_fmnist"))
    eager = FusedHNN(exportable_copy(hnn), measure=False)
    onnx = FusedHNN(exportable_copy(hnn), measure=False, block_diagonal=False)
    assert [len(s["outputs"]) for s in eager.plan] == [3, 7, 10]
    assert sorted(len(s["outputs"]) for s in onnx.plan) == [1, 1, 1, 1, 6, 10]
    x = images(hnn)
    with torch.no_grad():
        assert close(onnx(x), hnn(x))
    assert not any(getattr(m, "ran_block_diagonal", False) for m in onnx.modules())
