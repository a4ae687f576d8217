"""Bad inputs and injected faults, through the real CLI in a subprocess, one table row each.

For every row: exit code 2, exactly one line on stderr that names the problem (the row's needle), no
traceback, and the files of the working directory the same after the command as before (except the
paths the row allows: what the command was asked to write). Each row runs in its own copy of a
workspace holding three tiny trained runs (a plain LeNet, an HNN, a CIGT) and an HNN expert file; the
rows run two at a time (one per core).
"""

import fcntl
import gzip
import hashlib
import json
import os
import pickle
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from fake_files import ShellPayload, idx_bytes, write_cifar, write_idx_dataset

import condnet
from condnet.config import load_config
from condnet.data.datasets import FASHION_MNIST_CLASSES
from condnet.train import Trainer, save_checkpoint

REPO = Path(__file__).parents[1]
CONFIGS = REPO / "configs"
TINY = ["--set", "train.epochs=1", "--set", "train.threads=1", "--set", "data.batch_size=8", "--set",
        "data.eval_batch_size=16", "--set", "data.limit_train=48", "--set", "data.limit_test=16", "--quiet"]


def _train(config: str, *extra: str) -> list[str]:
    return ["train", "--config", str(CONFIGS / config), "--out", "new_run", *TINY, *extra]


@dataclass
class Case:
    """One bad input: the command, the phrase its error must contain, and how to prepare the workspace."""

    id: str
    argv: list[str]
    needle: str
    setup: Callable[[Path], Any] | None = None  # may return an object to keep alive while the command runs
    env: dict[str, str] = field(default_factory=dict)
    may_write: tuple[str, ...] = ()  # workspace paths (prefixes) the command was asked to write
    file_size_limit: int | None = None  # RLIMIT_FSIZE in bytes: writes past it fail (a full disk)


# ---- workspace preparations -------------------------------------------------------------------------


def _write(name: str, content: str | bytes) -> Callable[[Path], None]:
    def setup(ws: Path) -> None:
        path = ws / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return setup


def _edit_yaml(name: str, section: str, key: str, value: Any) -> Callable[[Path], None]:
    def setup(ws: Path) -> None:
        raw = yaml.safe_load((ws / name).read_text())
        raw[section][key] = value
        (ws / name).write_text(yaml.safe_dump(raw, sort_keys=False))
    return setup


def _nested_json(levels: int) -> str:
    tree: Any = "Bag"
    for i in range(levels):
        tree = {"name": f"g{i}", "children": [tree]}
    rest = [c for c in FASHION_MNIST_CLASSES if c != "Bag"]
    return json.dumps({"tree": {"name": "root", "children": [tree, *rest]}})


def _hold_lock(ws: Path) -> Any:
    handle = open(ws / "thin" / ".lock", "a+")
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    handle.truncate(0)
    handle.write("process 4242 (condnet train)\n")
    handle.flush()
    return handle


def _unfinished_thin(ws: Path) -> None:
    """thin as a run killed after epoch 1 of 2: summary removed, epochs raised (and run.json's digest)."""
    from condnet.train.rundir import text_digest

    (ws / "thin" / "summary.json").unlink()
    raw = yaml.safe_load((ws / "thin" / "config.yaml").read_text())
    raw["train"]["epochs"] = 2
    text = yaml.safe_dump(raw, sort_keys=False)
    (ws / "thin" / "config.yaml").write_text(text)
    identity = (ws / "thin" / "run.json").read_text()
    old = yaml.safe_load(identity)["config_sha256"]
    (ws / "thin" / "run.json").write_text(identity.replace(old, text_digest(text)))
    for name in ("last.pt", "best.pt"):  # the checkpoints carry the config: keep them consistent
        state = torch.load(ws / "thin" / "checkpoints" / name, weights_only=True)
        state["config"]["train"]["epochs"] = 2
        torch.save(state, ws / "thin" / "checkpoints" / name)


def _foreign_last(ws: Path) -> None:
    _unfinished_thin(ws)
    state = torch.load(ws / "thin" / "checkpoints" / "last.pt", weights_only=True)
    state["run_id"] = "0" * 32
    torch.save(state, ws / "thin" / "checkpoints" / "last.pt")


def _then(*steps: Callable[[Path], Any]) -> Callable[[Path], None]:
    def setup(ws: Path) -> None:
        for step in steps:
            step(ws)
    return setup


