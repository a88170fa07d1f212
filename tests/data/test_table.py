"""Feature tables: reading CSV, .npz and scikit-learn's tables, the fixed split, standardisation that round-trips,
one line for every bad file, and a conditional run whose samples come back as CSV in the table's units."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from wganlab.cli import main
from wganlab.config import load_config
from wganlab.data.table import Standardisation, TableSource, read_table, split_rows
from wganlab.errors import DataError


def write_csv(path, header, rows):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def two_blobs(path, n=60):
    """Two classes far apart in 3 features: class 'a' near (0, 0, 100), class 'b' near (10, 10, 300)."""
    rng = np.random.default_rng(0)
    rows = [[*(rng.normal(size=2) + 10 * (i % 2)), 100 + 200 * (i % 2) + rng.normal(), "ab"[i % 2]]
            for i in range(n)]
    return write_csv(path, ["f1", "f2", "f3", "kind"], rows)


def test_standardisation_round_trips_and_keeps_constant_columns_finite():
    x = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]])
    s = Standardisation.fit(x)
    z = s.apply(x)
    assert np.allclose(z.mean(axis=0), 0) and np.allclose(z[:, [0, 2]].std(axis=0), 1)
    assert s.scale[1] == 1.0 and np.all(z[:, 1] == 0)  # a constant column is centred, not divided by zero
    assert np.allclose(s.undo(z), x)


def test_csv_with_text_classes_and_the_stratified_fixed_split(tmp_path):
    table = read_table(str(two_blobs(tmp_path / "t.csv")), "kind")
    assert table.columns == ["f1", "f2", "f3"] and table.classes == ["a", "b"] and table.features.shape == (60, 3)
    train, test = split_rows(table, "train"), split_rows(table, "test")
    assert len(test.features) == 12 and len(train.features) == 48
    assert np.bincount(test.labels).tolist() == [6, 6]  # 20% of each class
    together = np.concatenate([train.features, test.features])
    assert sorted(map(tuple, together)) == sorted(map(tuple, table.features))  # disjoint and complete
    assert np.array_equal(split_rows(table, "test").features, test.features)  # the same split every time


def test_numeric_class_names_sort_numerically(tmp_path):
    rows = [[float(i), str(c)] for i, c in enumerate([10, 2, 10, 2, 1, 1])]
    assert read_table(str(write_csv(tmp_path / "t.csv", ["x", "y"], rows)), "y").classes == ["1", "2", "10"]


def test_npz_and_sklearn_tables(tmp_path):
    np.savez(tmp_path / "t.npz", x=np.arange(12.0).reshape(6, 2), y=np.array([0, 1, 0, 1, 0, 1]))
    table = read_table(str(tmp_path / "t.npz"))
    assert table.columns == ["x0", "x1"] and table.classes == ["0", "1"]
    pytest.importorskip("sklearn")
    shapes = {name: read_table(f"sklearn:{name}").features.shape for name in ("digits", "wine", "breast_cancer")}
    assert shapes == {"digits": (1797, 64), "wine": (178, 13), "breast_cancer": (569, 30)}


def test_the_source_trains_on_standardised_training_rows(tmp_path):
    source = TableSource(str(two_blobs(tmp_path / "t.csv")), "kind", "train", 0, torch.device("cpu"))
    assert source.shape == (3,) and source.num_classes == 2 and len(source.rows) == 48
    assert torch.allclose(source.rows.mean(0), torch.zeros(3), atol=1e-5)
    x, y = source.sample_with_labels(5)
    assert x.shape == (5, 3) and y.shape == (5,)
    limited = TableSource(str(tmp_path / "t.csv"), "kind", "train", 10, torch.device("cpu"))
    assert len(limited.rows) == 10


BAD = [
    ("missing.csv", None, None, "no such file"),
    ("t.txt", ["a"], [["1"]], "a .csv or .npz file"),
    ("t.csv", ["a", "b"], [], "has a header and no rows"),
    ("t.csv", ["a", "b"], [["1", "2"]], "has no column 'kind'"),
    ("t.csv", ["a", "kind"], [["1", "x"], ["abc", "y"]], "row 3, column 'a': 'abc' is not a number"),
    ("t.csv", ["a", "kind"], [["1", "x"], ["", "y"]], "row 3, column 'a' is empty"),
    ("t.csv", ["a", "kind"], [["nan", "x"], ["2", "y"]], "row 2, column 'a' is nan"),
    ("t.csv", ["a", "kind"], [["1", "x"], ["2"]], "row 3 has 1 values but the header has 2 columns"),
    ("t.csv", ["a", "kind"], [["1", "x"], ["2", "x"]], "has one class ('x')"),
]


@pytest.mark.parametrize(("name", "header", "rows", "fragment"), BAD)
def test_every_bad_table_is_one_line_with_exit_code_2(tmp_path, capsys, name, header, rows, fragment):
    path = tmp_path / name
    if header is not None:
        write_csv(path, header, rows)
    code = main(["train", "wgan-gp", f"data=table:{path}", "data.label=kind", "steps=1", "--run-dir",
                 str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and fragment in err[0], err


def test_bad_npz_tables(tmp_path):
    np.savez(tmp_path / "a.npz", features=np.zeros((3, 2)))
    with pytest.raises(DataError, match="has no array 'x'"):
        read_table(str(tmp_path / "a.npz"))
    np.savez(tmp_path / "b.npz", x=np.array([[1.0, np.inf], [0.0, 1.0]]))
    with pytest.raises(DataError, match=r"x\[0, 1\] is inf"):
        read_table(str(tmp_path / "b.npz"))


def test_config_refuses_a_table_without_its_file_and_a_label_on_images():
    from wganlab.errors import ConfigError

    with pytest.raises(ConfigError, match="data=table needs its file"):
        load_config("wgan-gp", ["data=table"])
    with pytest.raises(ConfigError, match="not a table"):
        load_config("wgan-gp", ["data=mnist", "data.label=y"])


def train_blobs_run(tmp_path, eval_every: int):
    """A conditional WGAN-GP trained 300 steps on :func:`two_blobs` (200 rows), labels as critic inputs."""
    path = two_blobs(tmp_path / "t.csv", n=200)
    run = tmp_path / "run"
    assert main(["train", "wgan-gp", f"data=table:{path}", "data.label=kind", "conditioning.mode=channels",
                 "steps=300", "log_every=50", f"eval_every={eval_every}", "model.width=64", "threads=1",
                 "--run-dir", str(run), "--quiet"]) == 0
    return run


def test_a_conditional_table_run_samples_csv_in_the_tables_units(tmp_path, capsys):
    run = train_blobs_run(tmp_path, eval_every=100)
    out = tmp_path / "s.csv"
    assert main(["sample", str(run), "--n", "400", "--out", str(out)]) == 0
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["f1", "f2", "f3", "kind"] and len(rows) == 401
    values = np.array([[float(v) for v in row[:3]] for row in rows[1:]])
    kinds = np.array([row[3] for row in rows[1:]])
    assert set(kinds) == {"a", "b"}
    # back in the table's units, and each class where its real rows are (f3 about 100 for a, 300 for b)
    assert abs(np.median(values[kinds == "a", 2]) - 100) < 40 and abs(np.median(values[kinds == "b", 2]) - 300) < 40
    assert main(["sample", str(run), "--n", "4", "--class", "1", "--out", str(tmp_path / "b.csv")]) == 0
    assert {row[3] for row in csv.reader((tmp_path / "b.csv").open())} == {"kind", "b"}
    assert main(["eval", str(run)]) == 0
    assert "w1" in capsys.readouterr().out
