"""Tables as CSV: capture in the kernel, collection from executed notebooks, comparison, accept."""

from __future__ import annotations

import io
import math

import nbformat
import pandas as pd
import pytest

from faceflow.book import capture, tables


def _shell():
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    capture.load_ipython_extension(ip)
    return ip


def test_capture_keeps_the_full_data_of_displayed_frames_and_stylers():
    ip = _shell()
    ip.user_ns.update(profile="smoke", seed=7)
    df = pd.DataFrame({"epe": [1.23456789, 2.0]}, index=pd.Index(["a", "b"], name="method"))
    for obj in (df, df.style.format("{:.1f}")):
        data, md = ip.display_formatter.format(obj)
        assert "<table" in data["text/html"]
        payload = md["text/html"][capture.KEY]
        assert payload["profile"] == "smoke" and payload["seed"] == "7"
        back = pd.read_csv(io.StringIO(payload["csv"]), index_col=0)
        assert back.loc["a", "epe"] == pytest.approx(1.23456789, abs=0)  # not the 1-decimal display


def _output(frame, glue: str | None = None, profile="smoke", seed="0"):
    meta = {"text/html": {capture.KEY: capture.table_payload(frame, {"profile": profile, "seed": seed})}}
    if glue:
        meta["scrapbook"] = {"name": glue, "mime_prefix": "application/papermill.record/"}
    return nbformat.v4.new_output("display_data", data={"text/html": "<table></table>"}, metadata=meta)


def _notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    for kind, content in cells:
        if kind == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(content))
        else:
            cell = nbformat.v4.new_code_cell("x")
            cell.outputs = content
            nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def _frame(value=1.0):
    cols = pd.MultiIndex.from_tuples([("faces", "EPE"), ("faces", "AAE")])
    rows = [[f"{value:.4f}", "0.5000"], ["2.0000", "n/a"]]
    return pd.DataFrame(rows, index=pd.Index(["Exp1", "zero"], name="exp"), columns=cols)


def test_tables_are_named_by_heading_or_glue_and_round_trip(tmp_path):
    nb = _notebook(
        tmp_path / "03_demo.ipynb",
        [
            ("md", "# Demo\n\n## Table 2: ablations"),
            ("code", [_output(_frame()), _output(_frame(3.0))]),
            ("md", "## Runtime"),
            ("code", [_output(_frame(), glue="t_runtime")]),
        ],
    )
    found = tables.collect(nb)
    assert [t.key for t in found] == ["03_demo/table-2-ablations", "03_demo/table-2-ablations-2", "03_demo/t-runtime"]
    path = tables.write_table(found[0], tmp_path / "out", "abc1234")
    meta, frame = tables.read_table(path)
    assert meta["profile"] == "smoke" and meta["seed"] == "0" and meta["commit"] == "abc1234"
    assert list(frame.columns) == ["faces / EPE", "faces / AAE"]
    assert frame.loc["Exp1", "faces / EPE"] == "1.0000" and frame.loc["zero", "faces / AAE"] == "n/a"


def _rules(tmp_path, extra=""):
    path = tmp_path / "tol.csv"
    path.write_text("table,column,rtol,atol,ulp,why\n" + extra + "*,*,0,1e-4,0,default\n")
    return tables.read_tolerances(path)


def test_cells_match_within_tolerance_number_by_number(tmp_path):
    rule = _rules(tmp_path)[0]
    assert tables.cells_match("1.0000", "1.00005", rule)
    assert not tables.cells_match("1.0000", "1.0002", rule)
    assert tables.cells_match("1.20 (+5.00%)", "1.20 (+5.00%)", rule)
    assert not tables.cells_match("1.20 (+5.00%)", "1.20 (-5.00%)", rule)
    assert not tables.cells_match("n/a", "not available", rule)
    assert not tables.cells_match("1.0", "", rule)
    ignore = tables.Tolerance("*", "*", math.inf, math.inf)
    assert tables.cells_match("0.0123", "9.87", ignore)


def test_last_digit_tolerance_scales_with_the_decimals_shown():
    rule = tables.Tolerance("*", "*", 0.0, 0.0, ulp=1)
    assert tables.cells_match("3.9120", "3.9121", rule) and not tables.cells_match("3.9120", "3.9122", rule)
    assert tables.cells_match("0.132", "0.131", rule) and not tables.cells_match("0.132", "0.130", rule)
    assert not tables.cells_match("6", "7", rule), "a count is exact"
    assert tables.cells_match("2.50e-05", "2.51e-05", rule) and not tables.cells_match("2.50e-05", "2.52e-05", rule)


