"""The replay's summary, typed (search/experiments/replay_summary.py, seed_result.py, json_record.py):
the committed summaries load and are written back byte for byte; bad input names the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from search.experiments import replay_summary
from search.experiments.replay_summary import ReplaySummary, SummaryError
from search.experiments.seed_result import Answer, SeedResult

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ["lion_rediscovery_v2", "lion_rediscovery_v3", "lion_rediscovery"]  # the last one: partial


@pytest.mark.parametrize("name", COMMITTED)
def test_committed_summaries_round_trip_byte_for_byte(name):
    path = ROOT / "results" / name / "summary.json"
    text = path.read_text(encoding="utf-8")
    s = replay_summary.load(path)
    # the replay writes no final newline; relocate (which moved v2 and v3) writes one
    assert text in (s.dumps(), s.dumps() + "\n")
    assert s.seeds and all(isinstance(d, SeedResult) and isinstance(d.answer, Answer) for d in s.seeds)
    assert s.seeds[0].statistics.evaluations == json.loads(text)["seeds"][0]["statistics"]["evaluations"]


def _write(tmp_path, doc) -> Path:
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(doc))
    return path


def test_a_bad_field_names_the_file_and_the_field(tmp_path):
    doc = json.loads((ROOT / "results" / "lion_rediscovery_v3" / "summary.json").read_text())
    doc["seeds"][1]["answer"]["fitness"] = "0.5"
    path = _write(tmp_path, doc)
    with pytest.raises(SummaryError) as err:
        replay_summary.load(path)
    assert str(err.value) == f"{path}: seeds[1].answer.fitness must be a number, got '0.5'"
    assert err.value.field == "seeds[1].answer.fitness"
    doc["seeds"][1]["answer"]["fitness"] = 0.5
    doc["seeds"][0]["timelin"] = {}
    with pytest.raises(SummaryError, match=r"seeds\[0\]\.timelin is not a field of SeedResult"):
        replay_summary.load(_write(tmp_path, doc))


@pytest.mark.parametrize("doc, says", [
    ([1, 2], "the top level must be a JSON object"),
    ({"seeds": [{"run_dir": "x"}]}, r"seeds\[0\]\.seed is missing"),
    ({"quick": "yes"}, "quick must be true or false"),
    ({"seeds": [{"seed": 0, "statistics": {"evaluations": 1.5}}]},
     r"seeds\[0\]\.statistics\.evaluations must be an integer"),
    ({"format": 2}, "written by a later optsearch"),
])
def test_bad_summaries_are_refused(tmp_path, doc, says):
    with pytest.raises(SummaryError, match=says):
        replay_summary.load(_write(tmp_path, doc))


def test_unreadable_text_says_what_was_read(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text("{")
    with pytest.raises(ValueError, match="cannot read the previous replay's summary"):
        replay_summary.load(path, "the previous replay's summary")


def test_keys_keep_the_order_they_were_set_in_as_the_dict_did():
    s = ReplaySummary.from_json({"seeds": [], "partial": True, "seconds_before": 1.0, "headline_seed": None})
    s.paper = None          # absent before: goes last
    s.seconds_before = 2.0  # present: keeps its place
    s.drop("partial")
    assert list(s.to_json()) == ["seeds", "seconds_before", "headline_seed", "paper"]
    assert s.has("headline_seed") and not s.has("partial") and s.partial is None
    assert s.to_json()["seconds_before"] == 2.0
    assert ReplaySummary.from_json({"seconds": 12}).dumps() == '{\n "seconds": 12\n}'  # an int stays one
