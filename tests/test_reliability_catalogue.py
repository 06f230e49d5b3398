"""Issues 14 and 23, the reliability catalogue: each bad input, and the tests that pin its behaviour.

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
            ("methods/test_weights.py", "test_a_modified_or_truncated_copy_is_refused"),
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
    "23.2 code": (
        "issue 23: a pickle payload planted in a cache or output file read back (last.pt, LOSO resume "
        "state, fine-tuning state, landmarks .npy, flow/feature/chip .npz) never runs; one line",
        [
            ("test_planted_payloads.py", "test_train_refuses_a_planted_last_pt"),
            ("test_planted_payloads.py", "test_eval_refuses_a_planted_last_pt"),
            ("test_planted_payloads.py", "test_flow_refuses_a_planted_run_checkpoint"),
            ("test_planted_payloads.py", "test_finetuning_refuses_a_planted_state"),
            ("test_planted_payloads.py", "test_loso_refuses_a_planted_resume_state"),
            ("test_planted_payloads.py", "test_gt_resume_refuses_planted_landmarks"),
            ("test_planted_payloads.py", "test_gt_refuses_a_planted_landmarks_option"),
            ("test_planted_payloads.py", "test_flow_archives_are_never_unpickled"),
            ("test_planted_payloads.py", "test_mer_feature_cache_is_never_unpickled"),
            ("test_planted_payloads.py", "test_contact_sheet_cache_is_never_unpickled"),
        ],
    ),
    "23.2 paths": (
        "issue 23: absolute or '..' paths in manifests, registries, SOURCES.csv, labels, workbooks, "
        "subject names: refused before any read or write, same message whether the target exists",
        [
            ("io/test_paths.py", "test_names_that_leave_the_root_are_refused_by_their_text_alone"),
            ("io/test_paths.py", "test_manifest_paths_stay_in_the_dataset"),
            ("io/test_paths.py", "test_compare_refuses_a_manifest_leaving_its_folder"),
            ("io/test_paths.py", "test_stst_label_files_stay_in_their_folder"),
            ("io/test_paths.py", "test_stst_subjects_are_plain_names"),
            ("io/test_paths.py", "test_loso_subjects_never_name_a_file_outside_its_cache"),
            ("io/test_paths.py", "test_the_sample_registry_never_writes_outside_the_data_root"),
            ("io/test_paths.py", "test_fetch_cli_refuses_a_registry_leaving_the_root"),
            ("io/test_paths.py", "test_sources_names_never_reach_the_registry"),
            ("io/test_paths.py", "test_samm_workbook_names_stay_in_the_dataset"),
        ],
    ),
    "23.3 overwrite": (
        "issue 23: an output path that is an input (flow -o/--png, eval --out, compare --out, mer "
        "features, gt into a foreign manifest or its source); train over another run without --replace",
        [
            ("io/test_paths.py", "test_output_over_input_compares_resolved_paths"),
            ("cli/test_overwrite.py", "test_flow_output_over_an_input_image_is_refused"),
            ("cli/test_overwrite.py", "test_flow_png_and_flo_on_one_file_are_refused"),
            ("cli/test_overwrite.py", "test_mer_features_output_over_an_input_is_refused"),
            ("cli/test_overwrite.py", "test_eval_out_over_its_checkpoint_or_a_data_file_is_refused"),
            ("cli/test_overwrite.py", "test_compare_out_over_the_manifest_is_refused"),
            ("cli/test_overwrite.py", "test_gt_into_a_folder_with_an_unrelated_manifest_is_refused"),
            ("cli/test_overwrite.py", "test_gt_into_its_own_source_is_refused"),
            ("cli/test_overwrite.py", "test_train_over_another_run_is_refused_unless_replace"),
            ("cli/test_overwrite.py", "test_a_config_json_of_another_run_without_checkpoint_is_refused"),
            ("cli/test_overwrite.py", "test_the_books_run_caches_replace_a_stale_run"),
        ],
    ),
    "23.4 face lost": (
        "issue 23: a face lost mid-clip (another person, blank frames, leaving the frame): pairs suspect",
        [
            ("groundtruth/test_face_loss.py", "test_another_person_taking_the_place_makes_the_pairs_suspect"),
            ("groundtruth/test_face_loss.py", "test_blank_frames_make_their_pairs_suspect"),
            ("groundtruth/test_face_loss.py", "test_a_face_leaving_the_frame_is_never_an_unflagged_pair"),
            ("groundtruth/test_face_loss.py", "test_a_normal_clip_is_untouched_by_the_checks"),
            ("groundtruth/test_face_loss.py", "test_readers_leave_the_suspect_pairs_out_and_a_rerun_keeps_them_marked"),
        ],
    ),
    "23.4 one line": (
        "issue 23: frames out of natural order, a damaged manifest, landmarks for a frame more or less, "
        "duplicated label rows, unknown --only chapter, images too small, frames of two sizes, absurd "
        "sizes, Ctrl-C (rc 130, nothing half-written), FACEFLOW_DATA alone for every command",
        [
            ("io/test_images.py", "test_frames_are_listed_in_natural_order"),
            ("groundtruth/test_input_checks.py", "test_unpadded_frame_numbers_are_taken_in_natural_order"),
            ("groundtruth/test_input_checks.py", "test_a_damaged_manifest_is_one_line_naming_file_and_row"),
            ("groundtruth/test_input_checks.py", "test_landmarks_for_a_frame_more_or_less_are_refused"),
            ("io/test_paths.py", "test_duplicated_label_rows_name_both_lines"),
            ("cli/test_no_silent_numbers.py", "test_tables_only_an_unknown_chapter_is_refused"),
            ("cli/test_no_silent_numbers.py", "test_images_too_small_for_a_method_are_refused"),
            ("cli/test_no_silent_numbers.py", "test_pretrained_networks_refuse_images_smaller_than_they_work_on"),
            ("cli/test_no_silent_numbers.py", "test_a_trained_flownets_refuses_images_below_64_px"),
            ("cli/test_no_silent_numbers.py", "test_frames_of_two_sizes_name_both_files"),
            ("groundtruth/test_input_checks.py", "test_frames_of_several_sizes_are_refused_before_anything_is_written"),
            ("groundtruth/test_input_checks.py", "test_absurd_sizes_are_refused"),
            ("cli/test_no_silent_numbers.py", "test_absurd_sizes_are_refused"),
            ("cli/test_no_silent_numbers.py", "test_ctrl_c_is_one_line_and_rc_130"),
            ("cli/test_no_silent_numbers.py", "test_ctrl_c_in_a_real_run_leaves_only_whole_files_and_a_rerun_finishes"),
            ("cli/test_data_root.py", "test_every_command_reads_the_root_of_faceflow_data"),
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
