"""Chapter budgets: chapter seconds over a reference computation timed on the same machine."""

from __future__ import annotations

import pytest

from faceflow import profiles
from faceflow.book import budgets, publish
from faceflow.book.build import notebook_sources, stage_dir


def test_a_check_is_seconds_over_the_reference_against_the_budget():
    budget = profiles.ChapterBudget(50, "why")
    within = budgets.BudgetCheck("05_x", 20.0, 0.5, budget)  # 40 reference units
    over = budgets.BudgetCheck("05_x", 30.0, 0.5, budget)  # 60
    assert within.units == pytest.approx(40) and not within.over
    assert over.units == pytest.approx(60) and over.over
    assert "OVER its budget of 50 (why)" in over.describe() and "within" in within.describe()
    assert not budgets.BudgetCheck("05_x", 1e6, 0.5, None).over  # no budget, never over


def test_only_first_runs_are_checked():
    rows = [
        dict(chapter="a", seconds="10.0", reference_seconds="0.5000", cache="first run"),
        dict(chapter="b", seconds="90.0", reference_seconds="0.5000", cache="cached"),
        dict(chapter="c", seconds="90.0", reference_seconds="", cache="unchecked"),
    ]
    checks = budgets.check_records(rows, {"a": profiles.ChapterBudget(10, "r")})
    assert [(c.chapter, c.units, c.over) for c in checks] == [("a", 20.0, True)]


def test_every_chapter_has_a_budget_and_the_default_book_fits_its_minutes(repo_root):
    chapters = {src.stem for src in notebook_sources(repo_root)}
    for name in ("smoke", "default"):
        settings = profiles.get(name)
        assert set(settings.budgets) == chapters, name
        assert all(b.units > 0 and b.reason for b in settings.budgets.values()), name
    minutes = sum(b.units for b in profiles.get("default").budgets.values()) * profiles.REFERENCE_SECONDS_2_CORES / 60
    assert minutes <= profiles.DEFAULT_BOOK_MINUTES + 0.1
    assert profiles.minutes_budget(3, "r").units == round(180 / profiles.REFERENCE_SECONDS_2_CORES)
    assert profiles.get("full").budgets == {}


def test_the_reference_is_timed_on_this_machine():
    ref = budgets.time_reference(repeats=1)
    assert 0 < ref.seconds < 60 and ref.cpu_seconds > 0 and ref.repeats == 1


@pytest.mark.slow
def test_each_smoke_chapter_from_nothing_is_within_its_budget(smoke_book, repo_root):
    """The smoke book is built from nothing (tests/book/conftest.py): every chapter is a first run,
    and none takes more reference units than its budget in faceflow.profiles."""
    rows = publish.read_timings(publish.timings_path(stage_dir("smoke", repo_root)))
    assert {r["chapter"] for r in rows if r["cache"] == "first run"} == {s.stem for s in notebook_sources(repo_root)}
    assert all(r["cache"] == "first run" for r in rows), [r for r in rows if r["cache"] != "first run"]
    checks = budgets.check_records(rows, profiles.get("smoke").budgets)
    over = [c.describe() for c in checks if c.over]
    assert not over, "\n".join(over)
