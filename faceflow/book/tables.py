"""Every table the book renders, as CSV, and the check of the smoke tables against references.

The build loads :mod:`faceflow.book.capture` into each chapter's kernel, so every DataFrame a
chapter displays carries its data in the executed notebook. :func:`export` writes them to
``<stage>/tables/<chapter>/<name>.csv`` with a short header (table, profile, seed, git commit):
``<name>`` is the glue name of a glued table, else the slug of the section heading above it
(``table-3``, ``table-3-2`` for the second one under that heading).

:func:`compare` checks a folder of tables against the reference CSVs kept in the project
(``reference/tables/smoke/``) within the tolerances of ``reference/tables/tolerances.csv`` (one
row per table/column pattern: relative, absolute and last-digit tolerance, and why) and returns
every difference as
(table, row, column, old, new). ``faceflow tables --check`` prints them and fails;
``faceflow tables --accept`` copies the current tables over the references.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import math
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from faceflow.book.capture import KEY
from faceflow.io.atomic import atomic_write_text

#: Where the reference tables live, relative to the project root.
REFERENCE_DIR = Path("reference") / "tables"
#: Tolerance rules (table glob, column glob, rtol, atol, why), relative to the project root.
TOLERANCES = REFERENCE_DIR / "tolerances.csv"

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


@dataclass(frozen=True)
class Table:
    """One table of the book: ``chapter/name``, its data, and where it was computed."""

    chapter: str
    name: str
    frame: object  # pandas.DataFrame, columns flattened to one level
    index_columns: int
    profile: str
    seed: str

    @property
    def key(self) -> str:
        """``<chapter>/<name>``, the table's identity across builds."""
        return f"{self.chapter}/{self.name}"


@dataclass(frozen=True)
class Difference:
    """One changed cell (or a table, row or column that appeared or disappeared)."""

    table: str
    row: str
    column: str
    old: str
    new: str

    def line(self) -> str:
        return f"{self.table} | row {self.row} | column {self.column} | old {self.old} | new {self.new}"