def test_compare_reports_table_row_column_old_new(tmp_path):
    rules_path = tmp_path / "tol.csv"
    rules_path.write_text("table,column,rtol,atol,ulp,why\n*,*s/pair*,inf,inf,0,timing\n*,*,0,1e-4,0,default\n")
    ref, cur = tmp_path / "ref", tmp_path / "cur"
    old = tables.Table("03_demo", "table-2", tables._flatten(_frame(1.0)), 1, "smoke", "0")
    tables.write_table(old, ref, "a")
    tables.write_table(old, cur, "b")  # another commit, same numbers
    assert tables.compare(ref, cur, rules_path) == []
    new_frame = tables._flatten(_frame(1.5))
    new_frame["time s/pair"] = ["0.1", "0.2"]
    new_frame = new_frame.drop(index="zero")
    tables.write_table(tables.Table("03_demo", "table-2", new_frame, 1, "smoke", "0"), cur, "b")
    diffs = tables.compare(ref, cur, rules_path)
    lines = [d.line() for d in diffs]
    assert "03_demo/table-2 | row Exp1 | column faces / EPE | old 1.0000 | new 1.5000" in lines
    assert "03_demo/table-2 | row zero | column * | old (row) | new (absent)" in lines
    assert "03_demo/table-2 | row * | column time s/pair | old (absent) | new (column)" in lines
    assert len(diffs) == 3


def test_missing_and_new_tables_are_differences_and_accept_replaces_references(tmp_path):
    rules_path = tmp_path / "tol.csv"
    rules_path.write_text("table,column,rtol,atol,ulp,why\n*,*,0,0,0,exact\n")
    ref, cur = tmp_path / "ref", tmp_path / "cur"
    t = tables.Table("00_x", "a", tables._flatten(_frame()), 1, "smoke", "0")
    tables.write_table(t, ref, "a")
    tables.write_table(tables.Table("00_x", "b", t.frame, 1, "smoke", "0"), cur, "b")
    tables.write_table(tables.Table("09_gone", "c", t.frame, 1, "smoke", "0"), ref, "a")
    lines = [d.line() for d in tables.compare(ref, cur, rules_path)]
    assert "00_x/a | row * | column * | old (table) | new (absent)" in lines
    assert "00_x/b | row * | column * | old (absent) | new (table)" in lines
    assert tables.compare(ref, cur, rules_path, chapters=["09_gone"])[0].line().startswith("09_gone/c")
    tables.accept(cur, ref)
    assert sorted(p.relative_to(ref).as_posix() for p in ref.rglob("*.csv")) == ["00_x/b.csv"]
    assert tables.compare(ref, cur, rules_path) == []


def test_tolerance_file_needs_a_default_rule(tmp_path):
    path = tmp_path / "tol.csv"
    path.write_text("table,column,rtol,atol,ulp,why\n04_*,*,0.1,0,0,x\n")
    with pytest.raises(ValueError, match="default rule"):
        tables.read_tolerances(path)
    path.write_text("table,column,rtol,atol,ulp,why\n*,*,abc,0,0,x\n")
    with pytest.raises(ValueError, match="tol.csv:2: bad tolerance row"):
        tables.read_tolerances(path)


def test_project_tolerances_are_valid(repo_root):
    rules = tables.read_tolerances(repo_root / tables.TOLERANCES)
    assert rules[-1].table == "*" and rules[-1].column == "*"


_VARIANTS = "03_ablations/the-paper-s-text-and-the-authors-code-3"

#: Cells that differed between the references (one x86-64 machine) and a smoke build on another
#: (issue 23): platform noise that the check must accept, (table, column, old, new).
CROSS_CPU_NOISE = [
    ("01_ground_truth/what-the-ground-truth-costs", "frames kB/pair", "280.7926", "281.3359"),
    ("01_ground_truth/what-the-ground-truth-costs", "flow kB/pair", "494.2163", "495.0221"),
    ("01_ground_truth/what-the-ground-truth-costs-2", "disk (GB)", "258.5", "259.0"),
    ("02_flownets/does-the-claim-hold-here-2", "EPE margin", "0.10346964936205072", "0.10346963951190047"),
    (_VARIANTS, "faces test EPE", "0.7166687021458219", "0.7166687025821252"),
    (_VARIANTS, "held-out source EPE", "67.98783360137948", "67.98783308125844"),
    (_VARIANTS, "faces test EPE", "0.40164731418290983", "0.40164731418291005"),
]

