"""Exporting CIGT: exact on every path and batch size (torch.export, ONNX in onnxruntime, pt2), whatever the
example batch; torch.compile; and BatchNorm-free exportable copies of every registered model."""

import copy
from collections.abc import Callable

import pytest
import torch
from model_options import build_registered
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

import condnet
from condnet.deploy.exportable import ChannelAffine, exportable_copy
from condnet.errors import CondnetError
from condnet.models import create_model

MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST on the 0..1 scale
BATCHES = (1, 3, 64)
SLOW_MODELS = {"hnn_resnet56_cifar100"}  # 2661 BatchNorms: ~7 s on the 2-core test machine
Run = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


class Routed(nn.Module):
    """The exported forward: logits and routes."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model(images, return_routes=True)


def _normalised(images: torch.Tensor) -> torch.Tensor:
    return (images.float() / 255 - MEAN) / STD


@pytest.fixture(scope="module")
def images(fmnist) -> torch.Tensor:
    """72 real test images: the batches of 1, 3 and 64, then spare ones."""
    return _normalised(fmnist[1].images[:72])


@pytest.fixture(scope="module")
def trellis(fmnist) -> nn.Module:
    """cigt_lenet_fmnist with default-init weights and BatchNorm statistics of real training images."""
    torch.manual_seed(0)
    model = create_model("cigt_lenet_fmnist")
    with torch.no_grad():
        for start in range(0, 192, 64):
            model.train()(_normalised(fmnist[0].images[start:start + 64]))
    return model.eval()


def _batches(images: torch.Tensor) -> list[torch.Tensor]:
    return [images[:n] for n in BATCHES]


def _forced(model: nn.Module, block1: int, block2: int) -> nn.Module:
    """A copy of ``model`` whose routers send every sample to block ``block1``, then block ``block2``."""
    forced = copy.deepcopy(model)
    for router, block in ((forced.routers["0"], block1), (forced.routers["1"], block2)):
        last = router.net[-1]
        with torch.no_grad():
            last.weight.zero_()
            last.bias.copy_(100.0 * nn.functional.one_hot(torch.tensor(block), len(last.bias)))
    return forced


def _export(model: nn.Module, example: torch.Tensor) -> torch.export.ExportedProgram:
    batch = torch.export.Dim("batch", min=1, max=1024)
    with torch.no_grad():
        return torch.export.export(Routed(exportable_copy(model)).eval(), (example,),
                                   dynamic_shapes=({0: batch},), strict=False)


def _onnx_run(program: torch.export.ExportedProgram, path) -> Run:
    ort = pytest.importorskip("onnxruntime")
    torch.onnx.export(program, (), dynamo=True, verbose=False).save(str(path))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, routes = session.run(None, {name: x.numpy()})
        return torch.from_numpy(logits), torch.from_numpy(routes)

    return run


def _assert_matches(run: Run, model: nn.Module, batches: list[torch.Tensor]) -> None:
    for x in batches:
        with torch.no_grad():
            expected, expected_routes = model(x, return_routes=True)
            logits, routes = run(x)
        assert logits.shape == expected.shape
        assert torch.allclose(logits, expected, rtol=0, atol=1e-4), (len(x), (logits - expected).abs().max())
        assert torch.equal(routes.long(), expected_routes), len(x)


# every leaf path, batches of 1, 3 and 64, exported from a batch of 2 ------------------------------------
@pytest.mark.parametrize("path", range(8), ids=lambda p: f"path{p // 4}{p % 4}")
def test_export_is_exact_on_every_path(trellis, images, path, tmp_path):
    block1, block2 = divmod(path, 4)
    model = _forced(trellis, block1, block2)
    with torch.no_grad():
        _, routes = model(images, return_routes=True)
    assert routes.tolist() == [[0, block1, block2]] * len(images)  # the other blocks get no sample
    program = _export(model, images[-2:])
    _assert_matches(_onnx_run(program, tmp_path / "cigt.onnx"), model, _batches(images))


def test_export_of_mixed_batches_onnx_and_pt2(trellis, images, tmp_path):
    with torch.no_grad():
        _, routes = trellis(images, return_routes=True)
    paths = routes[:64, 1] * 4 + routes[:64, 2]
    assert len(paths.unique()) >= 2  # untrained routers already spread real images
    spare = routes[64:, 1] * 4 + routes[64:, 2]
    first = int(torch.nonzero(spare == spare[0])[1]) + 64  # example: 2 images of one path
    program = _export(trellis, images[[64, first]])
    _assert_matches(_onnx_run(program, tmp_path / "cigt.onnx"), trellis, _batches(images))
    torch.export.save(program, str(tmp_path / "cigt.pt2"))
    _assert_matches(torch.export.load(str(tmp_path / "cigt.pt2")).module(), trellis, _batches(images))


def test_torch_export_of_the_model_itself_is_exact(trellis, images):
    # BatchNorm left in the blocks: each gathered block gets a placeholder row under tracing
    batch = torch.export.Dim("batch", min=1, max=1024)
    with torch.no_grad():
        program = torch.export.export(Routed(trellis), (images[:2],), dynamic_shapes=({0: batch},),
                                      strict=False)
    _assert_matches(program.module(), trellis, _batches(images))


def test_random_routing_refuses_export_and_compile(images):
    model = create_model("cigt_lenet_fmnist", routing="random").eval()
    with pytest.raises(CondnetError, match="random routes are not exportable"):
        torch.export.export(Routed(model), (images[:2],), strict=False)
    with pytest.raises(Exception, match="random routes are not exportable"):  # dynamo wraps the CondnetError
        torch.compile(model, fullgraph=True)(images[:2])
    torch._dynamo.reset()


# torch.compile ------------------------------------------------------------------------------------------
def test_compile_fullgraph_matches_eager(trellis, images):
    compiled = torch.compile(trellis, fullgraph=True)
    try:
        with torch.no_grad():
            for n in (1, 64):
                expected = trellis(images[:n])
                assert torch.allclose(compiled(images[:n]), expected, rtol=0, atol=1e-5), n
    finally:
        torch._dynamo.reset()


# exportable copies ----------------------------------------------------------------------------------------
def _with_statistics(model: nn.Module, shape: tuple[int, ...]) -> nn.Module:
    """``model`` in eval mode after train-mode forwards that give every BatchNorm non-trivial statistics."""
    with torch.no_grad():
        for _ in range(2):
            model.train()(torch.randn(8, *shape) * 2 + 0.5)
    return model.eval()


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_MODELS else n
                                  for n in condnet.list_models()])
def test_exportable_copy_has_no_batchnorm_and_the_same_logits(name):
    torch.manual_seed(0)
    model = build_registered(name)
    cfg = model.condnet_config
    shape = (cfg.get("in_channels", 3), cfg.get("input_size", 32), cfg.get("input_size", 32))
    model = _with_statistics(model, shape)
    copied = exportable_copy(model)
    assert not copied.training and not any(isinstance(m, _BatchNorm) for m in copied.modules())
    x = torch.randn(5, *shape) * 2 + 0.5
    with torch.no_grad():
        assert torch.allclose(copied(x), model(x), rtol=0, atol=1e-5)


class _Unfoldable(nn.Module):
    """BatchNorms without a foldable producer: after a ReLU, after a convolution whose output is reused."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn = nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4)
        self.body = nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU(), nn.BatchNorm2d(4), nn.Flatten(),
                                  nn.Linear(4 * 8 * 8, 6), nn.BatchNorm1d(6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.body(self.bn(y) + y)


def test_batchnorms_that_cannot_be_folded_become_channel_affine():
    torch.manual_seed(0)
    model = _with_statistics(_Unfoldable(), (3, 8, 8))
    copied = exportable_copy(model)
    assert isinstance(copied.bn, ChannelAffine) and isinstance(copied.body[2], ChannelAffine)
    assert isinstance(copied.body[5], nn.Identity)  # Linear + BatchNorm1d folded
    x = torch.randn(4, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(copied(x), model(x), rtol=0, atol=1e-5)
    model.bn = nn.BatchNorm2d(4, track_running_stats=False)
    with pytest.raises(CondnetError, match="running statistics"):
        exportable_copy(model)