def slug(text: str) -> str:
    """A file-name slug of a heading: ``'Table 3: runtime'`` -> ``'table-3-runtime'``."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s or "table"


def _flatten(frame):
    """Columns of any depth joined with ' / ' (empty levels dropped); index names filled."""
    frame = frame.copy()
    if frame.columns.nlevels > 1:
        frame.columns = [
            " / ".join(str(x) for x in col if str(x) != "" and not str(x).startswith("Unnamed"))
            for col in frame.columns
        ]
    else:
        frame.columns = [str(c) for c in frame.columns]
    names = [
        n if n is not None else ("row" if frame.index.nlevels == 1 else f"row{i}")
        for i, n in enumerate(frame.index.names)
    ]
    frame.index = frame.index.set_names(names)
    return frame


def _payload_frame(payload: dict):
    import pandas as pd

    header = list(range(int(payload["column_levels"])))
    index = list(range(int(payload["index_levels"])))
    frame = pd.read_csv(io.StringIO(payload["csv"]), header=header, index_col=index, dtype=str, keep_default_na=False)
    return _flatten(frame)


def collect(notebook: Path) -> list[Table]:
    """The tables displayed by one executed chapter notebook, in page order.

    Raises
    ------
    FileNotFoundError
        ``notebook`` does not exist.
    """
    notebook = Path(notebook)
    if not notebook.is_file():
        raise FileNotFoundError(f"{notebook}: executed notebook not found")
    nb = nbformat.read(notebook, as_version=4)
    chapter = notebook.stem
    heading = "table"
    seen: dict[str, int] = {}
    tables = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    heading = slug(line.lstrip("#"))
            continue
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {})
            payload = next((m[KEY] for m in meta.values() if isinstance(m, dict) and KEY in m), None)
            if payload is None:
                continue
            glued = meta.get("scrapbook", {}).get("name")
            base = slug(glued) if glued else heading
            seen[base] = seen.get(base, 0) + 1
            name = base if seen[base] == 1 else f"{base}-{seen[base]}"
            frame = _payload_frame(payload)
            tables.append(
                Table(chapter, name, frame, frame.index.nlevels, payload.get("profile", ""), payload.get("seed", ""))
            )
    return tables


#: Cells that show a missing value as pandas renders it (NaN, None, pd.NA) instead of words.
MISSING_VALUE_CELLS = frozenset({"nan", "NaN", "None", "<NA>", "NaT"})
#: Most significant digits a number in a displayed table may show (more is a raw float repr).
MAX_SIGNIFICANT_DIGITS = 6
_DECIMAL = re.compile(r"(?<![\w.])[-+]?(\d*)\.(\d+)(?:[eE][-+]?\d+)?(?![\w.])")
_LIST_REPR = re.compile(r"\[.*\]")
_NAN_WORD = re.compile(r"(?<![A-Za-z])(?:nan|NaN)(?![A-Za-z])")


def significant_digits(number: str) -> int:
    """Significant digits of a number written with a decimal point (``'0.0050'`` -> 2, ``'8.999999'`` -> 7).

    Parameters
    ----------
    number : str
        Digits with one decimal point, optional sign and exponent.

    Returns
    -------
    int
        Digits from the first non-zero one to the last shown one; 0 for a zero.
    """
    mantissa = re.split(r"[eE]", number.lstrip("+-"))[0]
    digits = mantissa.replace(".", "").lstrip("0")
    return len(digits)


def unreadable_cells(frame) -> list[tuple[str, str, str, str]]:
    """Cells (index labels included) of a displayed table that a reader should not see.

    A missing value shown as pandas renders it (:data:`MISSING_VALUE_CELLS`, or ``nan`` within a
    cell such as ``'nan %'``), a Python list repr (``'[0]'``), or a decimal number with more than
    :data:`MAX_SIGNIFICANT_DIGITS` significant digits (a raw float such as ``'0.7166687021458219'`` or ``'8.999999'``).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table, cells as strings (:func:`read_table`).

    Returns
    -------
    list of (row, column, cell, why)
        Empty when every cell reads.
    """
    found = []

    def check(row: str, column: str, cell: str) -> None:
        text = cell.strip()
        if text in MISSING_VALUE_CELLS or _NAN_WORD.search(text):
            found.append((row, column, cell, "a missing value shown as pandas renders it"))
        elif _LIST_REPR.fullmatch(text):
            found.append((row, column, cell, "a Python list repr"))
        elif any(significant_digits(m.group(0)) > MAX_SIGNIFICANT_DIGITS for m in _DECIMAL.finditer(text)):
            found.append((row, column, cell, f"a number with more than {MAX_SIGNIFICANT_DIGITS} significant digits"))

    rows = _row_keys(frame)
    for level, name in enumerate(frame.index.names):
        for row, label in zip(rows, frame.index.get_level_values(level)):
            check(row, f"(index {name})", str(label))
    for column in frame.columns:
        for row, cell in zip(rows, frame[column]):
            check(row, str(column), str(cell))
    return found


def write_table(table: Table, folder: Path, commit: str) -> Path:
    """Write ``table`` to ``<folder>/<chapter>/<name>.csv`` with its header lines; returns the path."""
    path = Path(folder) / table.chapter / f"{table.name}.csv"
    header = (
        f"# table: {table.key}\n# profile: {table.profile}\n# seed: {table.seed}\n"
        f"# commit: {commit}\n# index columns: {table.index_columns}\n"
    )
    atomic_write_text(path, header + table.frame.to_csv(lineterminator="\n"))
    return path


def read_table(path: Path) -> tuple[dict, object]:
    """The header fields and the data (all cells as strings) of a table CSV written by :func:`write_table`.

    Raises
    ------
    ValueError
        The file has no ``# index columns:`` header line.
    """
    import pandas as pd

    text = Path(path).read_text(encoding="utf-8")
    meta, body = {}, []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines) and lines[i].startswith("# "):
        key, _, value = lines[i][2:].partition(":")
        meta[key.strip()] = value.strip()
        i += 1
    body = "".join(lines[i:])
    if "index columns" not in meta:
        raise ValueError(f"{path}: not a faceflow table (no '# index columns:' header line)")
    n_index = int(meta["index columns"])
    frame = pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False, index_col=list(range(n_index)))
    return meta, frame


def export(stage: Path, notebooks: list[str], commit: str) -> list[Path]:
    """Write every table of the staged executed ``notebooks`` (stems) under ``<stage>/tables``.

    A chapter's folder is emptied first, so a table the chapter no longer shows disappears.
    """
    out = []
    for stem in notebooks:
        nb = Path(stage) / "notebooks" / f"{stem}.ipynb"
        folder = Path(stage) / "tables" / stem
        if folder.is_dir():
            shutil.rmtree(folder)
        for table in collect(nb):
            out.append(write_table(table, Path(stage) / "tables", commit))
    return out


@dataclass(frozen=True)
class Tolerance:
    """Cells of tables matching ``table`` and columns matching ``column`` (globs) may differ by
    ``atol + rtol * |old| + ulp * (one unit of the old value's last shown decimal)``.

    ``ulp`` applies to numbers shown with decimals only (a count like ``6`` stays exact unless
    ``atol`` allows more); ``inf`` accepts any change of a number (wall-clock times).
    """

    table: str
    column: str
    rtol: float
    atol: float
    ulp: float = 0.0
    why: str = ""

    def allows(self, old: str, new: str) -> bool:
        """Whether two numbers (as shown) are within this tolerance."""
        a, b = float(old), float(new)
        if math.isinf(self.atol) or math.isinf(self.rtol) or math.isinf(self.ulp):
            return True
        mantissa, _, exponent = old.lower().partition("e")
        decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
        step = self.ulp * 10.0 ** (int(exponent or 0) - decimals) if decimals or exponent else 0.0
        return abs(a - b) <= self.atol + self.rtol * abs(a) + step * (1 + 1e-9)


def read_tolerances(path: Path) -> list[Tolerance]:
    """The tolerance rules of ``path`` (CSV: table, column, rtol, atol, ulp, why), first match wins.

    Raises
    ------
    ValueError
        A row has a missing or non-numeric tolerance, or no rule matches every cell (``*,*``).
    """
    rules = []
    with open(path, newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            try:
                numbers = (float(row["rtol"]), float(row["atol"]), float(row["ulp"]))
                rules.append(Tolerance(row["table"], row["column"], *numbers, row["why"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{n}: bad tolerance row {row} ({exc})") from exc
    if not any(r.table == "*" and r.column == "*" for r in rules):
        raise ValueError(f"{path}: needs a default rule with table '*' and column '*'")
    return rules


def tolerance_for(rules: list[Tolerance], table: str, column: str) -> Tolerance:
    """The first rule whose table and column globs match."""
    for rule in rules:
        if fnmatch.fnmatchcase(table, rule.table) and fnmatch.fnmatchcase(column, rule.column):
            return rule
    raise ValueError(f"no tolerance rule matches {table} / {column}")


def cells_match(old: str, new: str, rule: Tolerance) -> bool:
    """Whether two cells agree: equal text, or the same text around numbers within tolerance.

    ``'1.20 (+5%)'`` and ``'1.21 (+5%)'`` are compared number by number; text around the
    numbers must be identical.
    """
    if old == new:
        return True
    old_nums, new_nums = _NUMBER.findall(old), _NUMBER.findall(new)
    if _NUMBER.sub("#", old) != _NUMBER.sub("#", new) or len(old_nums) != len(new_nums) or not old_nums:
        return False
    return all(rule.allows(a, b) for a, b in zip(old_nums, new_nums))


def _row_keys(frame) -> list[str]:
    labels = [" / ".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in frame.index]
    seen: dict[str, int] = {}
    keys = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        keys.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return keys


def compare_tables(key: str, old, new, rules: list[Tolerance]) -> list[Difference]:
    """Differences between two versions of one table (cells as strings)."""
    diffs = []
    old_rows = dict(zip(_row_keys(old), range(len(old))))
    new_rows = dict(zip(_row_keys(new), range(len(new))))
    for col in [c for c in old.columns if c not in new.columns]:
        diffs.append(Difference(key, "*", str(col), "(column)", "(absent)"))
    for col in [c for c in new.columns if c not in old.columns]:
        diffs.append(Difference(key, "*", str(col), "(absent)", "(column)"))
    for row in old_rows.keys() - new_rows.keys():
        diffs.append(Difference(key, row, "*", "(row)", "(absent)"))
    for row in new_rows.keys() - old_rows.keys():
        diffs.append(Difference(key, row, "*", "(absent)", "(row)"))
    for row, i in old_rows.items():
        if row not in new_rows:
            continue
        j = new_rows[row]
        for col in [c for c in old.columns if c in new.columns]:
            a, b = str(old.iloc[i][col]), str(new.iloc[j][col])
            if not cells_match(a, b, tolerance_for(rules, key, str(col))):
                diffs.append(Difference(key, row, str(col), a, b))
    return diffs


def compare(reference: Path, current: Path, tolerances: Path, chapters: list[str] | None = None) -> list[Difference]:
    """Every difference between the reference tables and the current ones.

    Parameters
    ----------
    reference, current : Path
        Folders of ``<chapter>/<name>.csv`` files.
    tolerances : Path
        The tolerance rules (:func:`read_tolerances`).
    chapters : list of str, optional
        Compare only these chapters' tables.

    Returns
    -------
    list of Difference
        Empty when every table matches; a table present on one side only is one difference.
    """
    rules = read_tolerances(tolerances)

    def tables(folder: Path) -> dict[str, Path]:
        found = {p.relative_to(folder).with_suffix("").as_posix(): p for p in Path(folder).glob("*/*.csv")}
        return {k: p for k, p in found.items() if chapters is None or k.split("/")[0] in chapters}

    ref, cur = tables(reference), tables(current)
    diffs = [Difference(k, "*", "*", "(table)", "(absent)") for k in sorted(ref.keys() - cur.keys())]
    diffs += [Difference(k, "*", "*", "(absent)", "(table)") for k in sorted(cur.keys() - ref.keys())]
    for key in sorted(ref.keys() & cur.keys()):
        (_, old), (_, new) = read_table(ref[key]), read_table(cur[key])
        diffs += compare_tables(key, old, new, rules)
    return diffs


def accept(current: Path, reference: Path, chapters: list[str] | None = None) -> list[Path]:
    """Replace the reference tables (of ``chapters``, default all) by the current ones.

    Returns the reference files written. Tables that no longer exist are removed.
    """
    written = []
    present = {p.name for p in Path(current).iterdir() if p.is_dir()}
    if chapters is None and Path(reference).is_dir():
        for stale in [p for p in Path(reference).iterdir() if p.is_dir() and p.name not in present]:
            shutil.rmtree(stale)
    for chapter_dir in sorted(Path(current) / name for name in present):
        if chapters is not None and chapter_dir.name not in chapters:
            continue
        dest = Path(reference) / chapter_dir.name
        if dest.is_dir():
            shutil.rmtree(dest)
        for src in sorted(chapter_dir.glob("*.csv")):
            target = dest / src.name
            atomic_write_text(target, src.read_text(encoding="utf-8"))
            written.append(target)
    return written
