"""Issue 14, the reliability catalogue: each bad input, and the tests that pin its behaviour.

Rows 1, 3, 4 and 5 (ground-truth writer failures, decode checks, landmark drift, degenerate
meshes) live with the ground-truth tests in tests/groundtruth/. This module keeps the others
discoverable and fails when a listed test disappears or is renamed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

#: row -> (bad input, [(test file, test function), ...])
CATALOGUE = {
    2: (
        "NaN/inf/unknown values in a ground-truth .flo",
        [
            ("io/test_flo.py", "test_unknown_flow_is_an_error_naming_the_file_by_default"),
            ("io/test_flo.py", "test_unknown_flow_can_be_read_as_nan_or_kept"),
            ("evaluation/test_evaluate.py", "test_non_finite_ground_truth_or_estimate_is_an_error_not_a_smaller_mean"),
            ("evaluation/test_evaluate.py", "test_cache_with_missing_errors_is_recomputed"),
            ("cli/test_errors.py", "test_train_on_nan_ground_truth_names_the_file"),
            ("cli/test_errors.py", "test_eval_on_nan_ground_truth_names_the_file"),
        ],
    ),
    6: (
        "labels.csv with a wrong label (5, 'x', empty) or an empty subject",
        [("io/test_datasets.py", "test_stst_labels_with_a_bad_value_name_file_line_and_value")],
    ),
    7: (
        "a malicious, random, foreign or truncated .pt/.pth; a corrupt last.pt on resume",
        [
            ("test_runtime.py", "test_a_malicious_file_is_refused_and_its_code_never_runs"),
            ("test_runtime.py", "test_files_that_are_not_torch_files_are_one_line_errors"),
            ("test_runtime.py", "test_mutated_checkpoints_either_load_or_raise_the_one_value_error"),
            ("training/test_loop.py", "test_checkpoint_errors_are_one_line"),
            ("training/test_loop.py", "test_a_corrupt_last_pt_stops_ensure_trained_instead_of_restarting"),
            ("mer/test_stst.py", "test_published_weights_that_are_not_stst_weights_are_one_line_errors"),
            ("methods/test_cnn.py", "test_wrong_checkpoints_are_clear_errors"),
        ],
    ),
    8: (
        "`faceflow flow <unknown method>`, `faceflow eval <a .flo file>`, the method list",
        [
            ("cli/test_errors.py", "test_bad_input_gives_one_line_and_rc_2"),
            ("cli/test_flow.py", "test_cli_flow_list_shows_every_kind_of_method"),
        ],
    ),
    9: (
        "`faceflow book --param seed=3 | profile=bogus | device=gpu | unknown=1`, a missing data root",
        [
            ("book/test_build.py", "test_parameter_text_is_typed_like_its_default"),
            ("book/test_build.py", "test_check_parameters_types_each_chapter_and_injects_only_its_own"),
            ("book/test_build.py", "test_check_parameters_refuses_bad_ones"),
            ("book/test_build.py", "test_build_book_checks_everything_before_running_a_chapter"),
            ("book/test_build.py", "test_build_book_states_a_missing_data_root_on_the_terminal"),
        ],
    ),
    10: (
        "`faceflow flow --png` into a missing folder; unchecked image writes",
        [
            ("cli/test_flow.py", "test_cli_flow_png_into_a_missing_folder_is_made"),
            ("io/test_images.py", "test_write_image_round_trip_into_a_missing_folder"),
            ("io/test_images.py", "test_write_image_refuses_what_it_cannot_write"),
            ("io/test_images.py", "test_no_unchecked_image_writes_in_the_package"),
        ],
    ),
    11: (
        "files written by the atomic writer had mode 0600",
        [("io/test_atomic.py", "test_written_files_have_the_mode_the_umask_gives")],
    ),
    12: (
        "long steps without progress output; --quiet vs --no-progress",
        [
            ("cli/test_progress.py", "test_both_spellings_silence_every_command"),
            ("cli/test_progress.py", "test_compare_shows_progress_per_pair_unless_quiet"),
            ("evaluation/test_evaluate.py", "test_progress_bars_for_loading_and_scoring_only_when_asked"),
            ("book/test_book.py", "test_chapters_show_no_progress_bars"),
        ],
    ),
    "cli": (
        "every command: bad paths, names, files, numbers -> one line 'faceflow <command>: error:', rc 2",
        [
            ("cli/test_errors.py", "test_bad_input_gives_one_line_and_rc_2"),
            ("cli/test_errors.py", "test_traceback_option_shows_the_exception"),
            ("cli/test_errors.py", "test_a_real_process_prints_one_line_and_exits_2"),
        ],
    ),
}


def _functions(path: Path) -> set[str]:
    return {n.name for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)}


@pytest.mark.parametrize("row", list(CATALOGUE), ids=str)
def test_every_catalogued_test_exists(row):
    _what, tests = CATALOGUE[row]
    assert tests, f"row {row} has no test"
    for rel, name in tests:
        assert name in _functions(TESTS / rel), f"row {row}: {rel}::{name} is missing"
