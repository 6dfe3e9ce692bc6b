"""The gradgate command: train, evaluate and predict, and one-line errors for bad input."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gradgate.backend import cuda_unavailable_reason
from gradgate.cli import COMMANDS, build_parser, main
from gradgate.training import read_checkpoint

SRC = str(Path(__file__).resolve().parents[2] / "src")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("iris")
    status = main(
        [
            "train",
            "--data",
            "iris",
            "--hidden",
            "8",
            "--optimizer",
            "adam",
            "--lr",
            "0.05",
            "--epochs",
            "40",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert status == 0
    return out


def write_csv(path: Path, rows: list[list[object]]) -> Path:
    with open(path, "w", newline="") as stream:
        csv.writer(stream).writerows(rows)
    return path


def test_train_writes_the_checkpoint_metrics_and_a_summary(iris_run, capsys):
    assert (iris_run / "checkpoint.ckpt").is_file()
    rows = (iris_run / "metrics.csv").read_text().splitlines()
    assert len(rows) == 41
    status, out, err = run(capsys, "evaluate", str(iris_run))
    assert status == 0 and err == ""
    assert "iris (the run's test split):" in out
    accuracy = float(out.split("accuracy")[1].split("%")[0])
    assert accuracy >= 85.0
    assert "confusion matrix" in out


def test_train_prints_progress_and_the_summary(tmp_path, capsys):
    status, out, err = run(
        capsys,
        "train",
        "--data",
        "moons",
        "--hidden",
        "8,8",
        "--activation",
        "tanh",
        "--loss",
        "cross_entropy",
        "--epochs",
        "2",
        "--batch-size",
        "32",
        "--seed",
        "1",
        "--out",
        str(tmp_path),
    )
    assert status == 0, err
    lines = out.splitlines()
    # moons' own recipe: adam at 0.02, with the loss given
    assert lines[1].startswith("network 2 → 8 → 8 → 2 (tanh), loss cross_entropy, adam lr 0.02")
    assert sum(line.startswith("epoch ") for line in lines) == 2
    for expected in (
        "train  loss",
        "test   loss",
        "confusion matrix",
        "examples/s",
        f"wrote {tmp_path / 'checkpoint.ckpt'}",
    ):
        assert expected in out


def test_predict_writes_csv_with_labels_when_the_data_has_them(iris_run, tmp_path, capsys):
    status, out, err = run(capsys, "predict", str(iris_run / "checkpoint.ckpt"), "--data", "iris")
    assert status == 0, err
    rows = list(csv.reader(out.splitlines()))
    assert rows[0] == [
        "index",
        "prediction",
        "label",
        "score_setosa",
        "score_versicolor",
        "score_virginica",
    ]  # the built-in iris names its classes
    assert len(rows) == 151
    assert np.mean([r[1] == r[2] for r in rows[1:]]) > 0.85
    target = tmp_path / "preds.csv"
    status, out, err = run(
        capsys, "predict", str(iris_run), "--data", "iris", "--output", str(target)
    )
    assert status == 0 and out == "" and "wrote 150 predictions" in err
    assert target.read_text().splitlines() == [",".join(r) for r in rows]


def test_predict_reads_features_only_files(iris_run, tmp_path, capsys):
    from gradgate.data import iris

    x, y = iris()
    features = write_csv(tmp_path / "new.csv", [["a", "b", "c", "d"], *x[:5].tolist()])
    status, out, err = run(capsys, "predict", str(iris_run), "--data", str(features))
    assert status == 0, err
    rows = list(csv.reader(out.splitlines()))
    assert rows[0][:3] == ["index", "prediction", "score_setosa"] and len(rows) == 6
    np.savez(tmp_path / "new.npz", x=x[:7])
    status, out, err = run(capsys, "predict", str(iris_run), "--data", str(tmp_path / "new.npz"))
    assert status == 0, err
    assert len(out.splitlines()) == 8


def test_class_names_of_a_csv_appear_in_predictions(tmp_path, capsys):
    rng = np.random.default_rng(0)
    rows = [["x1", "x2", "kind"]]
    for _ in range(60):
        a = rng.standard_normal(2)
        rows.append([*a.round(3).tolist(), "left" if a[0] < 0 else "right"])
    data = write_csv(tmp_path / "sides.csv", rows)
    out_dir = tmp_path / "run"
    assert (
        run(
            capsys,
            "train",
            "--data",
            str(data),
            "--target",
            "kind",
            "--hidden",
            "4",
            "--epochs",
            "30",
            "--out",
            str(out_dir),
            "--quiet",
        )[0]
        == 0
    )
    status, out, err = run(capsys, "predict", str(out_dir), "--data", str(data))
    assert status == 0, err
    header, first = out.splitlines()[:2]
    assert header == "index,prediction,label,score_left,score_right"
    assert first.split(",")[1] in ("left", "right")


def test_resume_from_the_command_line_equals_a_straight_run(tmp_path, capsys):
    straight, parts = tmp_path / "straight", tmp_path / "parts"
    options = ["--data", "iris", "--hidden", "6", "--seed", "2", "--quiet"]
    assert main(["train", *options, "--epochs", "4", "--out", str(straight)]) == 0
    assert main(["train", *options, "--epochs", "2", "--out", str(parts)]) == 0
    status, out, err = run(capsys, "train", "--resume", str(parts), "--epochs", "4", "--quiet")
    assert status == 0, err

    def without_seconds(run_dir):  # the last column is the epoch's wall time
        rows = (run_dir / "metrics.csv").read_text().splitlines()
        return [row.rsplit(",", 1)[0] for row in rows]

    assert len(without_seconds(parts)) == 5
    assert without_seconds(parts) == without_seconds(straight)


@pytest.fixture
def bad_files(tmp_path):
    write_csv(tmp_path / "words.csv", [["a", "b", "label"], [1, 2, 0], [3, "x", 1]])
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint at all")
    return tmp_path


BAD_INPUT = [
    (["train", "--data", "{dir}/missing.csv"], "CSV file not found"),
    (["train", "--data", "mnist"], "unknown dataset 'mnist'"),
    (["train", "--data", "{dir}/words.csv"], "line 3, column 'b'"),
    (["train", "--data", "{dir}/empty.csv"], "file is empty"),
    (["train", "--hidden", "0"], "hidden layer sizes must be positive integers, got 0"),
    (["train", "--hidden", "64,abc"], "argument --hidden"),
    (["train", "--lr", "0"], "lr must be a positive number"),
    (["train", "--lr", "-0.1"], "lr must be a positive number"),
    (["train", "--lr", "fast"], "argument --lr: invalid float value"),
    (["train", "--epochs", "0"], "epochs must be a positive integer"),
    (["train", "--batch-size", "-4"], "batch size must be a positive integer"),
    (["train", "--momentum", "1.5"], "momentum must lie in [0, 1)"),
    (["train", "--loss", "hinge"], "argument --loss: invalid choice"),
    (["train", "--device", "tpu"], "unknown device 'tpu'"),
    (["train", "--resume", "{dir}/nowhere.ckpt"], "checkpoint not found"),
    (["train", "--resume", "{dir}/junk.ckpt"], "not a gradgate checkpoint"),
    (["evaluate", "{dir}/junk.ckpt"], "not a gradgate checkpoint"),
    (["predict", "{dir}/nowhere.ckpt", "--data", "iris"], "checkpoint not found"),
    (["predict", "{dir}/junk.ckpt"], "the following arguments are required: --data"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
]


@pytest.mark.parametrize("argv, message", BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_exits_2_with_one_line(bad_files, capsys, argv, message):
    argv = [a.replace("{dir}", str(bad_files)) for a in argv]
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("gradgate"), err
    assert message in err
    assert "Traceback" not in err


def test_a_model_given_data_of_another_shape_is_refused(iris_run, capsys):
    status, _, err = run(capsys, "evaluate", str(iris_run), "--data", "digits")
    assert status == 2 and err.count("\n") == 1
    assert "digits: has 64 features per example, the model takes 4" in err


def test_resume_refuses_changed_settings(iris_run, capsys):
    status, _, err = run(capsys, "train", "--resume", str(iris_run), "--lr", "0.5")
    assert status == 2 and err.count("\n") == 1
    assert "lr=0.5 (the checkpoint has 0.05)" in err


def test_help_and_version_exit_0_and_no_command_exits_2(capsys):
    assert run(capsys, "--version")[0] == 0
    status, out, _ = run(capsys, "train", "--help")
    assert status == 0 and "--batch-size" in out and "--resume" in out
    status, _, err = run(capsys)
    assert status == 2 and "train" in err


def test_each_subcommand_is_one_module_with_add_command_and_run():
    assert [m.__name__ for m in COMMANDS] == [
        f"gradgate.cli.{name}"
        for name in ("train", "evaluate", "predict", "graph", "check_gate", "explore")
    ]
    for module in COMMANDS:
        assert callable(module.add_command) and callable(module.run)
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    assert list(subparsers.choices) == [
        "train",
        "evaluate",
        "predict",
        "graph",
        "check-gate",
        "explore",
    ]


def test_the_module_entry_point_reports_errors_without_a_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-m", "gradgate", "train", "--lr", "0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == "gradgate train: error: lr must be a positive number, got 0.0\n"


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(tmp_path):
    env = {**os.environ, "PYTHONPATH": SRC}
    process = subprocess.Popen(
        [sys.executable, "-m", "gradgate", "train", "--epochs", "2000", "--out", "run", "--quiet"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    checkpoint = tmp_path / "run" / "checkpoint.ckpt"
    deadline = time.monotonic() + 60
    while not checkpoint.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("gradgate train: training interrupted at epoch ")
    resume = os.path.join("run", "checkpoint.ckpt")
    assert err.endswith(f"resume with: gradgate train --resume {resume}\n")
    position = read_checkpoint(checkpoint)["position"]
    assert 1 <= position["epoch"] < 2000


@pytest.mark.skipif(cuda_unavailable_reason() is None, reason="a GPU is usable here")
def test_cuda_without_a_gpu_exits_2_saying_why(capsys):
    status, _, err = run(capsys, "train", "--device", "cuda")
    assert status == 2 and err.count("\n") == 1
    assert "device 'cuda' is not available: " + cuda_unavailable_reason() in err


def test_the_command_offers_exactly_the_choices_of_the_one_table(tmp_path, capsys):
    from gradgate.nn import ACTIVATIONS
    from gradgate.training import LOSSES, OPTIMIZERS

    train = next(a for a in build_parser()._actions if a.dest == "command").choices["train"]
    choices = {a.dest: list(a.choices) for a in train._actions if a.choices}
    assert choices == {
        "activation": list(ACTIVATIONS),
        "loss": list(LOSSES),
        "optimizer": list(OPTIMIZERS),
    }
    # TrainConfig accepted "identity" while the command refused it
    status, out, err = run(
        capsys,
        "train",
        "--data",
        "xor",
        "--activation",
        "identity",
        "--epochs",
        "1",
        "--out",
        str(tmp_path),
        "--quiet",
    )
    assert status == 0, err


# --- labels are read as the model's classes ----------------------------------------------------


def iris_csv(path: Path, rows: slice = slice(None)) -> Path:
    """The built-in iris as a CSV file with species names, optionally only some rows."""
    from gradgate.data import iris

    x, y = iris()
    species = ["setosa", "versicolor", "virginica"]
    lines = [["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]]
    lines += [[*map(float, features), species[k]] for features, k in zip(x, y, strict=True)][rows]
    return write_csv(path, lines)


def accuracy_of(out: str) -> float:
    return float(out.split("accuracy")[1].split("%")[0])


@pytest.fixture(scope="module")
def named_iris_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("named")
    data = iris_csv(tmp / "iris.csv")
    assert (
        main(
            [
                "train",
                "--data",
                str(data),
                "--hidden",
                "8",
                "--optimizer",
                "adam",
                "--lr",
                "0.05",
                "--epochs",
                "40",
                "--out",
                str(tmp / "run"),
                "--quiet",
            ]
        )
        == 0
    )
    return tmp


def test_a_file_holding_some_classes_is_scored_by_the_models_names(named_iris_run, capsys):
    # rows 50-149: versicolor and virginica only; sorted in this file they would be 0 and 1
    part = iris_csv(named_iris_run / "part.csv", slice(50, 150))
    run_dir = str(named_iris_run / "run")
    status, out, err = run(capsys, "evaluate", run_dir, "--data", str(part))
    assert status == 0, err
    evaluated = accuracy_of(out)
    status, out, err = run(capsys, "predict", run_dir, "--data", str(part))
    rows = list(csv.reader(out.splitlines()))[1:]
    assert {r[2] for r in rows} == {"versicolor", "virginica"}  # the true names, as labelled
    predicted = 100 * np.mean([r[1] == r[2] for r in rows])
    assert evaluated == pytest.approx(predicted, abs=0.01) and evaluated > 85  # was 33.33


def test_the_built_in_iris_model_knows_the_species_of_a_csv_file(iris_run, tmp_path, capsys):
    status, out, err = run(
        capsys, "evaluate", str(iris_run), "--data", str(iris_csv(tmp_path / "iris.csv"))
    )
    assert status == 0, err
    assert accuracy_of(out) > 85  # was 0.00: the file's names were numbered by the file
    assert "setosa | " in out  # the confusion matrix names the species


def test_a_label_the_model_does_not_know_names_it_the_file_and_the_line(named_iris_run, capsys):
    odd = iris_csv(named_iris_run / "odd.csv", slice(0, 3))
    odd.write_text(odd.read_text() + "5.0,3.4,1.5,0.2,tulip\n")
    for command in ("evaluate", "predict"):
        status, _, err = run(capsys, command, str(named_iris_run / "run"), "--data", str(odd))
        assert status == 2 and err.count("\n") == 1
        assert (
            f"{odd}, line 5, column 'species': class label 'tulip' is not one the model "
            "knows (setosa, versicolor, virginica)"
        ) in err


@pytest.mark.parametrize(
    "label, why",
    [
        ("-1", "class label '-1' is negative"),
        ("3000000000", "class label '3000000000' is past 999, the largest class number"),
        ("1.5", "class label '1.5' is not a whole number"),
    ],
)
def test_labels_that_are_not_class_numbers_stop_before_training(tmp_path, capsys, label, why):
    rows = [["a", "b", "y"]] + [[i, i % 3, 1 if i % 2 else label] for i in range(40)]
    data = write_csv(tmp_path / "signs.csv", rows)
    status, out, err = run(capsys, "train", "--data", str(data), "--out", str(tmp_path / "r"))
    assert status == 2 and err.count("\n") == 1 and why in err
    assert f"{data}, line 2, column 'y'" in err
    assert "epoch" not in out and not (tmp_path / "r").exists()


def test_npz_labels_that_are_not_class_numbers_stop_before_training(tmp_path, capsys):
    x = np.random.default_rng(0).standard_normal((30, 2))
    np.savez(tmp_path / "signs.npz", x=x, y=np.where(x[:, 0] > 0, 1, -1))
    status, out, err = run(capsys, "train", "--data", str(tmp_path / "signs.npz"), "--quiet")
    first = int(np.argmax(x[:, 0] <= 0))
    assert status == 2 and f"y[{first}] = -1 is negative" in err and "epoch" not in out


# --- the messages of predict and graph -----------------------------------------------------------


def test_predict_names_the_line_and_column_of_a_text_cell(iris_run, tmp_path, capsys):
    data = write_csv(tmp_path / "new.csv", [["a", "b", "c", "d"], [1, 2, 3, 4], [1, 2, 3, "x"]])
    status, _, err = run(capsys, "predict", str(iris_run), "--data", str(data))
    assert status == 2
    assert err == (
        f"gradgate predict: error: {data}, line 3, column 'd': could not convert 'x' to a number\n"
    )


def test_predict_decides_labels_by_the_header_never_by_counting(iris_run, tmp_path, capsys):
    # three feature columns and no label column: the model takes four features
    three = write_csv(tmp_path / "three.csv", [["a", "b", "c"], [1, 2, 3]])
    status, _, err = run(capsys, "predict", str(iris_run), "--data", str(three))
    assert status == 2 and "has 3 features per example, the model takes 4" in err
    # a feature missing beside the label column the model was trained on (species)
    lacking = write_csv(tmp_path / "lacking.csv", [["a", "b", "c", "species"], [1, 2, 3, "setosa"]])
    status, _, err = run(capsys, "predict", str(iris_run), "--data", str(lacking))
    assert status == 2 and "has 3 features per example, the model takes 4" in err


def test_graph_of_a_missing_checkpoint_says_so_in_one_line(tmp_path, capsys):
    status, _, err = run(
        capsys, "graph", str(tmp_path / "nosuch.ckpt"), "-o", str(tmp_path / "g.svg")
    )
    assert status == 2
    assert err == f"gradgate graph: error: file not found: {tmp_path / 'nosuch.ckpt'}\n"


def test_nan_features_are_refused_when_read_not_reported_as_divergence(tmp_path, capsys):
    rows = [["a", "b", "y"]] + [[i, "nan" if i == 7 else i % 5, i % 2] for i in range(40)]
    data = write_csv(tmp_path / "holes.csv", rows)
    status, out, err = run(capsys, "train", "--data", str(data), "--quiet")
    assert status == 2 and "diverged" not in err
    assert f"{data}, line 9, column 'b': nan is not a finite float32 number" in err


# --- a checkpoint is untrusted input --------------------------------------------------------------


def crafted_checkpoint(tmp_path: Path, **config) -> Path:
    """A real iris run's checkpoint, with its config changed as an attacker would."""
    from gradgate import io

    run_dir = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--data",
                "iris",
                "--hidden",
                "8",
                "--epochs",
                "1",
                "--out",
                str(run_dir),
                "--quiet",
            ]
        )
        == 0
    )
    path = run_dir / "checkpoint.ckpt"
    saved = io.load(path)
    saved["config"].update(config)
    io.save(saved, path)
    return path


