"""IPython extension the book build loads into each chapter's kernel: tables keep their data.

Every :class:`pandas.DataFrame` (or pandas ``Styler``) a chapter displays is rendered as usual,
and its HTML output also carries, in the output's metadata under :data:`KEY`, the full table as
CSV with the chapter's ``profile`` and ``seed`` at the time it was shown. The build
(:mod:`faceflow.book.tables`) reads these back from the executed notebook and writes one CSV
per table, so chapters need no extra call to export a table.

Loaded with ``--ext faceflow.book.capture`` on the kernel command line
(:func:`faceflow.book.build.execute_notebook`); a reader's own Jupyter session is unaffected.
"""

from __future__ import annotations

#: Metadata key of a captured table in an output's ``text/html`` metadata.
KEY = "faceflow_table"
#: How a missing value (NaN, None, pd.NA) is written in the CSV: as the page shows it, not as an
#: empty cell, so that :func:`faceflow.book.tables.unreadable_cells` finds it.
MISSING = "NaN"


def table_payload(frame, namespace: dict | None = None) -> dict:
    """The metadata stored with a displayed table: CSV text, index/column levels, profile, seed.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as displayed (for a ``Styler``, its underlying data).
    namespace : dict, optional
        The kernel's user namespace: ``profile`` and ``seed`` are read from it when present.

    Returns
    -------
    dict
        ``{"csv", "index_levels", "column_levels", "profile", "seed"}``; missing values are
        written :data:`MISSING` in the CSV.
    """
    ns = namespace or {}
    return {
        "csv": frame.to_csv(na_rep=MISSING),
        "index_levels": int(frame.index.nlevels),
        "column_levels": int(frame.columns.nlevels),
        "profile": str(ns.get("profile", "")),
        "seed": str(ns.get("seed", "")),
    }


def load_ipython_extension(ip) -> None:
    """Register the DataFrame/Styler HTML formatter that adds the table's data as metadata."""
    import pandas as pd
    from pandas.io.formats.style import Styler

    def as_html_with_data(obj):
        frame = obj.data if isinstance(obj, Styler) else obj
        return obj._repr_html_(), {KEY: table_payload(frame, ip.user_ns)}

    formatter = ip.display_formatter.formatters["text/html"]
    formatter.for_type(pd.DataFrame, as_html_with_data)
    formatter.for_type(Styler, as_html_with_data)
