"""Config schema: validation names the key path, overrides, shipped configs are valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from search import config
from search.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("data, path, words", [
    ({"search": {"populaton": 10}}, "search.populaton", "unknown key"),
    ({"bogus": 1}, "bogus", "unknown key"),
    ({"search": {"population": "ten"}}, "search.population", "expected an integer"),
    ({"search": {"population": 1}}, "search.population", ">= 2"),
    ({"search": {"population": 10, "tournament": 11}}, "search.tournament", "<= search.population"),
    ({"mutation": {"constant_prob": 1.5}}, "mutation.constant_prob", "<= 1"),
    ({"mutation": {"ops": ["add", "frobnicate"]}}, "mutation.ops[1]", "unknown op"),
    ({"backend": "slurm"}, "backend", "one of local, ray"),
    ({"ray": {"workers": 0}}, "ray.workers", ">= 1"),
    ({"ray": {"timeout_s": True}}, "ray.timeout_s", "expected a number"),
    ({"evaluator": {"tasks": {"mlp": -1}}}, "evaluator.tasks.mlp", ">= 0"),
    ({"evaluator": {"seeds": [0, "x"]}}, "evaluator.seeds[1]", "expected an integer"),
    ({"funnel": {"scales": ["x1000"]}}, "funnel.scales[0]", "x10"),
    ({"run": {"progress": "yes"}}, "run.progress", "true or false"),
    ({"search": 5}, "search", "expected a mapping"),
])
def test_errors_name_the_key_path(data, path, words):
    with pytest.raises(ConfigError) as err:
        config.from_dict(data)
    assert err.value.path == path
    assert str(err.value).startswith(path + ":")
    assert words in str(err.value)


def test_defaults_and_types():
    cfg = config.from_dict({"search": {"max_seconds": 5}})
    assert cfg.search.max_seconds == 5.0 and isinstance(cfg.search.max_seconds, float)
    assert cfg.backend == "local" and cfg.search.seeds == ["adamw"]
    assert config.from_dict(cfg.to_dict()) == cfg


def test_overrides_set_nested_values_parsed_as_yaml():
    data = config.apply_overrides({"search": {"population": 10}}, [
        "search.population=50", "ray.address=auto", "evaluator.tasks={mlp: 2, vit: 1}", "run.progress=false",
        "search.max_seconds=null"])
    cfg = config.from_dict(data)
    assert cfg.search.population == 50 and cfg.ray.address == "auto"
    assert cfg.evaluator.tasks == {"mlp": 2.0, "vit": 1.0} and cfg.run.progress is False
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        config.apply_overrides({}, ["search.population"])
    with pytest.raises(ConfigError) as err:
        config.from_dict(config.apply_overrides({}, ["search.popul=3"]))
    assert err.value.path == "search.popul"


def test_resolved_config_round_trips_through_yaml():
    cfg = config.from_dict({"name": "x", "seed": 7, "search": {"population": 20, "tournament": 4}})
    again = config.from_dict(__import__("yaml").safe_load(config.dump(cfg)))
    assert again == cfg


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_are_valid(path):
    cfg = config.load(path)
    assert cfg.name


def test_embedded_default_is_valid_and_shipped():
    cfg = config.load(None)
    assert cfg.backend == "local"
    shipped = {p.name for p in (ROOT / "configs").glob("*.yaml")}
    assert {"quick.yaml", "lion_rediscovery.yaml", "ray_cluster.yaml"} <= shipped
    assert config.load(ROOT / "configs" / "ray_cluster.yaml").backend == "ray"


def test_docs_list_every_schema_key():
    doc = (ROOT / "docs" / "search.md").read_text()
    for key, *_ in config.schema_rows():
        assert f"`{key}`" in doc, key


def test_bad_yaml_file_is_reported(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("search: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(p)
    p.write_text("- 1\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        config.load(p)


def test_evaluator_options_are_typed_keys_apart_from_task_settings(tmp_path):
    cfg = config.from_dict({"evaluator": {"batching": "runs", "batch_size": 8, "overrides": {"steps": 40}}})
    from search.backends.base import EvaluatorSpec

    kwargs = EvaluatorSpec.from_section(cfg.evaluator).kwargs
    assert kwargs["batching"] == "runs" and kwargs["batch_size"] == 8 and kwargs["steps"] == 40
    with pytest.raises(ConfigError, match="evaluator.batching: expected one of auto, single"):
        config.from_dict({"evaluator": {"batching": "fast"}})
    with pytest.raises(ConfigError, match="evaluator.overrides.batching: an evaluator option, not a task setting: "
                                          "write it as evaluator.batching"):
        config.from_dict({"evaluator": {"overrides": {"batching": "runs"}}})
    # a run directory written before the options were typed still loads
    old = tmp_path / "config.yaml"
    old.write_text("evaluator:\n  overrides: {steps: 40, batching: single, hurdle_fraction: 0.5}\n")
    cfg = config.load_run_config(old)
    assert cfg.evaluator.batching == "single" and cfg.evaluator.hurdle_fraction == 0.5
    assert cfg.evaluator.overrides == {"steps": 40}


def test_funnel_scales_and_backends_come_from_their_registries():
    from proxy_tasks.registry import SCALES
    from search.backends import BACKENDS

    with pytest.raises(ConfigError, match=r"funnel.scales\[1\]: expected one of the task registry's scales "
                                          f"\\({', '.join(SCALES)}\\), got 'x1000'"):
        config.from_dict({"funnel": {"scales": ["x10", "x1000"]}})
    with pytest.raises(ConfigError, match="backend: expected one of " + ", ".join(BACKENDS)):
        config.from_dict({"backend": "slurm"})
