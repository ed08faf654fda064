"""End to end on the built-in synthetic log: training learns, checkpoints resume, the CLI works."""

from __future__ import annotations

import argparse
import json

import pytest
import torch

from contrastkit.core import atomic_save
from contrastkit.recsys.cli import register
from contrastkit.recsys.data import WindowSampler, build_sequences, leave_one_out, synthetic_interactions
from contrastkit.recsys.evaluate import evaluate, recommend
from contrastkit.recsys.train import RecsysConfig, build_model, build_objective, fit, load, save


@pytest.fixture(scope="module")
def split():
    frame = synthetic_interactions(n_users=120, n_items=60, n_clusters=4, min_length=10, max_length=20, seed=0)
    return leave_one_out(build_sequences(frame), max_len=10)


def tiny(model: str, **kw) -> RecsysConfig:
    base = dict(model=model, max_len=10, hidden=16, n_heads=2, batch_size=32, lr=5e-3, epochs=6, eval_every=2,
                patience=None, device="cpu")
    return RecsysConfig(**{**base, **kw})


def test_sasrec_learns_the_synthetic_sequences(split) -> None:
    untrained = evaluate(fit(split, tiny("sasrec", epochs=1, lr=1e-9)).model, split.test)
    result = fit(split, tiny("sasrec"))
    # Chance HR@10 is 10/60; the log is mostly "next item of the cluster cycle".
    assert untrained["hr@10"] < 0.35
    assert result.test["hr@10"] > 0.6
    assert result.epochs == 6 and result.seconds_per_epoch > 0


@pytest.mark.parametrize("model", ["cl4srec", "duorec", "mclrec"])
def test_contrastive_models_train_end_to_end(split, model: str) -> None:
    result = fit(split, tiny(model, epochs=2))
    assert {"cl", "rec"} <= set(result.history[-1])
    assert all(0.0 <= v <= 1.0 for v in result.test.values())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; CI has none")
@pytest.mark.parametrize("model", ["sasrec", "cl4srec", "duorec", "mclrec"])
def test_every_model_trains_evaluates_and_recommends_on_cuda(split, model: str) -> None:
    result = fit(split, tiny(model, epochs=2, device="cuda"))
    assert next(result.model.parameters()).device.type == "cuda"
    assert all(0.0 <= v <= 1.0 for v in result.test.values())
    history = [split.data.item_ids[i] for i in split.test.inputs[0].tolist() if i > 0]
    assert len(recommend(result.model, split.data, history, k=5, exclude_seen=True)) == 5


def test_best_validation_checkpoint_is_restored_and_training_resumes(split, tmp_path) -> None:
    config = tiny("mclrec", epochs=3, eval_every=1)
    full = fit(split, config, run_dir=tmp_path / "full")
    # Interrupt after 1 epoch (a shorter run in the same folder), then continue to 3.
    fit(split, tiny("mclrec", epochs=1, eval_every=1), run_dir=tmp_path / "resumed")
    resumed = fit(split, config, run_dir=tmp_path / "resumed")
    assert resumed.test == full.test
    assert max(h["val_ndcg@10"] for h in full.history if "val_ndcg@10" in h) == pytest.approx(full.valid["ndcg@10"])
    model, saved_config, data = load(tmp_path / "full" / "model.pt")
    assert saved_config == config and data.n_items == split.data.n_items
    assert evaluate(model, split.test) == full.test
    # Another log of the same shape (users, items, lengths) is not continued in the same run dir.
    frame = synthetic_interactions(n_users=120, n_items=60, n_clusters=4, min_length=10, max_length=20, seed=1)
    other = leave_one_out(build_sequences(frame), max_len=10)
    with pytest.raises(ValueError, match=r"other settings \(data 'sha256:\w+' -> 'sha256:\w+'\)"):
        fit(other, tiny("mclrec", epochs=4, eval_every=1), run_dir=tmp_path / "resumed")


def test_the_same_target_mask_setting_reaches_every_objective_with_duorec_views(split) -> None:
    batch = next(WindowSampler(split.train, 10, batch_size=64, seed=0).epoch(0))
    assert len(set(batch.targets[:, -1].tolist())) < 64  # same-target pairs in the batch: the mask matters
    model = build_model(tiny("mclrec"), split.data.n_items).eval()  # eval: no dropout, so only the mask differs
    for name in ("duorec", "mclrec"):
        cl = {mask: build_objective(tiny(name, mclrec_views="duorec", mask_same_target=mask)).eval()(model, batch)["cl"]
              for mask in (True, False)}
        assert cl[True] != cl[False], name  # MCLRec ignored the setting
    with pytest.raises(ValueError, match="applies to DuoRec's views only"):
        RecsysConfig(model="cl4srec", mask_same_target=False)
    with pytest.raises(ValueError, match="applies to DuoRec's views only"):
        RecsysConfig(model="mclrec", mask_same_target=False)


def test_config_rejects_unknown_models() -> None:
    with pytest.raises(ValueError, match="model must be one of"):
        RecsysConfig(model="bert4rec")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mclrec_views must be one of"):
        RecsysConfig(model="mclrec", mclrec_views="dropout")  # type: ignore[arg-type]
    assert build_objective(RecsysConfig(model="mclrec", mclrec_views="duorec")).views_from == "duorec"
    assert build_objective(RecsysConfig(model="mclrec", mclrec_beta=0.5)).beta == 0.5
    with pytest.raises(ValueError, match="beta >= 0"):
        build_objective(RecsysConfig(model="mclrec", mclrec_beta=-1.0))
    assert type(build_objective(RecsysConfig(model="duorec", mask_same_target=False))).__name__ == "DuoRec"


