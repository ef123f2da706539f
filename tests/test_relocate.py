"""A moved replay's summaries keep naming real files (search/experiments/relocate.py)."""

from __future__ import annotations

import json

from search.experiments.relocate import main, missing_paths, relocate


def make_replay(root, name: str) -> None:
    folder = root / "results" / name
    (folder / "runs" / "seed0").mkdir(parents=True)
    (root / "configs").mkdir(exist_ok=True)
    for c in ("old.yaml", "v3.yaml", "v2.yaml"):
        (root / "configs" / c).write_text("name: x\n")
    (folder / "summary.json").write_text(json.dumps({
        "command": "optsearch replay lion --out results/made_3", "config": "configs/old.yaml",
        "seeds": [{"seed": 0, "run_dir": "results/made_3/runs/seed0"}],
        "previous": {"path": "results/v2", "command": "x", "config": "configs/old.yaml"}}))
    (folder / "runs" / "seed0" / "summary.json").write_text(json.dumps({"run_dir": "results/made_3/runs/seed0"}))
    (root / "results" / "v2").mkdir()


def test_relocate_rewrites_paths_not_commands(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_replay(tmp_path, "v3")
    folder = tmp_path / "results" / "v3"
    assert sorted(missing_paths(folder)) == ["run_dir: results/made_3/runs/seed0"] * 2
    changed = relocate(folder.relative_to(tmp_path), "results/made_3", "configs/v3.yaml", "configs/v2.yaml")
    assert len(changed) == 2
    doc = json.loads((folder / "summary.json").read_text())
    assert doc["seeds"][0]["run_dir"] == "results/v3/runs/seed0"
    assert doc["command"] == "optsearch replay lion --out results/made_3"  # what was run stays as it was
    assert doc["config"] == "configs/v3.yaml" and doc["previous"]["config"] == "configs/v2.yaml"
    assert doc["moved"] == [{"from": "results/made_3", "to": "results/v3"}]
    assert json.loads((folder / "runs" / "seed0" / "summary.json").read_text())["run_dir"] == "results/v3/runs/seed0"
    assert missing_paths(folder.relative_to(tmp_path)) == []
    assert relocate(folder.relative_to(tmp_path), "results/made_3") == []  # a second run changes nothing


def test_relocate_command_line_reports_what_is_still_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    make_replay(tmp_path, "v3")
    assert main(["results/v3", "--from", "results/elsewhere"]) == 1
    assert "still missing: run_dir: results/made_3/runs/seed0" in capsys.readouterr().out
    assert main(["results/v3", "--from", "results/made_3"]) == 0
