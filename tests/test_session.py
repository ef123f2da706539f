"""search.session: a run directory opened for a new run or for the one it holds, held until the
``with`` block ends; the backend a config names, its evaluator settings checked first."""

from __future__ import annotations

import os

import pytest

from search import config, runlock, session
from search.rundir import RunDirError

TOY = "proxy_tasks.toy:ToyEvaluator"


def _cfg(**evaluator) -> config.Config:
    return config.from_dict({"name": "t", "evaluator": {"factory": TOY, "tasks": {"toy": 1.0}, **evaluator}})


def _free(path) -> bool:
    return runlock.holder(path) is None


def test_start_then_reopen_hold_the_lock_until_the_block_ends(tmp_path):
    cfg = _cfg()
    with session.start(tmp_path / "r", cfg) as opened:
        assert not opened.resumed and opened.cfg is cfg and opened.rundir.locked
        assert (tmp_path / "r" / "config.yaml").read_text() == config.dump(cfg)
        assert runlock.holder(tmp_path / "r") == os.getpid()
    assert _free(tmp_path / "r")
    with session.reopen(tmp_path / "r") as again:
        assert again.resumed and again.cfg == cfg
    assert _free(tmp_path / "r")


def test_open_run_resumes_a_folder_that_holds_a_run_with_its_own_config(tmp_path):
    with session.open_run(tmp_path / "r", _cfg()) as first:
        assert not first.resumed
    with session.open_run(tmp_path / "r", config.from_dict({"name": "other"})) as second:
        assert second.resumed and second.cfg.name == "t"
    with pytest.raises(RunDirError, match="already holds a run"):
        session.start(tmp_path / "r", _cfg())


def test_a_bad_config_in_a_run_directory_releases_the_lock(tmp_path):
    session.start(tmp_path / "r", _cfg()).rundir.close()
    (tmp_path / "r" / "config.yaml").write_text("search: {population: -1}\n")
    with pytest.raises(config.ConfigError, match="search.population"):
        session.reopen(tmp_path / "r")
    assert _free(tmp_path / "r")


def test_make_backend_checks_the_evaluator_settings_before_building():
    cfg = config.from_dict({"evaluator": {"tasks": {"quadratic": 1.0}, "overrides": {"quadratic": {"nope": 1}}}})
    with pytest.raises(config.ConfigError, match="evaluator.overrides.quadratic.nope"):
        session.make_backend(cfg)
