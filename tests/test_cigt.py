"""CIGT: information gain known answers, gather vs dense execution, routing modes, costs, configs."""

import json
import math

import pytest
import torch
import torch.nn.functional as F
from fake_files import tiny_run_overrides, write_cifar, write_idx_dataset

from condnet.cigt import CIGTNet, information_gain, temperature
from condnet.cli.main import main
from condnet.config import load_config
from condnet.cost import count_macs, count_params, flop_counter_macs, measure_macs
from condnet.errors import CondnetError
from condnet.models import create_model
from condnet.train import Trainer, evaluate
from condnet.train.loading import load_run

LN2 = math.log(2)


# information gain ---------------------------------------------------------------------------------
def test_information_gain_perfect_split_is_class_entropy_times_balance():
    probs = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1])
    # p(c, n) = diag(1/2, 1/2): H(n) = H(c) = H(c, n) = ln 2
    assert information_gain(probs, labels, 2).item() == pytest.approx(LN2, abs=1e-9)
    assert information_gain(probs, labels, 2, balance=2.0).item() == pytest.approx(2 * LN2, abs=1e-9)


def test_information_gain_uniform_routes():
    probs = torch.full((4, 2), 0.5, dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 1])
    # p(c, n) = 1/4 everywhere: H(n) = H(c) = ln 2, H(c, n) = ln 4 -> IG = (beta - 1) ln 2
    assert information_gain(probs, labels, 2).item() == pytest.approx(0.0, abs=1e-9)
    assert information_gain(probs, labels, 2, balance=3.0).item() == pytest.approx(2 * LN2, abs=1e-9)


def test_information_gain_soft_unbalanced_batch():
    probs = torch.tensor([[0.75, 0.25], [0.25, 0.75], [0.5, 0.5]], dtype=torch.float64)
    labels = torch.tensor([0, 1, 2])
    # p(c, n) = rows / 3: [[1/4, 1/12], [1/12, 1/4], [1/6, 1/6]]; p(n) = (1/2, 1/2); p(c) = 1/3 each
    joint = [1 / 4, 1 / 12, 1 / 12, 1 / 4, 1 / 6, 1 / 6]
    h_joint = -sum(p * math.log(p) for p in joint)
    expected = 1.5 * LN2 + math.log(3) - h_joint
    assert information_gain(probs, labels, 3, balance=1.5).item() == pytest.approx(expected, abs=1e-9)


def test_information_gain_gradient_reaches_routers_only_through_route_probs():
    torch.manual_seed(0)
    model = create_model("cigt_lenet_fmnist", warmup_epochs=0, random_ratio=0.0).train()
    x, y = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
    output = model(x)
    routers = list(model.routers.parameters())
    ce_grads = torch.autograd.grad(model.training_loss(output, y)["ce"], routers, allow_unused=True,
                                   retain_graph=True)
    assert all(g is None for g in ce_grads)  # hard routing: no classification gradient reaches a router
    ig_grads = torch.autograd.grad(model.training_loss(output, y)["ig"], routers, retain_graph=True)
    assert all(g.abs().sum() > 0 for g in ig_grads)
    detached = sum(information_gain(p.detach(), y, 10, 2.12) for p in output.route_probs)
    assert not detached.requires_grad


# execution ------------------------------------------------------------------------------------------
def _pair(name: str, **cfg) -> tuple[CIGTNet, CIGTNet]:
    torch.manual_seed(0)
    gather = create_model(name, execution="gather", **cfg)
    dense = create_model(name, execution="dense", **cfg)
    dense.load_state_dict(gather.state_dict())
    return gather, dense


def test_gather_and_dense_identical_in_eval_mode():
    gather, dense = _pair("cigt_lenet_fmnist")
    def batch() -> torch.Tensor:  # images of different brightness, so that the routers spread them
        return torch.randn(64, 1, 1, 1) * 3 + torch.randn(64, 1, 28, 28) * 0.3

    with torch.no_grad():  # BatchNorm running statistics of such batches
        for _ in range(5):
            gather.train()(batch())
    dense.load_state_dict(gather.state_dict())
    x = batch()
    logits_g, routes_g = gather.eval()(x, return_routes=True)
    logits_d, routes_d = dense.eval()(x, return_routes=True)
    assert routes_g.dtype == torch.long and routes_g.shape == (64, 3)
    assert len(routes_g[:, 2].unique()) > 1  # the test covers several blocks
    assert torch.equal(routes_g, routes_d)
    assert torch.allclose(logits_g, logits_d, rtol=0, atol=1e-5)
    assert torch.equal(logits_g.argmax(1), logits_d.argmax(1))