@pytest.mark.parametrize("model", ["cl4srec", "duorec", "mclrec"])
def test_config_weight_and_temperature_reach_the_objective(model: str) -> None:
    objective = build_objective(RecsysConfig(model=model, weight=0.3, temperature=5.0))
    assert (objective.weight, objective.temperature) == (0.3, 5.0)
    for bad in (0.0, float("nan")):
        with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
            RecsysConfig(model=model, temperature=bad)


@pytest.mark.parametrize("model", ["cl4srec", "duorec", "mclrec"])
def test_config_similarity_reaches_the_objective(model: str) -> None:
    assert build_objective(RecsysConfig(model=model, similarity="cosine")).similarity == "cosine"
    assert build_objective(RecsysConfig(model=model)).similarity == "dot"
    with pytest.raises(ValueError, match="similarity must be"):
        RecsysConfig(model=model, similarity="euclid")  # type: ignore[arg-type]


def test_fit_gives_the_contrastive_term_to_full_batches_only(split, monkeypatch) -> None:
    import contrastkit.recsys.train as train

    seen: list[int] = []
    original = train.build_objective

    def spy(config, **kw):
        seen.append(kw["min_pairs"])
        return original(config, **kw)

    monkeypatch.setattr(train, "build_objective", spy)
    fit(split, tiny("duorec", epochs=1, batch_size=32))
    fit(split, tiny("duorec", epochs=1, batch_size=500))  # fewer windows than one batch: every batch contrasts
    assert seen[0] == 32 and 2 <= seen[1] < 500


def main(argv: list[str]) -> None:
    """``contrastkit <argv>`` with only the recsys subcommand registered (no other domain imported)."""
    parser = argparse.ArgumentParser(prog="contrastkit")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    args.func(args)


def test_cli_train_evaluate_recommend(tmp_path, capsys) -> None:
    run = str(tmp_path / "run")
    main(["recsys", "train", "--data", "synthetic", "--model", "duorec", "--epochs", "1", "--max-len", "10",
          "--batch-size", "64", "--run-dir", run, "--device", "cpu"])
    trained = json.loads((tmp_path / "run" / "results.json").read_text())
    capsys.readouterr()
    main(["recsys", "evaluate", "--run-dir", run])
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["test"] == pytest.approx(trained["test"])
    main(["recsys", "evaluate", "--run-dir", run, "--exclude-seen"])
    masked = json.loads(capsys.readouterr().out)
    # Removing seen items can only move a target up the ranking.
    assert all(masked["test"][k] >= evaluated["test"][k] for k in evaluated["test"])
    assert masked["test"]["ndcg@20"] > evaluated["test"]["ndcg@20"]
    main(["recsys", "recommend", "--run-dir", run, "-k", "3", "--exclude-seen", "i1", "i2"])
    out = capsys.readouterr().out
    assert out.count("'i") == 3 and "'i1'" not in out and "'i2'" not in out
    with pytest.raises(FileNotFoundError, match="no data found"):
        main(["recsys", "train", "--data", "no-such-dataset", "--run-dir", run])
    # The run dir holds a DuoRec checkpoint: another lr is refused (named once), --no-resume trains afresh.
    other = ["recsys", "train", "--data", "synthetic", "--model", "duorec", "--epochs", "1", "--max-len", "10",
             "--batch-size", "64", "--run-dir", run, "--device", "cpu", "--lr", "0.01"]
    with pytest.raises(ValueError, match=r"other settings \(lr 0.001 -> 0.01\); resuming"):
        main(other)
    main([*other, "--no-resume"])
    assert json.loads((tmp_path / "run" / "results.json").read_text())["test"] != trained["test"]


def test_load_of_a_foreign_or_broken_file_is_a_clear_error(tmp_path) -> None:
    atomic_save({"model": {}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match=r"recsys load: .*other.pt is not the expected file: it lacks \['config'"):
        load(tmp_path / "other.pt")
    (tmp_path / "broken.pt").write_bytes(b"\x00")
    with pytest.raises(ValueError, match="recsys load: cannot read"):
        load(tmp_path / "broken.pt")
    config = RecsysConfig(model="sasrec", max_len=10, hidden=16, n_layers=1, n_heads=1)
    data = build_sequences(synthetic_interactions(n_users=20, n_items=15, seed=0))
    save(tmp_path / "model.pt", build_model(config, data.n_items), config, data)
    state = torch.load(tmp_path / "model.pt", weights_only=False)
    for edit, message in [({"cl_weight_decay": 0.1}, r" holds settings \['cl_weight_decay'\] that RecsysConfig does not have"),
                          ({"hidden": 32}, r"'s weights do not fit its settings \(.*size mismatch for item_emb")]:
        atomic_save({**state, "config": {**state["config"], **edit}}, tmp_path / "edited.pt")
        with pytest.raises(ValueError, match=r"(?s)recsys load: .*edited.pt" + message):
            load(tmp_path / "edited.pt")


def test_evaluate_names_a_damaged_results_json(tmp_path) -> None:
    config = RecsysConfig(model="sasrec", max_len=10, hidden=16, n_layers=1, n_heads=1)
    data = build_sequences(synthetic_interactions(n_users=20, n_items=15, seed=0))
    save(tmp_path / "model.pt", build_model(config, data.n_items), config, data)
    for text, message in [("{", "results.json is not a readable JSON file"),
                          ("{}", r"results.json is not the expected file: it lacks \['data', 'min_interactions'\]")]:
        (tmp_path / "results.json").write_text(text)
        with pytest.raises(ValueError, match="recsys evaluate: .*" + message):
            main(["recsys", "evaluate", "--run-dir", str(tmp_path)])