#: Real changes the check must still catch, (table, column, old, new).
REAL_CHANGES = [
    ("01_ground_truth/what-the-ground-truth-costs", "frames kB/pair", "280.7926", "290.1000"),  # +3 %
    ("01_ground_truth/how-wrong-is-the-ground-truth-itself", "face / epe", "0.6966", "0.6990"),  # not noise
    ("03_ablations/table-2", "faces test / EPE / ours", "0.7167", "0.7180"),  # a trained number off by 0.2 %
    ("02_flownets/does-the-claim-hold-here-2", "EPE margin", "0.10346964936205072", "0.1035"),
    ("05_micro_expressions/the-published-weights", "ours (published weights)", "0.7398", "0.7421"),
]


@pytest.mark.parametrize(("table", "column", "old", "new"), CROSS_CPU_NOISE)
def test_project_tolerances_accept_the_noise_of_another_cpu(repo_root, table, column, old, new):
    rules = tables.read_tolerances(repo_root / tables.TOLERANCES)
    assert tables.cells_match(old, new, tables.tolerance_for(rules, table, column))


@pytest.mark.parametrize(("table", "column", "old", "new"), REAL_CHANGES)
def test_project_tolerances_still_catch_real_changes(repo_root, table, column, old, new):
    rules = tables.read_tolerances(repo_root / tables.TOLERANCES)
    assert not tables.cells_match(old, new, tables.tolerance_for(rules, table, column))


def test_significant_digits_count_from_the_first_non_zero_digit():
    assert tables.significant_digits("0.0050") == 2
    assert tables.significant_digits("8.999999") == 7
    assert tables.significant_digits("-0.7166687021458219") == 16
    assert tables.significant_digits("1536.0117") == 8
    assert tables.significant_digits("2.50e-05") == 3
    assert tables.significant_digits("0.0") == 0


def test_unreadable_cells_name_missing_values_list_reprs_and_raw_floats():
    frame = pd.DataFrame(
        {
            "EPE": ["0.7167", "0.7166687021458219", "NaN", "1.2 (nan %)"],
            "setting": ["[0]", "None", "<NA>", "[0, 1] - mean"],
            "share": ["0.5", "8.999999", "480.0", "325,720 frames"],
        },
        index=pd.Index(["Exp1", "Exp2I", "seeds [0]", "zero"], name="method"),
    )
    found = {(row, col): why for row, col, _, why in tables.unreadable_cells(frame)}
    assert set(found) == {
        ("Exp2I", "EPE"),
        ("seeds [0]", "EPE"),
        ("zero", "EPE"),
        ("Exp1", "setting"),
        ("Exp2I", "setting"),
        ("seeds [0]", "setting"),
        ("Exp2I", "share"),
    }
    assert "list repr" in found[("Exp1", "setting")] and "significant digits" in found[("Exp2I", "share")]
    index_only = pd.DataFrame({"v": ["1"]}, index=pd.Index(["[0]"], name="seeds"))
    assert [(c, cell) for _, c, cell, _ in tables.unreadable_cells(index_only)] == [("(index seeds)", "[0]")]
    assert tables.unreadable_cells(pd.DataFrame({"a": ["0.7167", "12", "", "weights not available"]})) == []


def test_capture_writes_missing_values_as_the_page_shows_them_not_as_empty_cells():
    frame = pd.DataFrame({"disk (GB)": [606.2, float("nan")], "run": ["Exp2I", None]}, index=["a", "b"])
    csv_text = capture.table_payload(frame)["csv"]
    back = pd.read_csv(io.StringIO(csv_text), index_col=0, dtype=str, keep_default_na=False)
    assert back.loc["b", "disk (GB)"] == "NaN" and back.loc["b", "run"] == "NaN"
    assert [(r, c) for r, c, _, _ in tables.unreadable_cells(back)] == [("b", "disk (GB)"), ("b", "run")]