def test_gather_and_dense_identical_in_training_mode_without_batchnorm():
    # MNIST blocks have no BatchNorm (and no dropout): training mode must match exactly, routes included
    gather, dense = _pair("cigt_lenet_mnist", warmup_epochs=0, random_ratio=0.5)
    x = torch.randn(32, 1, 28, 28)
    y = torch.randint(0, 10, (32,))
    torch.manual_seed(1)
    out_g = gather.train()(x)
    torch.manual_seed(1)
    out_d = dense.train()(x)
    assert torch.equal(out_g.routes, out_d.routes)
    assert torch.allclose(out_g.logits, out_d.logits, rtol=0, atol=1e-5)
    for model, out in ((gather, out_g), (dense, out_d)):  # both modes back-propagate
        sum(model.training_loss(out, y).values()).backward()
    for (name, p_g), p_d in zip(gather.named_parameters(), dense.parameters(), strict=True):
        assert (p_g.grad is None) == (p_d.grad is None or not p_d.grad.any()), name
        if p_g.grad is not None:
            assert torch.allclose(p_g.grad, p_d.grad, rtol=1e-4, atol=1e-6), name


def test_training_mode_batchnorm_statistics_come_from_the_routed_samples_only():
    gather, dense = _pair("cigt_lenet_fmnist", warmup_epochs=0, random_ratio=0.0)
    for model in (gather, dense):  # the first router sends every sample to block 0 of layer 1
        last = model.routers["0"].net[-1]
        torch.nn.init.zeros_(last.weight)
        last.bias.data = torch.tensor([5.0, -5.0])
    x = torch.randn(16, 1, 28, 28)
    out_g, out_d = gather.train()(x), dense.train()(x)
    assert (out_g.routes[:, 1] == 0).all() and torch.equal(out_g.routes[:, :2], out_d.routes[:, :2])
    idle_g, idle_d = gather.layers[1][1][0][1], dense.layers[1][1][0][1]  # BatchNorm2d of block 1
    assert torch.equal(idle_g.running_mean, torch.zeros(32)) and idle_g.num_batches_tracked == 0
    assert idle_d.running_mean.abs().sum() > 0 and idle_d.num_batches_tracked == 1
    # the block that ran sees the same samples in both modes, so its statistics agree
    used_g, used_d = gather.layers[1][0][0][1], dense.layers[1][0][0][1]
    assert torch.allclose(used_g.running_mean, used_d.running_mean, atol=1e-6)


def test_single_sample_sub_batch_trains():
    model = create_model("cigt_lenet_fmnist", warmup_epochs=0, random_ratio=0.0).train()
    last = model.routers["1"].net[-1]
    torch.nn.init.zeros_(last.weight)
    last.bias.data = torch.tensor([9.0, 0.0, 0.0, 0.0])
    x = torch.randn(3, 1, 28, 28)
    x[0] = 0.0
    output = model(x)  # leaves get 3 or fewer samples; a leaf with one sample uses running statistics
    model.training_loss(output, torch.tensor([0, 1, 2]))["ce"].backward()


# routing modes ---------------------------------------------------------------------------------------
def test_warmup_routes_at_random_then_argmax_then_random_ratio():
    torch.manual_seed(0)
    model = create_model("cigt_lenet_fmnist", warmup_epochs=2, random_ratio=0.5).train()
    for router in model.routers.values():
        torch.nn.init.zeros_(router.net[-1].weight)
        router.net[-1].bias.data[0] = 50.0  # argmax is block 0 everywhere
    x = torch.randn(200, 1, 28, 28)
    model.on_train_step(1, 10)
    assert (model(x).routes[:, 1:] != 0).any()  # warm-up: uniform random routes
    model.on_train_step(2, 20)
    routed = model(x).routes[:, 1:]
    share = (routed != 0).any(1).double().mean().item()
    assert 0.25 < share < 0.75  # about half the samples re-routed at random (those hit block 0 too sometimes)
    _, routes = model.eval()(x, return_routes=True)
    assert (routes == 0).all()  # inference: argmax


def _random_rows_per_router(model, x, forwards):
    """The randomised-row masks each router received, for ``forwards`` training forwards."""
    seen, route = [], model._route

    def spy(layer, h, randomized, *rest):
        seen.append((layer, randomized.clone()))
        return route(layer, h, randomized, *rest)

    model._route = spy
    for _ in range(forwards):
        model(x)
    return seen


