"""Bad configs are short clear errors (issue #20): finite numbers within bounds, bounded YAML,
checks against the task registry and the seed programs, never a traceback or a huge message."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import config
from search.cli import main
from search.config import ConfigError

TOY = "proxy_tasks.toy:ToyEvaluator"
MESSAGE_MAX = config.MESSAGE_CHARS


@pytest.mark.parametrize("data, path, words", [
    ({"search": {"max_seconds": math.nan}}, "search.max_seconds", "finite"),
    ({"search": {"max_seconds": math.inf}}, "search.max_seconds", "finite"),
    ({"search": {"max_seconds": 10**400}}, "search.max_seconds", "finite"),
    ({"run": {"checkpoint_every_s": math.nan}}, "run.checkpoint_every_s", "finite"),
    ({"evaluator": {"tasks": {"mlp": math.nan}}}, "evaluator.tasks.mlp", "finite"),
    ({"evaluator": {"tasks": {"mlp": 0.0}}}, "evaluator.tasks", "weight must be > 0"),
    ({"evaluator": {"tasks": {"nope": 1.0}}}, "evaluator.tasks.nope", "unknown task"),
    ({"mutation": {"insert": math.nan}}, "mutation.insert", "finite"),
    ({"mutation": {"insert": math.inf}}, "mutation.insert", "finite"),
    ({"mutation": {"insert": 1e300}}, "mutation.insert", "<="),
    ({"search": {"population": 1_000_000_000_000}}, "search.population", "<= 1000000"),
    ({"search": {"population": 10**9, "tournament": 10**9}}, "search.population", "<="),
    ({"evaluator": {"seeds": [99999999999999999999999]}}, "evaluator.seeds[0]", "<= 2147483647"),
    ({"evaluator": {"seeds": [-1]}}, "evaluator.seeds[0]", ">= 0"),
    ({"evaluator": {"seeds": []}}, "evaluator.seeds", "at least one"),
    ({"evaluator": {"seeds": list(range(2000))}}, "evaluator.seeds", "at most 1000"),
    ({"evaluator": {"lr_grid": [math.nan]}}, "evaluator.lr_grid[0]", "finite"),
    ({"race": {"seeds": [2**40]}}, "race.seeds[0]", "<="),
    ({"evaluator": {"seeds": [2**31 - 1]}}, "race.max_seeds", "race.seeds"),
    ({"seed": 2**70}, "seed", "<="),
    ({"mutation": {"max_length": 10**9}}, "mutation.max_length", "<= 10000"),
    ({"ray": {"timeout_s": math.inf}}, "ray.timeout_s", "finite"),
    ({"search": {"hurdle_ceiling": math.nan}}, "search.hurdle_ceiling", "finite"),
    ({"name": "a\0b"}, "name", "NUL"),
    ({"name": "a\nb"}, "name", "plain name"),
    ({"name": "x" * 200}, "name", "plain name"),
    ({"search": {"seeds": ["adamw\0"]}}, "search.seeds[0]", "NUL"),
    ({"run": {"out": "x" * 5000}}, "run.out", "longer than 4096"),
    ({"evaluator": {"overrides": {"steps": -5}}}, "evaluator.overrides.steps", ">= 1"),
    ({"evaluator": {"overrides": {"mlp": {"steps": 0}}}}, "evaluator.overrides.mlp.steps", ">= 1"),
    ({"evaluator": {"overrides": {"lr_peak": math.nan}}}, "evaluator.overrides.lr_peak", "finite"),
    ({"evaluator": {"overrides": {"schedule": "zigzag"}}}, "evaluator.overrides.schedule", "one of"),
    ({"evaluator": {"overrides": {"mlp": 3}}}, "evaluator.overrides.mlp", "a mapping"),
    ({"evaluator": {"factory": TOY, "overrides": {"x": math.inf}}}, "evaluator.overrides.x", "finite"),
    ({"evaluator": {"factory": TOY, "overrides": {"x": {1: 2}}}}, "evaluator.overrides.x", "keys must be strings"),
    ({"evaluator": {"factory": TOY, "overrides": {"x": {"a", "b"}}}}, "evaluator.overrides.x", "got set"),
    ({"evaluator": {"factory": "../evil.py:x"}}, "evaluator.factory", "module:callable"),
    ({"evaluator": {"factory": "os:"}}, "evaluator.factory", "module:callable"),
])
def test_bad_values_name_the_key_path(data, path, words):
    with pytest.raises(ConfigError) as err:
        config.from_dict(data)
    assert err.value.path == path, str(err.value)
    assert words in str(err.value)


def test_every_number_has_an_upper_bound():
    """An integer without one could allocate until the machine runs out of memory."""
    for key, tname, _default, doc in config.schema_rows():
        if tname.startswith("int") or tname.startswith("list[int]") or tname.startswith("dict[str, float]"):
            assert "<=" in doc, key


def test_docs_schema_table_is_schema_rows():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "search.md").read_text()
    for key, tname, default, meaning in config.schema_rows():
        assert f"| `{key}` | {tname} | `{default}` | {meaning} |" in doc, key


def test_messages_quote_at_most_a_short_value():
    with pytest.raises(ConfigError) as err:
        config.from_dict({"search": {"restart_from": "x" * 100_000}})
    assert len(str(err.value)) < 400
    with pytest.raises(ConfigError) as err:
        config.from_dict({"seed": [[[[[[list(range(10_000))]]]]]]})
    assert len(str(err.value)) < 400
    with pytest.raises(ConfigError) as err:
        config.from_dict({"seed": 10**10_000})  # repr would raise (over 4300 digits)
    assert "digits" in str(err.value) and len(str(err.value)) < 400
    with pytest.raises(ConfigError) as err:
        config.from_dict({"k" * 100_000: 1})
    assert len(str(err.value)) < 600


# --- YAML files --------------------------------------------------------------------------------

def _read(tmp_path, text: str | bytes) -> ConfigError:
    p = tmp_path / "c.yaml"
    (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    with pytest.raises(ConfigError) as err:
        config.load(p)
    assert len(str(err.value)) <= MESSAGE_MAX
    assert str(p) not in str(err.value)  # the caller names the file, once
    return err.value


def test_billion_laughs_is_refused_quickly(tmp_path):
    text = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)) + "name: *a9\n"
    assert len(text) < 1000
    t0 = time.perf_counter()
    err = _read(tmp_path, text)
    assert "aliases expanded" in str(err) and time.perf_counter() - t0 < 2


@pytest.mark.parametrize("text, words", [
    ("name: " + "[" * 3000 + "]" * 3000 + "\n", "nested deeper"),
    ("".join(" " * i + "a:\n" for i in range(500)) + " " * 500 + "a: 1\n", "nested deeper"),
    ("a: &a [*a]\nname: *a\n", "recursive alias"),
    ("evaluator: {overrides: {steps: [" + ",".join(["1"] * 50_000) + "]}}\n", "more than 10000 values"),
    ("seed: " + "9" * 5000 + "\n", "4300 digits"),
    ("", "empty config file"),
    ("# nothing\n", "empty config file"),
    ("- 1\n", "top level must be a mapping"),
    ("name: a\n---\nname: b\n", "not valid YAML"),
    ("name: !!python/object/apply:os.system [echo]\n", "not valid YAML"),
    ("name: x\n" + "#" * (2 << 20) + "\n", "larger than 1024 KiB"),
])
def test_bad_yaml_files_are_config_errors(tmp_path, text, words):
    assert words in str(_read(tmp_path, text))


def test_invalid_utf8_and_unreadable_files(tmp_path):
    assert "not UTF-8" in str(_read(tmp_path, b"name: \xff\xfe\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        config.load(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="cannot read"):
        config.load(tmp_path)  # a directory


def test_aliases_within_bounds_still_load(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("evaluator: {seeds: &s [0, 1]}\nrace: {seeds: *s}\n")
    cfg = config.load(p)
    assert cfg.race.seeds == [0, 1] and cfg.evaluator.seeds == [0, 1]


def test_override_values_are_bounded_too():
    with pytest.raises(ConfigError, match="search.population: must be a finite|search.population: expected an int"):
        config.from_dict(config.apply_overrides({}, ["search.population=.nan"]))
    with pytest.raises(ConfigError, match="nested deeper"):
        config.apply_overrides({}, ["name=" + "[" * 100 + "]" * 100])


# --- checks with the registry and the seed programs ---------------------------------------------

def test_evaluator_overrides_are_checked_against_the_task_registry():
    def check(overrides, **evaluator):
        config.check_evaluator(config.from_dict({"evaluator": {"overrides": overrides, **evaluator}}))

    check({"steps": 40, "mlp": {"hidden": 8}})  # valid
    for overrides, path in [({"frobnicate": 3}, "evaluator.overrides.frobnicate"),
                            ({"mlp": {"hidden": 0}}, "evaluator.overrides.mlp.hidden"),
                            ({"mlp": {"frobnicate": 1}}, "evaluator.overrides.mlp.frobnicate"),
                            ({"mlp": {"label_noise": "loud"}}, "evaluator.overrides.mlp.label_noise"),
                            ({"steps": 15}, "evaluator.overrides.steps")]:
        with pytest.raises(ConfigError) as err:
            check(overrides)
        assert err.value.path == path, str(err.value)
    check({"frobnicate": 3}, factory=TOY)  # a factory's evaluator checks its own arguments


def test_seed_programs_are_checked_against_the_mutation_section():
    from dsl import library

    adamw = library.get("adamw")
    config.check_seeds(config.from_dict({}), [adamw])
    with pytest.raises(ConfigError, match=r"mutation.max_length: is 1, but the seed program search.seeds\[0\]"):
        config.check_seeds(config.from_dict({"mutation": {"max_length": 1}}), [adamw])
    only_split = {"insert": 0, "delete": 0, "modify": 0, "split": 1.0}
    sgd = library.get("sgd")  # no value is read twice: split has no valid draw
    with pytest.raises(ConfigError, match="mutation: no valid child of search.seeds"):
        config.check_seeds(config.from_dict({"mutation": {**only_split, "max_redraws": 5}}), [sgd])


# --- the CLI: exit 2, one short line, the file named once ---------------------------------------

def _run(tmp_path, capsys, text: str, *extra: str) -> str:
    p = tmp_path / "c.yaml"
    p.write_text(text)
    assert main(["run", str(p), "--out", str(tmp_path / "run"), "--no-progress", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("optsearch: error: ") and err.count(str(p)) == 1, err
    assert "Traceback" not in err and len(err) < 800
    assert not (tmp_path / "run").exists()
    return err


@pytest.mark.parametrize("text, words", [
    ("search: {max_seconds: .nan}\n", "search.max_seconds: must be a finite number"),
    ("evaluator: {tasks: {mlp: .nan}}\n", "evaluator.tasks.mlp: must be a finite number"),
    ("mutation: {insert: .nan}\n", "mutation.insert: must be a finite number"),
    ("mutation: {max_length: 1}\n", "mutation.max_length: is 1"),
    ("search: {population: 1000000000000}\n", "search.population: must be <="),
    ("evaluator: {seeds: [99999999999999999999999]}\n", "evaluator.seeds[0]: must be <="),
    ('name: "a\\0b"\n', "name: must not contain a NUL"),
    ("", "empty config file"),
    ("search: [1, 2\n", "not valid YAML (line 2"),
    ("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     "name: *d\n", "aliases expanded"),
    ("evaluator: {overrides: {steps: -5}}\n", "evaluator.overrides.steps: must be >= 1"),
    ("evaluator: {tasks: {nope: 1}}\n", "evaluator.tasks.nope: unknown task"),
])
def test_cli_reports_bad_configs_in_one_line(tmp_path, capsys, text, words):
    assert words in _run(tmp_path, capsys, text)


def test_cli_names_the_evaluator_key_when_the_factory_fails(tmp_path, capsys):
    err = _run(tmp_path, capsys, "evaluator: {factory: 'no_such_module_xyz:Make'}\n")
    assert "evaluator.factory (no_such_module_xyz:Make): cannot build the evaluator: ModuleNotFoundError" in err


def test_cli_registry_errors_name_the_key_path(tmp_path, capsys):
    err = _run(tmp_path, capsys, "evaluator: {tasks: {mlp: 1}, overrides: {mlp: {hidden: 0}}}\n")
    assert "evaluator.overrides.mlp.hidden: must be >= 1" in err


def test_factory_imports_a_module_so_configs_are_trusted_like_code():
    """The documented contract: ``evaluator.factory`` accepts any importable 'module:callable';
    the schema says a config that sets it must be trusted like code."""
    doc = {row[0]: row[3] for row in config.schema_rows()}["evaluator.factory"]
    assert "trusted like code" in doc
    assert config.from_dict({"evaluator": {"factory": TOY}}).evaluator.factory == TOY


# --- fuzz --------------------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["\0", "adamw", "x" * 300, "mlp", "steps", "proxy", "x10", ".", "a/b"]))
_keys = st.one_of(st.sampled_from([row[0].split(".")[-1] for row in config.schema_rows()]
                                  + ["search", "mutation", "evaluator", "race", "funnel", "ray", "run", "overrides",
                                     "tasks", "mlp", "steps"]), st.text(max_size=8), st.integers())
_trees = st.recursive(_scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                       st.dictionaries(_keys, kids, max_size=5)), max_leaves=30)
_sections = st.dictionaries(st.sampled_from(["name", "seed", "backend", "programs_per_call", "search", "mutation",
                                             "evaluator", "race", "funnel", "ray", "run"]), _trees, max_size=6)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(_trees, _sections))
def test_fuzz_from_dict_gives_a_config_or_a_short_config_error(data):
    t0 = time.perf_counter()
    try:
        cfg = config.from_dict(data)
    except ConfigError as exc:
        assert len(str(exc)) <= MESSAGE_MAX
    else:
        assert isinstance(cfg, config.Config)
        assert config.from_dict(__import__("yaml").safe_load(config.dump(cfg))) == cfg
    assert time.perf_counter() - t0 < 1.0


_yaml_bits = st.sampled_from([
    "a", "- ", ": ", "[", "]", "{", "}", ",", "&x ", "*x", "\n", "  ", ".nan", ".inf", "-.inf", "9" * 40, "\"\\0\"",
    "name", "search", "evaluator", "overrides", "steps", "!!set ", "!!binary ", "<<: ", "'", "\"", "#", "---\n", "?"])


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(_yaml_bits, max_size=60), nest=st.integers(min_value=0, max_value=200))
def test_fuzz_yaml_text_gives_a_config_or_a_short_config_error(tmp_path_factory, parts, nest):
    text = "[" * nest + "".join(parts) + "]" * nest
    p = tmp_path_factory.getbasetemp() / "fuzz.yaml"
    p.write_text(text)
    t0 = time.perf_counter()
    try:
        cfg = config.load(p)
    except ConfigError as exc:
        assert len(str(exc)) <= MESSAGE_MAX
    else:
        assert isinstance(cfg, config.Config)
    assert time.perf_counter() - t0 < 1.0


def test_cli_reports_a_mutation_dead_end_during_the_search(tmp_path, capsys):
    """Only growing mutations: once a parent reaches max_length it has no valid child; the
    search stops with one clear line (exit 2), not a MutationFailed traceback."""
    p = tmp_path / "c.yaml"
    p.write_text("search: {population: 4, tournament: 2, max_evaluations: 200}\n"
                 "mutation: {insert: 1, delete: 0, modify: 0, max_length: 10, max_redraws: 5}\n"
                 f"evaluator: {{factory: '{TOY}', tasks: {{toy: 1.0}}, overrides: {{steps: 5, dim: 4}}}}\n"
                 "funnel: {final: false}\nprograms_per_call: 1\n")
    assert main(["run", str(p), "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "optsearch: error: the search stopped: no valid child after 5 draws (mutation.max_length 10)" in err
    assert "Traceback" not in err and len(err) < 2000


# --- sizes: refused before anything is built (issue #29) -----------------------------------------

def _refused(data: dict, limit: int | None, monkeypatch) -> ConfigError:
    from proxy_tasks import sizes
    if limit is not None:
        monkeypatch.setattr(sizes, "available_bytes", lambda: limit)
    with pytest.raises(ConfigError) as info:
        config.check_evaluator(config.from_dict(data))
    assert len(str(info.value)) <= MESSAGE_MAX
    return info.value


def test_a_task_size_past_its_hard_cap_is_refused_naming_the_key(monkeypatch):
    err = _refused({"evaluator": {"tasks": {"mlp": 1.0}, "overrides": {"mlp": {"hidden": 10**8}}}}, None, monkeypatch)
    assert err.path == "evaluator.overrides.mlp.hidden" and "512,000" in str(err) and "100000000" in str(err)


def test_a_task_too_large_for_memory_is_refused_with_its_estimate_and_the_limit(monkeypatch):
    data = {"evaluator": {"tasks": {"mlp": 1.0}, "overrides": {"mlp": {"hidden": 100_000}}}}
    err = _refused(data, 10**9, monkeypatch)
    assert err.path == "evaluator.overrides.mlp.hidden"
    assert "task mlp at scale proxy needs about" in str(err) and "1.0 GB of memory available" in str(err)
    shared = _refused({"evaluator": {"tasks": {"mlp": 1.0}, "overrides": {"hidden": 100_000}}}, 10**9, monkeypatch)
    assert shared.path == "evaluator.overrides.hidden"


def test_the_runs_product_is_refused_naming_its_largest_factor(monkeypatch):
    data = {"evaluator": {"tasks": {"char_lm": 1.0}, "lr_grid": [0.5 + i / 10 for i in range(16)],
                          "batch_size": 4096}, "funnel": {"scales": []}}
    assert _refused(data, 2 * 10**8, monkeypatch).path == "evaluator.lr_grid"


def test_a_population_too_large_for_memory_is_refused(monkeypatch):
    err = _refused({"search": {"population": 100_000}}, 10**9, monkeypatch)
    assert err.path == "search.population" and "memory available" in str(err)


def test_the_default_and_demo_sizes_fit():
    config.check_evaluator(config.load(None, []))
    config.check_evaluator(config.from_dict({"funnel": {"scales": ["x10", "x100"]}}))
