"""Chapter 04's studies: the face data it tests on, fine-tuning RAFT-small, Fig. 4 in pieces."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from faceflow import profiles
from faceflow.evaluation import baselines, testsets
from faceflow.methods import registry
from faceflow.studies import baselines as baseline_study


def test_finetuning_says_why_it_did_not_run(tmp_path, generated_test_sets):
    sets = generated_test_sets(tmp_path)
    methods = baselines.comparison_methods(tmp_path / "runs", sets, "smoke")
    off = profiles.get("smoke").baselines.finetune
    result = baseline_study.finetune_on_faces(sets, methods, None, off, tmp_path)
    assert "0 fine-tuning steps" in result.missing["RAFT-small fine-tuned on faces"]
    assert "0 fine-tuning steps" in result.setup_text  # the page's phrase says why, not "0 steps of None"
    on = profiles.get("full").baselines.finetune
    result = baseline_study.finetune_on_faces(sets, methods, None, on, tmp_path)
    assert result.table is None and "no real face ground truth" in result.missing["RAFT-small fine-tuned on faces"]
    assert result.change_text == "not measured here"


def test_finetuning_trains_on_the_whole_split_of_the_test_sets(tmp_path, monkeypatch):
    """The run gets the test sets' split as it is: the corpus's subject table too, so no test person trains."""
    from faceflow.groundtruth.splits import SplitOptions
    from faceflow.training import finetune

    class Stop(Exception):
        pass

    seen = []

    def record(cfg, *args, **kwargs):
        seen.append(SplitOptions.from_data(cfg.split))
        raise Stop

    monkeypatch.setattr(finetune, "finetune_raft", record)
    methods = baselines.MethodSet([], [], [], tmp_path / "runs", pretrained=["raft-small"])
    on = profiles.get("full").baselines.finetune
    splits = [SplitOptions(table="0123456789ab"), SplitOptions(("seqA",), (0.6, 0.2, 0.2), 3)]
    for split in splits:
        sets = testsets.TestSets({"faces test": []}, "", False, tmp_path / "gt", split)
        with pytest.raises(Stop):
            baseline_study.finetune_on_faces(sets, methods, None, on, tmp_path / "ft")
    assert seen == splits


def test_finetuning_end_to_end_on_a_tiny_face_set(tmp_path, fake_gt, data_root, monkeypatch):
    face_dir = fake_gt(tmp_path / "gt", {f"seq{i}": (f"s{i}", 3) for i in range(4)}, size=(64, 96))
    settings = profiles.get("smoke")
    settings = replace(settings, baselines=replace(settings.baselines, max_pairs=2))
    sets = testsets.load_test_sets(face_dir, tmp_path / "no-runs", data_root, settings)
    methods = baselines.comparison_methods(
        tmp_path / "runs", sets, "smoke", data_root=data_root, pretrained=["raft-small"]
    )
    assert methods.ours == []
    assert methods.pretrained == ["raft-small"] and methods.fig4_methods()[-1] == "raft-small"
    tiny = profiles.FinetuneProfile(steps=1, batch_size=1, crop=(64, 64), iters=2, lr=1e-4, train_pairs=2)
    try:
        result = baseline_study.finetune_on_faces(sets, methods, None, tiny, tmp_path / "ft", data_root)
        names = ["RAFT-small (C+T)", "RAFT-small fine-tuned on faces (ours)", "DIS", "zero flow"]
        assert list(result.table.index) == names
        assert result.setup_text.startswith("1 steps of 1 64x64 crops from 2 face training pairs")
        assert list(result.table.columns.get_level_values(1)[:3]) == [
            "EPE face, moving pairs",
            "EPE whole crop",
            "AAE whole crop",
        ]
        # the fake ground truth is u = 1 px everywhere (0.5 px on the k = 1 grid): zero flow is
        # that far off on the face and over the whole crop
        assert result.table.loc["zero flow"].iloc[[0, 1]].tolist() == pytest.approx([0.5, 0.5])
        assert len(result.history) == 1 and {s for s, _ in result.change} == set(sets.sets)
        again = baseline_study.finetune_on_faces(sets, methods, None, tiny, tmp_path / "ft", data_root)
        pd.testing.assert_frame_equal(again.table, result.table)  # served from the run and the cache
    finally:
        for name in ("raft-small", "raft-small-faces", "spynet-chairs", "spynet-sintel"):
            if name in registry.available_methods():
                registry.unregister(name)


def test_fig4_of_the_comparison_uses_the_first_set_and_every_fig4_method(tmp_path, monkeypatch, generated_test_sets):
    sets = generated_test_sets(tmp_path, n=3)
    methods = baselines.comparison_methods(tmp_path / "runs", sets, "smoke")
    out = baseline_study.fig4(sets, methods, per_kind=1, path=tmp_path / "fig4.png")
    assert list(out.figures) == ["pairs", *baseline_study.FIG4_PIECES]
    classical = out.figures["classical"]
    assert classical._suptitle.get_text() == "generated faces (GENERATED): classical methods"
    titles = {ax.get_title().split("\n")[0] for ax in classical.axes}
    assert {"Farneback", "DIS"} <= titles and (tmp_path / "fig4-classical.png").is_file()
    # no network here: that piece says why, naming the CNNs without weights
    assert "PWC-Net" in out.figures["networks"].axes[0].texts[0].get_text()


def test_face_source_prefers_the_readers_folder_then_the_corpus_then_openface(tmp_path):
    out = profiles.outputs("smoke", tmp_path / "out")
    assert baseline_study.face_source("smoke", None, out, tmp_path / "mine") == (tmp_path / "mine", None)
    # no corpus under this data root: the OpenFace samples' dataset, with its default split
    assert baseline_study.face_source("smoke", tmp_path / "empty-root", out) == (out.dataset("openface"), None)


def test_only_the_runs_missing_altogether_are_trained_and_only_on_real_faces(
    tmp_path, monkeypatch, generated_test_sets
):
    from faceflow.groundtruth.splits import SplitOptions
    from faceflow.training import loop

    trained = []

    def record(cfg, run_dir, **kwargs):
        trained.append((run_dir.name, cfg.data["exclude"], kwargs["face_dir"]))

    monkeypatch.setattr(loop, "ensure_trained", record)
    runs = tmp_path / "runs"
    (runs / "Exp1").mkdir(parents=True)
    (runs / "Exp1" / "last.pt").write_bytes(b"stub")  # a run that exists is never trained again
    real = testsets.TestSets({"faces test": []}, "", False, tmp_path / "gt", SplitOptions(("seqA",)))
    assert baseline_study.train_missing_runs(runs, real, "smoke") == ["Exp2I", "Exp2II", "Exp3I", "Exp3II"]
    assert [t[0] for t in trained] == ["Exp2I", "Exp2II", "Exp3I", "Exp3II"]
    assert all(exclude == ["seqA"] and face == tmp_path / "gt" for _, exclude, face in trained)
    trained.clear()
    assert baseline_study.train_missing_runs(runs, generated_test_sets(tmp_path), "smoke") == [] and trained == []
    # the library's list of methods never trains: Exp1 is registered from its checkpoint as it is
    try:
        assert baselines.comparison_methods(runs, real, "smoke").ours == ["Exp1"] and trained == []
    finally:
        registry.unregister("Exp1")
