"""condnet export and bench: every model kind exported to ONNX and pt2 and verified, metadata, refusals,
the numpy + onnxruntime example script, side-by-side timing tables (their structure, not their speed)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import condnet
from condnet.cli.main import main
from condnet.config import load_config
from condnet.data import dataset_info
from condnet.deploy import export as export_module
from condnet.deploy.bench import BenchModel, time_side_by_side
from condnet.deploy.export import export_model
from condnet.deploy.runtime import read_metadata, run_export
from condnet.errors import CondnetError
from condnet.train import Trainer
from condnet.train.loading import load_run

ROOT = Path(__file__).parents[1]
FMNIST = Path("/usr/share/datasets/fashion-mnist")
TINY = [
    "train.epochs=1",
    "train.threads=1",
    "data.batch_size=16",
    "data.eval_batch_size=64",
    "data.limit_train=96",
    "data.limit_test=64",
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Tiny trained runs of every kind (plain backbone, HNN, CIGT) and an HNN expert file."""
    base = tmp_path_factory.mktemp("deploy")
    found = {}
    for kind, config in (
        ("plain", "lenet_fmnist_thin"),
        ("hnn", "hnn_lenet_fmnist"),
        ("cigt", "cigt_lenet_fmnist"),
    ):
        Trainer(load_config(ROOT / "configs" / f"{config}.yaml", TINY), base / kind, verbose=False).fit()
        found[kind] = base / kind
    assert (
        main(["cutout", str(base / "hnn"), "--classes", "footwear,Bag", "--out", str(base / "expert.pt")])
        == 0
    )
    found["expert"] = base / "expert.pt"
    return found


@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
@pytest.mark.parametrize("kind", ["plain", "hnn", "expert", "cigt"])
def test_export_verifies_every_kind(runs, kind, fmt, tmp_path, capsys):
    out = tmp_path / f"model.{fmt}"
    capsys.readouterr()
    assert main(["export", str(runs[kind]), "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == fmt and report["verified_batches"] == [1, 3, 64]
    assert report["max_abs_diff"] <= 1e-4
    assert report["routes_equal"] is (True if kind == "cigt" else None)
    meta = read_metadata(out)
    expected_names = (
        ["Sandal", "Sneaker", "Bag", "Ankle boot"]
        if kind == "expert"
        else list(dataset_info("fashion_mnist").class_names)
    )
    assert meta["class_names"] == expected_names
    assert meta["class_indices"] == ([5, 7, 8, 9] if kind == "expert" else list(range(10)))
    assert meta["input_shape"] == [1, 28, 28] and meta["mean"] == [0.286] and meta["std"] == [0.353]
    assert meta["outputs"] == (["logits", "routes"] if kind == "cigt" else ["logits"])
    assert (
        meta["condnet_version"] == condnet.__version__
        and meta["config"]["model"]["name"] == meta["model_name"]
    )
    if kind == "plain":
        assert meta["params"] == 73_994 and meta["macs_per_sample"] == {
            "mean": 5_740_672,
            "min": 5_740_672,
            "max": 5_740_672,
        }
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temporary file left


def test_a_mismatch_leaves_nothing_behind(runs, tmp_path, monkeypatch):
    monkeypatch.setattr(export_module, "TOLERANCE", -1.0)  # any difference (even 0) is now a mismatch
    loaded = load_run(runs["plain"])
    images = torch.randn(4, 1, 28, 28)
    with pytest.raises(CondnetError, match="disagrees with PyTorch.*nothing was written"):
        export_model(loaded.model, tmp_path / "m.onnx", "onnx", {"model_name": "x"}, [images])
    assert list(tmp_path.iterdir()) == []


def test_random_routing_is_refused(tmp_path):
    model = condnet.create_model("cigt_lenet_fmnist", routing="random").eval()
    with pytest.raises(CondnetError, match="randomly routed trellis"):
        export_model(model, tmp_path / "m.onnx", "onnx", {}, [torch.randn(2, 1, 28, 28)])
    assert list(tmp_path.iterdir()) == []


def test_format_and_suffix_must_agree(runs, tmp_path, capsys):
    assert main(["export", str(runs["plain"]), "--out", str(tmp_path / "m.onnx"), "--format", "pt2"]) == 2
    assert "ends in .onnx but --format is pt2" in capsys.readouterr().err


def test_exported_graph_runs_any_batch_size(runs, tmp_path):
    out = tmp_path / "hnn.onnx"
    assert main(["export", str(runs["hnn"]), "--out", str(out)]) == 0
    loaded = load_run(runs["hnn"])
    for batch in (2, 17, 257):
        x = torch.randn(batch, 1, 28, 28)
        with torch.no_grad():
            assert torch.allclose(run_export(out, "onnx", x)[0], loaded.model(x), atol=1e-4)


@pytest.mark.skipif(not FMNIST.exists(), reason="needs the installed Fashion-MNIST")
def test_example_script_runs_with_numpy_and_onnxruntime_only(runs, tmp_path):
    out = tmp_path / "expert.onnx"
    assert main(["export", str(runs["expert"]), "--out", str(out)]) == 0
    script = ROOT / "examples" / "run_onnx.py"
    assert {line.split()[1] for line in script.read_text().splitlines() if line.startswith("import ")} == {
        "argparse",
        "gzip",
        "json",
        "numpy",
        "onnxruntime",
    }
    proc = subprocess.run(
        [
            sys.executable,
            str(script),
            str(out),
            str(FMNIST / "t10k-images-idx3-ubyte.gz"),
            str(FMNIST / "t10k-labels-idx1-ubyte.gz"),
            "--limit",
            "200",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "classes Sandal, Sneaker, Bag, Ankle boot" in proc.stdout
    assert "accuracy on the" in proc.stdout


def test_bench_rows_and_ratios(runs, capsys):
    capsys.readouterr()
    assert (
        main(
            [
                "bench",
                str(runs["plain"]),
                str(runs["cigt"]),
                "--batch",
                "1,4",
                "--runtime",
                "eager,onnx",
                "--rounds",
                "3",
                "--json",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)["timings"]
    assert [(r["runtime"], r["batch"]) for r in rows] == [
        (rt, b) for rt in ("eager", "onnx") for b in (1, 4) for _ in range(2)
    ]
    for first, second in zip(rows[::2], rows[1::2], strict=True):
        assert first["speedup"] == 1.0 and first["mac_ratio"] == 1.0 and first["macs"] == 5_740_672
        assert second["median_ms"] > 0 and second["mac_ratio"] == pytest.approx(5_740_672 / second["macs"])
        assert second["speedup"] == pytest.approx(first["median_ms"] / second["median_ms"])


def test_bench_marks_what_cannot_be_exported():
    random_routed = condnet.create_model("cigt_lenet_fmnist", routing="random").eval()
    plain = condnet.create_model("lenet_fmnist_thin").eval()
    x = torch.randn(8, 1, 28, 28)
    rows = time_side_by_side(
        [BenchModel("plain", plain, x, 1.0), BenchModel("random", random_routed, x, 1.0)],
        ["onnx"],
        [2],
        rounds=2,
    )
    assert rows[0].median_ms > 0 and rows[1].median_ms is None and "randomly routed" in rows[1].note