def _evil_checkpoint(ws: Path) -> None:
    torch.save({"format": "condnet-checkpoint-v1", "config": {}, "model_state": {},
                "x": ShellPayload(ws / "PWNED")}, ws / "evil.pt")


def _truncated_checkpoint(ws: Path) -> None:
    data = (ws / "thin" / "checkpoints" / "best.pt").read_bytes()
    (ws / "cut.pt").write_bytes(data[: len(data) // 2])


def _checkpoint(name: str, model_cfg: dict[str, Any],
                state_of: str = "lenet_fmnist_thin") -> Callable[[Path], None]:
    def setup(ws: Path) -> None:
        config = {"model": model_cfg, "data": {"dataset": "fashion_mnist"}, "train": {}}
        save_checkpoint(ws / name, config, condnet.create_model(state_of).state_dict())
    return setup


def _gzip_bomb(ws: Path) -> None:
    root = write_idx_dataset(ws / "bomb")
    header = bytes([0, 0, 0x08, 1]) + (8).to_bytes(4, "big")
    (root / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(header + bytes(8 + 30_000_000)))


def _only_train_files(ws: Path) -> None:
    root = write_idx_dataset(ws / "half")
    for path in root.glob("t10k-*"):
        path.unlink()


def _bad_magic(ws: Path) -> None:
    root = write_idx_dataset(ws / "magic", compress=False)
    (root / "train-images-idx3-ubyte").write_bytes(b"\x12\x34\x56\x78" + bytes(100))


def _truncated_idx(ws: Path) -> None:
    root = write_idx_dataset(ws / "short", compress=False)
    data = (root / "train-images-idx3-ubyte").read_bytes()
    (root / "train-images-idx3-ubyte").write_bytes(data[:-100])


def _labels_out_of_range(ws: Path) -> None:
    root = write_idx_dataset(ws / "labels", compress=False)
    (root / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(np.full(32, 12, dtype=np.uint8)))


def _cifar_payload(ws: Path) -> None:
    root = write_cifar(ws / "cifar")
    (root / "data_batch_2").write_bytes(pickle.dumps(ShellPayload(ws / "PWNED")))


def _alias_bomb() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\nmodel: {name: lenet_fmnist_thin}\n"


def _demo_dir(ws: Path) -> None:
    (ws / "demo").mkdir()
    (ws / "demo" / "demo.json").write_text('{"epochs": 1, "limit_train": 48, "limit_test": 16}\n')


# ---- the table ---------------------------------------------------------------------------------------

THIN, HNN, CIGT = "lenet_fmnist_thin.yaml", "hnn_lenet_fmnist.yaml", "cigt_lenet_fmnist.yaml"
CUDA = torch.cuda.is_available()

CASES = [
    # configs and values
    Case("config-missing", ["train", "--config", "missing.yaml", "--out", "r"],
         "config file missing.yaml not found"),
    Case("config-is-directory", ["train", "--config", "thin", "--out", "r"], "(it is a directory)"),
    Case("config-not-utf8", ["train", "--config", "bad.yaml", "--out", "r"], "is not UTF-8 text",
         _write("bad.yaml", b"model:\n  name: \xff\xfe\n")),
    Case("config-yaml-syntax", ["train", "--config", "bad.yaml", "--out", "r"], "is not valid YAML",
         _write("bad.yaml", "model: [name: x\n")),
    Case("config-alias-bomb", ["train", "--config", "bomb.yaml", "--out", "r"],
         "YAML aliases (*name) are not supported", _write("bomb.yaml", _alias_bomb())),
    Case("config-a-list", ["train", "--config", "list.yaml", "--out", "r"], "must hold a YAML mapping",
         _write("list.yaml", "- model\n- data\n")),
    Case("config-unknown-section", ["train", "--config", "x.yaml", "--out", "r"],
         "unknown config section 'optim'", _write("x.yaml", "model: {name: lenet_fmnist_thin}\noptim: {}\n")),
    Case("config-too-large", ["train", "--config", "big.yaml", "--out", "r"], "more than the 16,777,216",
         _write("big.yaml", "#" * (17 * 2**20))),
    Case("set-no-equals", _train(THIN, "--set", "train.lr"), "--set expects section.key=value"),
    Case("set-bad-yaml", _train(THIN, "--set", "train.milestones=[1,"), "the value is not valid YAML"),
    Case("model-ig-weight-word", _train(CIGT, "--set", "model.ig_weight=high"),
         "model.ig_weight must be of type float"),
    Case("model-ig-weight-nan", _train(CIGT, "--set", "model.ig_weight=.nan"),
         "model.ig_weight must be a finite number"),
    Case("model-dropout-nan", _train(THIN, "--set", "model.dropout=.nan"),
         "model.dropout must be a finite number"),
    Case("model-dropout-one", _train(THIN, "--set", "model.dropout=1"), "model.dropout must be in [0, 1)"),
    Case("model-path-counts-words", _train(CIGT, "--set", "model.path_counts=[1,two]"),
         "model.path_counts must be of type int"),
    Case("model-unknown-option", _train(THIN, "--set", "model.width=2"), "has no option 'width'"),
    Case("model-split-out-of-range", _train(HNN, "--set", "model.split=99"),
         "split must be in 0..3 (the backbone has 4 stages and needs at least one for the branches), got 99"),
    Case("model-absurd-size", _train("resnet20_fmnist.yaml", "--set", "model.width=100000"),
         "would have 10,540,014,700,010 parameters"),
    Case("train-lr-inf", _train(THIN, "--set", "train.lr=.inf"), "train.lr must be a finite number"),
    Case("train-warmup-negative", _train(THIN, "--set", "train.warmup_epochs=-1"),
         "train.warmup_epochs must be >= 0"),
    Case("train-weight-decay-negative", _train(THIN, "--set", "train.weight_decay=-1"),
         "train.weight_decay must be >= 0"),
    Case("train-momentum-negative", _train(THIN, "--set", "train.momentum=-1"),
         "train.momentum must be >= 0"),
    Case("train-seed-float", _train(THIN, "--set", "train.seed=1e30"),
         "train.seed must be of type int, got 1e+30"),
    Case("train-seed-huge", _train(THIN, "--set", "train.seed=99999999999"),
         "train.seed must be in [0, 2**32)"),
    Case("data-batch-size-one", _train(THIN, "--set", "data.batch_size=1"), "data.batch_size must be >= 2"),
    Case("data-mean-channels", _train(THIN, "--set", "data.mean=[0.5,0.5]"), "data.mean needs 1 value(s)"),
    Case("data-std-zero", _train(THIN, "--set", "data.std=[0]"), "data.std must be > 0"),
    Case("train-device-name", _train(THIN, "--set", "train.device=tpu"),
         "must be one of auto, cpu, cuda, cuda:N or mps"),
    *([] if CUDA else [
        Case("train-device-missing", _train(THIN, "--set", "train.device=cuda:1"), "cuda:1 is not available"),
        Case("eval-device-missing", ["eval", "thin", "--device", "cuda"], "--device cuda is not available")]),
    # class trees
    Case("hierarchy-of-other-dataset", _train(HNN, "--set", "model.hierarchy=cifar10"),
         "is a tree over other classes (airplane"),
    Case("hierarchy-other-class-names", _train(HNN, "--set", "model.hierarchy=tree.yaml"),
         "differ from the dataset's class names",
         _write("tree.yaml", "classes: [a, b, c, d, e, f, g, h, i, j]\n"
                "tree: {name: root, children: [a, b, c, d, e, f, g, h, i, j]}\n")),
    Case("hierarchy-deep", _train(HNN, "--set", "model.hierarchy=deep.json"), "deeper than 32 levels",
         _write("deep.json", _nested_json(34))),
    Case("hierarchy-nested-too-deep", _train(HNN, "--set", "model.hierarchy=deeper.json"),
         "nests deeper than 100 levels", _write("deeper.json", _nested_json(200))),
    Case("hierarchy-self-reference", _train(HNN, "--set", "model.hierarchy=cycle.yaml"), "YAML aliases",
         _write("cycle.yaml", "tree: &t {name: root, children: [*t]}\n")),
    # data locations and files
    Case("data-env-empty", _train(THIN), "CONDNET_DATA is set, so the default location",
         _write("empty/.keep", ""), env={"CONDNET_DATA": "empty"}),
    Case("data-root-incomplete", _train("lenet_mnist_thin.yaml", "--set", "data.root=half"),
         "missing t10k-images-idx3-ubyte(.gz), t10k-labels-idx1-ubyte(.gz)", _only_train_files),
    Case("data-gzip-bomb", _train("lenet_mnist_thin.yaml", "--set", "data.root=bomb"),
         "decompresses to more than its header declares", _gzip_bomb),
    Case("data-idx-bad-magic", _train("lenet_mnist_thin.yaml", "--set", "data.root=magic"),
         "bad magic number", _bad_magic),
    Case("data-idx-truncated", _train("lenet_mnist_thin.yaml", "--set", "data.root=short"), "truncated",
         _truncated_idx),
    Case("data-labels-out-of-range", _train("lenet_mnist_thin.yaml", "--set", "data.root=labels"),
         "test labels outside 0..9", _labels_out_of_range),
    Case("data-cifar-pickle-payload",
         ["train", "--config", str(CONFIGS / "resnet20_cifar10.yaml"), "--out", "r",
          "--set", "data.root=cifar", *TINY], "data_batch_2", _cifar_payload),
    # run directories
    Case("run-locked", ["train", "--out", "thin", "--resume"], "is in use by process 4242", _hold_lock),
    Case("run-exists", _train(THIN)[:-len(TINY)] + ["--out", "thin"], "already holds a finished run"),
    Case("run-resume-and-force", ["train", "--out", "thin", "--resume", "--force"], "pass only one of them"),
    Case("run-nothing-to-resume", ["train", "--out", "nothing", "--resume"], "nothing to resume in nothing"),
    Case("run-config-edited", ["train", "--out", "thin", "--resume"], "was edited after the run started",
         _then(_unfinished_thin, _edit_yaml("thin/config.yaml", "train", "lr", 0.5))),
    Case("run-config-garbage", ["train", "--out", "thin", "--resume"], "was edited after the run started",
         _then(_unfinished_thin, _write("thin/config.yaml", b"\x00\x01 not yaml"))),
    Case("run-foreign-last", ["train", "--out", "thin", "--resume"], "belongs to another run", _foreign_last),
    Case("run-metrics-damaged", ["train", "--out", "thin", "--resume"], "metrics.jsonl line 1 is damaged",
         _then(_unfinished_thin, _write("thin/metrics.jsonl", "{not json\n"))),
    Case("run-identity-damaged", ["train", "--out", "thin", "--resume"], "run.json is damaged",
         _then(_unfinished_thin, _write("thin/run.json", '{"run": 1}\n'))),
    Case("run-different-config", ["train", "--config", str(CONFIGS / THIN), "--out", "thin", "--resume",
                                  "--set", "train.lr=0.3"],
         "differs from thin/config.yaml in", _unfinished_thin),
    Case("out-is-a-file", _train(THIN)[:-len(TINY)] + ["--out", "file.txt"], "is a file, not a directory",
         _write("file.txt", "x")),
    Case("out-below-a-file", _train(THIN)[:-len(TINY)] + ["--out", "file.txt/run"], "is a file, so",
         _write("file.txt", "x")),
    Case("train-loss-nan", _train(THIN, "--set", "train.lr=1e30"), "the training loss became nan at epoch 1",
         may_write=("new_run",)),
    # checkpoints
    Case("ckpt-missing", ["eval", "nowhere.pt"], "checkpoint nowhere.pt not found"),
    Case("ckpt-run-without-best", ["eval", "empty"], "holds no checkpoints/best.pt",
         _write("empty/.keep", "")),
    Case("ckpt-garbage", ["eval", "junk.pt"],
         "is not a readable condnet checkpoint (truncated or of another format)",
         _write("junk.pt", "definitely not a checkpoint")),
    Case("ckpt-bare-pickle", ["eval", "p.pt"], "a bare pickle, which condnet will not unpickle",
         _write("p.pt", pickle.dumps({"format": "condnet-checkpoint-v1"}))),
    Case("ckpt-code-payload", ["eval", "evil.pt"], "holds Python objects that condnet will not unpickle",
         _evil_checkpoint),
    Case("ckpt-truncated", ["eval", "cut.pt"], "not a readable condnet checkpoint", _truncated_checkpoint),
    Case("ckpt-foreign-torch", ["cost", "other.pt"], "no condnet-checkpoint-v1 tag",
         lambda ws: torch.save({"state_dict": {}}, ws / "other.pt")),
    Case("ckpt-other-model", ["eval", "mixed.pt"], "the tensors do not fit model 'lenet_fmnist_thin'",
         _checkpoint("mixed.pt", {"name": "lenet_fmnist_thin"}, state_of="lenet_fmnist_thick")),
    Case("ckpt-absurd-model", ["eval", "huge.pt"], "holds a config condnet cannot build",
         _checkpoint("huge.pt", {"name": "lenet_fmnist_thick", "conv": [32, 200000, 200000]})),
    Case("ckpt-unknown-model", ["eval", "unknown.pt"], "unknown model 'no_such_net'",
         _checkpoint("unknown.pt", {"name": "no_such_net"})),
    # outputs
    Case("cutout-over-its-input",
         ["cutout", "hnn", "--classes", "Bag", "--out", "hnn/checkpoints/best.pt", "--force"],
         "is a file this command reads"),
    Case("cutout-exists", ["cutout", "hnn", "--classes", "Bag", "--out", "foot.pt"],
         "foot.pt already exists"),
    Case("cutout-out-directory", ["cutout", "hnn", "--classes", "Bag", "--out", "thin"], "is a directory"),
    Case("cutout-unknown-class", ["cutout", "hnn", "--classes", "Hat", "--out", "hat.pt"],
         "unknown class or group 'Hat'"),
    Case("cutout-of-cigt", ["cutout", "cigt", "--classes", "Bag", "--out", "bag.pt"], "not an HNN"),
    Case("cutout-disk-full", ["cutout", "hnn", "--classes", "footwear", "--out", "out.pt"],
         "cannot read or write", file_size_limit=100_000),
    Case("hierarchy-out-exists", ["hierarchy", "thin", "--out", "tree.yaml"], "tree.yaml already exists",
         _write("tree.yaml", "x")),
    Case("hierarchy-over-config", ["hierarchy", "thin", "--out", "thin/config.yaml", "--force"],
         "is a file this command reads"),
    Case("attend-plot-suffix", ["attend", "hnn", "--protocol", "group-cue", "--plot", "curve.xyz"],
         "unsupported image type 'xyz'"),
    Case("attend-plot-exists", ["attend", "hnn", "--protocol", "group-cue", "--plot", "curve.png"],
         "curve.png already exists", _write("curve.png", "x")),
    Case("attend-limit-zero", ["attend", "hnn", "--protocol", "group-cue", "--limit", "0"],
         "--limit must be at least 1"),
    Case("attend-limit-negative", ["attend", "hnn", "--protocol", "group-cue", "--limit", "-3"],
         "--limit must be at least 1"),
    Case("attend-gain-nan", ["attend", "hnn", "--protocol", "group-cue", "--gains", "1,nan"],
         "finite and >= 0"),
    Case("attend-gain-word", ["attend", "hnn", "--protocol", "group-cue", "--gains", "1,big"],
         "--gains must be comma-separated numbers"),
    Case("attend-reliability", ["attend", "hnn", "--protocol", "noisy-cue", "--reliability", "2"],
         "reliability must be in [0, 1]"),
    Case("attend-on-cigt", ["attend", "cigt", "--protocol", "group-cue"], "not an HNN"),
    Case("routes-on-hnn", ["routes", "hnn"], "does not route"),
    Case("routes-plot-no-suffix", ["routes", "cigt", "--plot", "heatmap"],
         "unsupported image type '(no suffix)'"),
    Case("report-exists", ["report", "thin", "--out", "rep"], "report.md already exists",
         _write("rep/report.md", "x")),
    Case("report-same-names", ["report", "thin", "copy/thin", "--out", "rep"], "two runs are named 'thin'",
         lambda ws: shutil.copytree(ws / "thin", ws / "copy" / "thin")),
    Case("report-out-is-file", ["report", "thin", "--out", "file.txt"], "is a file, not a directory",
         _write("file.txt", "x")),
    Case("demo-epochs-zero", ["demo", "--epochs", "0", "--out", "demo"], "--epochs must be at least 1"),
    Case("demo-limit-negative", ["demo", "--limit-train", "-1", "--out", "demo"],
         "--limit-train must be at least 1"),
    Case("demo-fresh-existing", ["demo", "--fresh", "--out", "demo", "--epochs", "1", "--limit-train", "48",
                                 "--limit-test", "16"], "already holds a demo and --fresh redoes every phase",
         _demo_dir),
    Case("demo-other-settings", ["demo", "--out", "demo", "--epochs", "2"],
         "it holds a demo with other settings", _demo_dir),
    Case("export-exists", ["export", "thin", "--out", "foot.pt"], "foot.pt already exists"),
    Case("export-format-suffix", ["export", "thin", "--out", "m.onnx", "--format", "pt2"],
         "ends in .onnx but --format is pt2"),
    Case("export-over-its-input", ["export", "thin", "--out", "thin/checkpoints/best.pt", "--force"],
         "is a file this command reads"),
    Case("bench-batch-zero", ["bench", "thin", "--batch", "0"], "--batch must be at least 1"),
    Case("bench-runtime", ["bench", "thin", "--runtime", "tensorrt"], "unknown runtime 'tensorrt'"),
    Case("bench-missing", ["bench", "no_such_run"], "unknown model 'no_such_run'"),
    Case("cost-input-shape", ["cost", "lenet_fmnist_thin", "--input-shape", "1,4,4"],
         "cannot run on input shape 1,4,4"),
    Case("cli-unknown-command", ["bogus"], "invalid choice: 'bogus'"),
    Case("cli-bad-choice", ["eval", "thin", "--split", "train"], "argument --split: invalid choice: 'train'"),
]


# ---- running the table ---------------------------------------------------------------------------------


def _tiny_run(config: str, out: Path) -> None:
    overrides = ["train.epochs=1", "train.threads=1", "data.batch_size=8", "data.eval_batch_size=16",
                 "data.limit_train=48", "data.limit_test=16"]
    Trainer(load_config(CONFIGS / config, overrides), out, verbose=False).fit()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """Three tiny trained runs and an expert file of the HNN."""
    from condnet.analysis.experts import load_hnn

    ws = tmp_path_factory.mktemp("workspace")
    for name, config in (("thin", THIN), ("hnn", HNN), ("cigt", CIGT)):
        _tiny_run(config, ws / name)
    loaded = load_hnn(str(ws / "hnn"))
    expert = loaded.model.cutout(["footwear"])
    save_checkpoint(ws / "foot.pt", {**loaded.config.to_dict(), "model": expert.condnet_config},
                    expert.state_dict())
    return ws


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


def _limit_file_size(limit: int | None) -> Callable[[], None] | None:
    if limit is None:
        return None

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def _run_case(case: Case, workspace: Path, base: Path) -> dict[str, Any]:
    ws = base / case.id
    shutil.copytree(workspace, ws, symlinks=True)
    keep_alive = case.setup(ws) if case.setup else None
    before = _snapshot(ws)
    env = {k: v for k, v in os.environ.items() if k != "CONDNET_DATA"}
    env.update({k: str(ws / v) if k == "CONDNET_DATA" else v for k, v in case.env.items()})
    proc = subprocess.run([sys.executable, "-m", "condnet.cli.main", *case.argv], cwd=ws, env=env,
                          capture_output=True, text=True, timeout=300, check=False,
                          preexec_fn=_limit_file_size(case.file_size_limit))
    if hasattr(keep_alive, "close"):  # a lock held while the command ran
        keep_alive.close()
    after = _snapshot(ws)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)
                     and not any(k == p or k.startswith(p + "/") for p in case.may_write))
    temp_files = sorted(k for k in after if ".tmp" in Path(k).name)
    shutil.rmtree(ws)
    return {"code": proc.returncode, "stderr": proc.stderr, "changed": changed, "temp_files": temp_files}


@pytest.fixture(scope="module")
def outcomes(workspace, tmp_path_factory, request) -> dict[str, dict[str, Any]]:
    """The outcome of every selected row (``-k`` runs only those), computed two at a time."""
    selected = {item.callspec.params["case"].id for item in request.session.items
                if getattr(item, "module", None) is request.module and hasattr(item, "callspec")
                and "case" in item.callspec.params}
    base = tmp_path_factory.mktemp("cases")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {case.id: pool.submit(_run_case, case, workspace, base)
                   for case in CASES if case.id in selected}
        return {name: future.result() for name, future in futures.items()}


def test_the_table_is_large_and_distinct():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_fails_cleanly(case, outcomes):
    result = outcomes[case.id]
    lines = result["stderr"].strip().splitlines()
    assert result["code"] == 2, result["stderr"]
    assert len(lines) == 1, result["stderr"]
    assert "Traceback" not in result["stderr"] and lines[0].startswith("condnet")
    assert case.needle in lines[0], lines[0]
    assert result["changed"] == [], f"files changed: {result['changed']}"
    assert result["temp_files"] == []