def test_each_router_randomises_exactly_floor_n_r_rows_of_its_own():
    """The authors' draw: per router, an independent set of exactly floor(N * r) rows (125 * 0.49 -> 61)."""
    torch.manual_seed(0)
    model = create_model("cigt_lenet_fmnist", warmup_epochs=0, random_ratio=0.49).train()
    model.on_train_step(0, 0)
    seen = _random_rows_per_router(model, torch.randn(125, 1, 28, 28), forwards=40)
    assert [layer for layer, _ in seen[:2]] == [0, 1] and len(seen) == 80
    assert all(int(mask.sum()) == 61 for _, mask in seen)
    overlaps = [int((seen[i][1] & seen[i + 1][1]).sum()) for i in range(0, 80, 2)]
    # independent draws overlap by 61 * 61 / 125 = 29.8 rows on average (hypergeometric, sd 2.8);
    # one mask reused would overlap by 61
    assert 26 < sum(overlaps) / len(overlaps) < 34 and max(overlaps) < 61


def test_shared_draw_reuses_one_bernoulli_mask_at_every_router():
    torch.manual_seed(0)
    model = create_model("cigt_lenet_fmnist", warmup_epochs=0, random_ratio=0.49,
                         random_draw="shared").train()
    seen = _random_rows_per_router(model, torch.randn(125, 1, 28, 28), forwards=20)
    sizes = {int(mask.sum()) for _, mask in seen}
    assert all(torch.equal(seen[i][1], seen[i + 1][1]) for i in range(0, 40, 2)) and len(sizes) > 1


def test_all_paths_warmup_copies_every_sample_to_every_path():
    torch.manual_seed(0)
    # no BN, no dropout
    model = create_model("cigt_lenet_mnist", warmup_epochs=1, warmup_routing="all").train()
    x, y = torch.randn(5, 1, 28, 28), torch.tensor([3, 1, 4, 1, 5])
    model.on_train_step(0, 0)
    out = model(x)
    assert out.logits.shape == (40, 10) and torch.equal(out.rows, torch.arange(5).repeat_interleave(8))
    for i in range(5):  # each sample takes all 8 leaf paths, and each copy is that path run on the sample
        paths = out.routes[out.rows == i]
        assert sorted(map(tuple, paths[:, 1:].tolist())) == [(j, k) for j in range(2) for k in range(4)]
        for (_, j, k), logits in zip(paths.tolist(), out.logits[out.rows == i], strict=True):
            expected = model.layers[2][k](model.layers[1][j](model.layers[0][0](x[i:i + 1])))
            assert torch.allclose(logits, expected[0], rtol=0, atol=1e-5)
    # router 0 decides once per sample, router 1 once per copy in layer 1; the IG uses the copies' labels
    assert [p.shape for p in out.route_probs] == [(5, 2), (10, 4)]
    terms = model.training_loss(out, y)
    gains = information_gain(out.route_probs[0], y, 10, model.routing.balance) + information_gain(
        out.route_probs[1], y.repeat_interleave(2), 10, model.routing.balance)
    assert terms["ig"].item() == pytest.approx(-model.routing.ig_weight * gains.item(), rel=1e-6)
    per_leaf = sum(torch.nn.functional.cross_entropy(out.logits[out.routes[:, 2] == k],
                                                     y.repeat_interleave(8)[out.routes[:, 2] == k])
                   for k in range(4))
    assert terms["ce"].item() == pytest.approx(per_leaf.item(), rel=1e-6)
    model.on_train_step(1, 1)  # after warm-up: one row per sample again
    assert model(x).logits.shape == (5, 10)
    with pytest.raises(CondnetError, match="model.warmup_routing must be one of random, all"):
        create_model("cigt_lenet_mnist", warmup_routing="copy")