def test_a_resumed_run_writes_beside_its_checkpoint_not_where_the_file_says(tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"  # an absolute path, chosen by whoever made the file
    path = crafted_checkpoint(tmp_path, out=str(elsewhere))
    status, _, err = run(capsys, "train", "--resume", str(path), "--epochs", "2", "--quiet")
    assert status == 0, err
    assert not elsewhere.exists()
    assert read_checkpoint(path)["position"]["epoch"] == 2
    from gradgate.training import fit

    fit(None, resume=path, progress="none")  # from Python too
    assert not elsewhere.exists()
    given = tmp_path / "given"  # where the command line says, when it says
    assert (
        main(["train", "--resume", str(path), "--epochs", "3", "--out", str(given), "--quiet"]) == 0
    )
    assert (given / "checkpoint.ckpt").is_file() and not elsewhere.exists()


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_hidden_sizes_are_checked_against_the_stored_weights_before_building(
    tmp_path, capsys, command
):
    path = crafted_checkpoint(tmp_path, hidden=[10**12])  # 16 TB of weights if built
    argv = (
        ["evaluate", str(path)]
        if command == "evaluate"
        else ["train", "--resume", str(path), "--quiet"]
    )
    status, _, err = run(capsys, *argv)
    assert status == 2 and err.count("\n") == 1
    assert "do not make the network its config describes (4 → 1000000000000 → 3)" in err


def test_train_captures_by_default_and_gives_the_eager_numbers(capsys, tmp_path, monkeypatch):
    from gradgate.training import loop

    eager, captured = tmp_path / "eager", tmp_path / "captured"
    options = ["--epochs", "2", "--hidden", "16", "--quiet"]
    calls = []
    real = loop.fit
    monkeypatch.setattr(
        "gradgate.cli.train.fit", lambda *a, **k: calls.append(k["capture"]) or real(*a, **k)
    )
    assert run(capsys, "train", *options, "--no-capture", "--out", str(eager))[0] == 0
    assert run(capsys, "train", *options, "--out", str(captured))[0] == 0
    assert calls == [False, True]

    def rows(path):
        lines = (path / "metrics.csv").read_text().splitlines()
        return [line.rsplit(",", 1)[0] for line in lines]  # all but the seconds

    assert rows(eager) == rows(captured)
