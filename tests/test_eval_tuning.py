"""`optsearch eval` tunes every optimizer on the search's learning-rate grid and says what it chose."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from search.cli import main
from search.cli.eval_cmd import EVAL_LR_GRID

ROOT = Path(__file__).resolve().parents[1]
CHEAP = ["--task", "quadratic", "--seeds", "1", "--steps", "20"]


def test_default_grid_is_the_replay_search_grid():
    cfg = yaml.safe_load((ROOT / "configs" / "lion_rediscovery.yaml").read_text())
    assert tuple(cfg["evaluator"]["lr_grid"]) == EVAL_LR_GRID


def test_eval_prints_the_learning_rate_chosen_for_each_optimizer(tmp_path, capsys):
    assert main(["eval", "lion", *CHEAP, "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "learning rate chosen per task" in out
    row = next(line for line in out.splitlines() if line.strip("│┃ ").startswith("quadratic") and " x" in line)
    assert row.count(" x") == 3  # the program, AdamW and Lion


def test_eval_json_carries_the_grid_and_every_choice(tmp_path, capsys):
    assert main(["eval", "lion", *CHEAP, "--cache-dir", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["lr_grid"] == list(EVAL_LR_GRID)
    lr = out["tasks"][0]["lr"]
    assert set(lr) == {"program", "adamw", "lion"}
    assert all(v["scale"] in EVAL_LR_GRID for v in lr.values())
    assert lr["lion"]["lr"] == lr["lion"]["scale"] * 1e-4 or abs(lr["lion"]["lr"] / lr["lion"]["scale"] - 1e-4) < 1e-12
    assert out["runs"][0]["lr_scale"] == lr["program"]["scale"]


def test_lr_fixes_one_value_and_config_gives_its_grid(tmp_path, capsys):
    assert main(["eval", "lion", *CHEAP, "--cache-dir", str(tmp_path), "--json", "--lr", "0.5"]) == 0
    lr = json.loads(capsys.readouterr().out)["tasks"][0]["lr"]
    assert {v["scale"] for v in lr.values()} == {0.5}
    assert main(["eval", "lion", *CHEAP, "--cache-dir", str(tmp_path), "--json",
                 "--config", str(ROOT / "configs" / "quick.yaml")]) == 0
    assert json.loads(capsys.readouterr().out)["lr_grid"] == [1.0]
    assert main(["eval", "lion", *CHEAP, "--lr", "-1"]) == 2
    assert "--lr" in capsys.readouterr().err
