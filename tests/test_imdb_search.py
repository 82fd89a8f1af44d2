"""benchmarks/imdb_search.py: runs resume where they stopped, epochs and settings are chosen on
validation, seeds aggregate to mean ± std, and every report-C change builds and trains (on a tiny
stand-in for IMDb, not the real reviews)."""
from __future__ import annotations

import json
import os
import threading
import time

import numpy as np
import pytest
import torch

from benchmarks import imdb_search as search
from benchmarks.common import machine, write_json


def tiny_data(words: int = 30, seed: int = 0) -> dict:
    """A stand-in for ``load_data``: short random reviews of ids 4..words-1, random labels."""
    rng = np.random.default_rng(seed)

    def part(n: int) -> tuple[list, list]:
        return ([rng.integers(4, words, rng.integers(1, 12)).tolist() for _ in range(n)],
                rng.integers(0, 2, n).tolist())
    return {"train": part(40), "val": part(12), "test": part(12), "words": words}


def tiny(settings: dict) -> dict:
    return {**settings, "emb": 8, "hidden": 8, "max_tokens": 64, "max_len": 10}


def report_c(kind: str) -> dict:
    """The settings of report C's setup as rebuilt, for ``kind``."""
    runs = search.plan({"runs": {}})[0]
    return next(r.settings for r in runs if r.id == f"report_c/{kind}/seed1")


@pytest.mark.parametrize("kind", search.KINDS)
def test_every_change_toward_report_c_builds_and_trains_once_then_tests(kind):
    data = tiny_data()
    for name in [*search.DELTAS, "as_described"]:
        if search.delta_settings(name, kind):
            record = search.train_run(tiny({**report_c(kind), **search.delta_settings(name, kind)}),
                                      1, data, test=True)
            assert record["chosen_epoch"] == 1 and len(record["epochs"]) == 1, name
            assert 0 <= record["test_acc"] <= 1, name


def test_a_search_run_stops_when_validation_drops_and_never_reads_the_test_set():
    s = tiny({**report_c("mlp"), "epochs": 6, "lr": 0.05})
    data = tiny_data()
    record = search.train_run(s, 0, {**data, "test": None}, test=False)
    vals = [e["val_acc"] for e in record["epochs"]]
    assert record["test_acc"] is None
    assert len(vals) == 6 or vals[-1] <= max(vals[:-1])  # stopped at the first drop
    assert record["val_acc"] == max(vals) and vals[record["chosen_epoch"] - 1] == max(vals)


def test_report_cs_model_changes_are_what_they_claim():
    s = tiny({**report_c("elman"), **search.delta_settings("as_described", "elman")})
    elman = search.build_model(s, 31, seed=0)
    assert elman.embedding.padding_idx == 0 and isinstance(elman.body, search.StepOutput)
    bound = 1 / np.sqrt(16)
    assert all(p.abs().max() <= bound for p in elman.body.body.parameters())
    assert not elman.body.body.bias_hh_l0.requires_grad
    # Time first, the recurrence runs down the batch: the second review's logits depend on the
    # first; built right, not.
    x = torch.tensor([[5, 6, 7], [8, 9, 10]])
    for batch_first in (True, False):
        rnn = search.build_model(tiny({**report_c("rnn"), "batch_first": batch_first}), 30, seed=0)
        with torch.no_grad():
            alone_equals_together = torch.allclose(rnn(x)[1:], rnn(x[1:]), atol=1e-6)
        assert alone_equals_together == batch_first


def test_the_search_is_fixed_by_its_seed_starts_from_the_old_choice_and_extends():
    assert search.search_points("elman", 3) == search.search_points("elman", 6)[:3]
    assert search.search_points("lstm", 1) == [{k: search.BEST[k] for k in
                                                ("lr", "emb", "hidden", "dropout")}]
    assert len({json.dumps(p) for p in search.search_points("rnn", 8)}) == 8


def test_the_epoch_is_chosen_on_validation_the_earliest_of_equals():
    assert search.choose_epoch([{"val_acc": a} for a in (0.8, 0.85, 0.85, 0.84)]) == 2
    assert search.choose_epoch([{"val_acc": None}, {"val_acc": None}]) == 2  # no validation data
    assert search.choose_epoch([]) is None


def test_seeds_give_mean_and_sample_std():
    assert search.pct([0.81, 0.82, 0.83]) == "82.00 ± 1.00"
    assert search.pct([0.81, None]) == "81.00 (n=1)"
    assert search.pct([]) == "—"