def test_all_paths_warmup_trains_with_the_engine(tmp_path, capsys):
    cfg = load_config("configs/cigt_lenet_fmnist.yaml", [
        "model.warmup_epochs=1", "model.warmup_routing=all", "train.epochs=2", "train.threads=1",
        "data.batch_size=16", "data.limit_train=64", "data.limit_test=16"])
    summary = Trainer(cfg, tmp_path / "run", verbose=False).fit()
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["train_images"] for r in rows] == [64, 64]
    assert all(0 <= r["train_accuracy"] <= 100 for r in rows)
    assert summary["test_n"] == 16
    assert main(["cost", str(tmp_path / "run"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["table_images"] == 2 and printed["macs_per_sample"] == summary["macs_per_sample"]
    assert main(["cost", str(tmp_path / "run")]) == 0
    assert ("(table: per sample over 2 test images on their own routes; MACs/sample below: the mean over "
            "all 16 test images)") in capsys.readouterr().out


def test_random_routing_has_no_routers_and_no_ig_term():
    model = create_model("cigt_lenet_fmnist", routing="random").train()
    assert len(model.routers) == 0
    x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
    assert set(model.training_loss(model(x), y)) == {"ce"}
    assert count_params(model) == 251630 - 4738 - 4996


def test_random_routing_evaluates_reproducibly_and_trains_at_random():
    model = create_model("cigt_lenet_fmnist", routing="random").eval()
    x = torch.randn(64, 1, 28, 28)
    with torch.no_grad():
        first, routes = model(x, return_routes=True)
        again, routes_again = model(x, return_routes=True)
    assert torch.equal(routes, routes_again) and torch.equal(first, again)
    assert len(set(map(tuple, routes[:, 1:].tolist()))) > 4  # still spread over the paths
    model.train()
    assert not torch.equal(model(x).routes, model(x).routes)  # training draws fresh routes


def _path_logits(model: CIGTNet, x: torch.Tensor, path: tuple[int, ...]) -> torch.Tensor:
    """The logits of one path, chaining its blocks by hand (no routing code involved)."""
    h = x
    for layer, block in zip(model.layers, path, strict=True):
        h = layer[block](h)
    return h


def test_random_routing_is_scored_by_its_exact_expected_accuracy_over_paths():
    torch.manual_seed(0)
    model = create_model("cigt_lenet_fmnist", routing="random", path_counts=[1, 2, 4]).eval()
    x, y = torch.randn(60, 1, 28, 28), torch.randint(0, 10, (60,))
    mixture = model.eval_route_mixture()
    assert [path for path, _ in mixture] == [(0, a, b) for a in range(2) for b in range(4)]
    assert [weight for _, weight in mixture] == [1 / 8] * 8
    with torch.no_grad():
        per_path = [_path_logits(model, x, path) for path, _ in mixture]
        assert torch.equal(model(x, path=(0, 1, 2)), per_path[6])
    correct = sum(float((logits.argmax(1) == y).sum()) for logits in per_path) / 8
    loss = sum(F.cross_entropy(logits, y, reduction="sum").item() for logits in per_path) / 8
    batches = [(x[i:i + 7], y[i:i + 7]) for i in range(0, 60, 7)]  # the batch size must not matter
    for scored in (evaluate(model, [(x, y)]), evaluate(model, batches)):
        assert scored["n"] == 60
        assert scored["accuracy"] == pytest.approx(100 * correct / 60, abs=1e-9)
        assert scored["loss"] == pytest.approx(loss / 60, rel=1e-5)
    learned = create_model("cigt_lenet_fmnist", path_counts=[1, 2, 4]).eval()
    assert learned.eval_route_mixture() is None
    with torch.no_grad():
        assert evaluate(learned, [(x, y)])["accuracy"] == 100 * float((learned(x).argmax(1) == y).sum()) / 60


def test_forced_path_errors():
    model = create_model("cigt_lenet_fmnist", path_counts=[1, 2, 4]).eval()
    x = torch.randn(2, 1, 28, 28)
    for bad in [(0, 2, 0), (0, 1), (1, 0, 0), (0, 0, -1)]:
        with pytest.raises(CondnetError, match="does not fit path counts"):
            model(x, path=bad)
    with pytest.raises(CondnetError, match="model.eval"):
        model.train()(x, path=(0, 0, 0))


def test_temperature_schedule():
    assert temperature(0, 25.0, 0.9, 0.01) == 25.0
    assert temperature(2, 25.0, 0.9, 0.01) == pytest.approx(25.0 * 0.81)
    assert temperature(10_000, 25.0, 0.9, 0.01) == 0.01
    model = create_model("cigt_lenet_fmnist", temperature_decay=0.5, temperature_min=1.0)
    model.on_train_step(0, 3)
    assert model.temperature == pytest.approx(25.0 / 8)


def test_per_leaf_and_mean_classification_losses():
    from condnet.cigt import classification_loss
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    targets, leaves = torch.tensor([0, 0, 1]), torch.tensor([0, 0, 3])
    ce = [math.log(1 + math.exp(-2)), math.log(1 + math.exp(1)), LN2]
    per_leaf = (ce[0] + ce[1]) / 2 + ce[2]
    per_leaf_loss = classification_loss(logits, targets, leaves, 4, "per_leaf").item()
    assert per_leaf_loss == pytest.approx(per_leaf, abs=1e-6)
    mean_loss = classification_loss(logits, targets, leaves, 4, "mean").item()
    assert mean_loss == pytest.approx(sum(ce) / 3, abs=1e-6)


# cost ------------------------------------------------------------------------------------------------
def test_fashion_trellis_params_and_sample_macs():
    model = create_model("cigt_lenet_fmnist").eval()
    thin = create_model("lenet_fmnist_thin").eval()
    routers = [32 * 128 + 128 + 2 * 128 + 128 * 2 + 2, 32 * 128 + 128 + 2 * 128 + 128 * 4 + 4]
    assert count_params(model) == 241_896 + sum(routers) == 251_630  # paper B: 251.6 K
    assert model.path_params() == {"path": count_params(thin), "routers": sum(routers), "total": 251_630}
    x = torch.randn(10, 1, 28, 28)
    per_sample = model.sample_macs(x)
    router_macs = 32 * 128 + 128 * 2 + 32 * 128 + 128 * 4
    assert per_sample.tolist() == [count_macs(thin, x[:1]) + router_macs] * 10
    assert int(per_sample.sum()) == measure_macs(model, x).total == round(flop_counter_macs(model, x) * 10)


def test_sample_macs_follow_the_routes_taken():
    model = create_model("cigt_lenet_mnist", path_counts=[1, 2, 4], boundaries=None).eval()
    torch.nn.init.zeros_(model.routers["0"].net[-1].weight)
    x = torch.randn(6, 1, 28, 28)
    layers = [torch.tensor([measure_macs(b, h).total for b in layer])
              for layer, h in zip(model.layers, (x[:1], model.layers[0][0](x[:1]),
                                                 model.layers[1][0](model.layers[0][0](x[:1]))), strict=True)]
    _, routes = model(x, return_routes=True)
    routers = sum(measure_macs(r, torch.zeros(2, *s)).total // 2
                  for r, s in zip(model.routers.values(), ((20, 14, 14), (15, 7, 7)), strict=True))
    expected = sum(costs[routes[:, layer]] for layer, costs in enumerate(layers)) + routers
    assert torch.equal(model.sample_macs(x), expected)
    assert int(expected.sum()) == measure_macs(model, x).total


def test_resnet110_trellis_matches_paper_costs():
    model = create_model("cigt_resnet110_cifar10").eval()
    assert count_params(model) == 860_718  # paper B: 0.861 M
    assert model.sample_macs(torch.randn(1, 3, 32, 32)).item() == 94_159_776  # paper B: 94.16 M


def test_path_counts_any_list_and_errors():
    model = create_model("cigt_lenet_fmnist", path_counts=[1, 3], boundaries=[2])
    assert [len(layer) for layer in model.layers] == [1, 3] and list(model.routers) == ["0"]
    with pytest.raises(CondnetError, match="model.boundaries needs 1 stage indices"):
        create_model("cigt_lenet_fmnist", path_counts=[2, 4])
    with pytest.raises(CondnetError, match="model.execution must be one of gather, dense"):
        create_model("cigt_lenet_fmnist", execution="fast")
    with pytest.raises(CondnetError, match="increasing stage indices"):
        create_model("cigt_lenet_fmnist", boundaries=[2, 1])


# configs train a few steps ----------------------------------------------------------------------------
@pytest.mark.parametrize("config, writer", [
    ("configs/cigt_lenet_fmnist.yaml", None),
    ("configs/cigt_lenet_fmnist_random.yaml", None),
    ("configs/cigt_lenet_mnist.yaml", write_idx_dataset),
    ("configs/cigt_resnet20_cifar10.yaml", write_cifar),
    ("configs/cigt_resnet110_cifar10.yaml", write_cifar),
])
def test_configs_train_a_few_steps_and_reload(config, writer, tmp_path):
    cfg = load_config(config, tiny_run_overrides(writer and writer(tmp_path / "data")))
    summary = Trainer(cfg, tmp_path / "run", verbose=False).fit()
    model = create_model(**cfg.model).eval()
    assert summary["params"] == count_params(model)
    loaded = load_run(tmp_path / "run")
    assert isinstance(loaded.model, CIGTNet) and loaded.config.model["path_counts"] == [1, 2, 4]
    assert summary["macs"]["min"] <= summary["macs_per_sample"] <= summary["macs"]["max"]