def fake_execute(executed: list):
    """Instead of training: search run i scores 0.5 + 0.1 i on validation; a seeded run
    scores 0.80 + 0.01 seed on both."""
    def execute(run: search.Run) -> dict:
        executed.append(run.id)
        acc = 0.8 + 0.01 * run.seed if run.seed else 0.5 + 0.1 * int(run.id.split("/")[-1])
        return {"settings": run.settings, "seed": run.seed, "chosen_epoch": 1, "val_acc": acc,
                "epochs": [{"val_acc": acc, "load": [0.5, 1.0]}], "cpu_s": 60.0,
                "test_acc": acc if run.test else None}
    return execute


def test_a_rerun_resumes_where_the_last_stopped_and_redoes_only_changed_runs(tmp_path):
    path, executed = tmp_path / "r.json", []
    no_ablations = dict(selected=lambda run_id: not run_id.startswith("ablation/"), search_size=2)

    def killed_after_five(run):
        if len(executed) == 5:
            raise KeyboardInterrupt
        return fake_execute(executed)(run)
    with pytest.raises(KeyboardInterrupt):
        search.run_pending(path, killed_after_five, **no_ablations)
    assert list(json.loads(path.read_text())["runs"]) == executed[:5]
    n = search.run_pending(path, fake_execute(executed), **no_ablations)
    assert len(set(executed)) == len(executed) == 5 + n  # nothing finished ran twice
    runs = json.loads(path.read_text())["runs"]
    assert set(runs) == set(executed)
    assert runs["final/lstm/seed2"]["settings"] == runs["search/lstm/1"]["settings"]  # best on val
    assert search.run_pending(path, fake_execute(executed), **no_ablations) == 0

    results = json.loads(path.read_text())
    results["runs"]["report_c/rnn/seed3"]["settings"]["lr"] = 0.5  # made with other settings
    write_json(path, results)
    assert search.run_pending(path, fake_execute(executed), **no_ablations) == 1
    assert executed[-1] == "report_c/rnn/seed3"

    stored = json.loads(path.read_text())["summary"]  # what the README quotes, kept in the file
    assert stored["final/lstm"]["seeds"] == 3 and "val_acc" in stored["final/lstm"]
    assert stored["report_c/rnn"]["test_acc"] == pytest.approx([0.82, 0.01])
    table = search.markdown(json.loads(path.read_text()))
    assert table.count("**82.00 ± 1.00**") == len(search.KINDS)  # the finals' test column
    assert "| report_c: as rebuilt | 82.00 ± 1.00 |" in table


def test_two_processes_with_different_selections_lose_no_record(tmp_path, monkeypatch):
    """Each worker reads the file, adds its record and writes: slow writes (a loaded disk) must
    not let one worker write over the record the other has just added."""
    path, slow_write = tmp_path / "r.json", search.write_json

    def write_slowly(*args):
        time.sleep(0.05)
        slow_write(*args)
    monkeypatch.setattr(search, "write_json", write_slowly)
    executed: list = []
    workers = [threading.Thread(target=search.run_pending, kwargs=dict(
        path=path, execute=fake_execute(executed), search_size=3,
        selected=lambda run_id, kind=kind: run_id.startswith(f"search/{kind}/")))
        for kind in ("mlp", "elman")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(json.loads(path.read_text())["runs"]) == sorted(executed)
    assert len(executed) == 6


def test_only_selects_by_phase_model_delta_or_run_id_start():
    assert search.matches("ablation/uncut/lstm/seed1", ["uncut"])
    assert search.matches("final/lstm/seed2", ["final/lstm"])
    assert not search.matches("final/lstm/seed2", ["search", "mlp"])
    assert search.matches("search/mlp/0", [])


def test_results_files_are_written_whole_and_machine_facts_read_from_the_system(tmp_path):
    write_json(tmp_path / "a" / "r.json", {"x": [1, 2]})
    write_json(tmp_path / "a" / "r.json", {"x": [3]})
    assert os.listdir(tmp_path / "a") == ["r.json"]
    assert json.loads((tmp_path / "a" / "r.json").read_text())["x"] == [3]  # and a "run" stamp
    facts = machine()
    assert facts["cores"] == os.cpu_count() and facts["cpu"]
    assert facts["torch"] == torch.__version__ and facts["torch_threads"] == torch.get_num_threads()
