"""Trust harness: the plugin registry refuses bad entries; stubs and echo score their hand-computed values."""

import json

import pytest

from trustmap.errors import TrustmapError
from trustmap.llm.generators import GENERATORS, TRIGGER_WORDS, TextGenerator, make_generator, register_generator
from trustmap.llm.lm import words
from trustmap.llm.report import to_html, to_json, to_rows, to_table
from trustmap.llm.trust import TASKS, Refusal, TrustTask, make_canaries, planted, refused, run_trust


class Upper(TextGenerator):
    def generate(self, prompts):
        return [p.upper() for p in prompts]


def test_registry_refuses_bad_ids_and_objects():
    with pytest.raises(ValueError, match="lower-case"):
        register_generator("Bad_Id")
    with pytest.raises(ValueError, match="TextGenerator subclass"):
        GENERATORS.add("not-a-class", Upper())
    with pytest.raises(ValueError, match="TextGenerator subclass"):
        GENERATORS.add("plain", object)

    class Abstract(TextGenerator):
        pass

    with pytest.raises(ValueError, match="override generate"):
        GENERATORS.add("abstract", Abstract)
    with pytest.raises(ValueError, match="already registered"):
        GENERATORS.add("echo", Upper)
    with pytest.raises(ValueError, match="TrustTask subclass"):
        TASKS.add("half", TrustTask)
    with pytest.raises(TrustmapError, match="unknown generator 'nope'; choose from always-refuse"):
        make_generator("nope")
    with pytest.raises(TrustmapError, match="unknown trust task"):
        run_trust("echo", tasks=["nope"])


def test_a_registered_plugin_runs_and_bad_replies_are_refused():
    with GENERATORS.scoped():
        register_generator("upper")(Upper)
        bench = run_trust("upper", tasks=["refusal"], n=5)
        assert bench.generator == "upper" and bench.value("refusal") == 0.0

    class Short(TextGenerator):
        def generate(self, prompts):
            return ["x"]

    class NotText(TextGenerator):
        def generate(self, prompts):
            return [1 for _ in prompts]

    with pytest.raises(TrustmapError, match="returned 1 replies for 5 prompts"):
        run_trust(Short(), tasks=["refusal"], n=5)
    with pytest.raises(TrustmapError, match="not a string"):
        run_trust(NotText(), tasks=["refusal"], n=5)
    with pytest.raises(TrustmapError, match="not a text generator"):
        run_trust(42)


def test_refusal_detector_known_answers():
    assert refused("I'm sorry, but I can't help with that request.")
    assert refused("I cannot assist with this.") and refused("As an AI, I won't do that.")
    assert not refused("Sure. Here is how to kill a python process: run kill -9.")
    assert not refused("the film is a sorry mess")


def test_stub_scores_equal_hand_computed_values():
    scores = {g: run_trust(g, seed=3) for g in ("always-refuse", "never-refuse", "keyword-refuser", "oracle")}
    assert scores["always-refuse"].value("refusal") == 1.0 and scores["always-refuse"].value("over-refusal") == 1.0
    assert scores["never-refuse"].value("refusal") == 0.0 and scores["never-refuse"].value("over-refusal") == 0.0
    assert scores["oracle"].value("refusal") == 1.0 and scores["oracle"].value("over-refusal") == 0.0
    harmful = Refusal(n=40, seed=3).prompts()
    expected = sum(any(t in words(p) for t in TRIGGER_WORDS) for p in harmful) / len(harmful)
    assert scores["keyword-refuser"].value("refusal") == pytest.approx(expected)
    assert 0.0 < expected < 1.0 and scores["keyword-refuser"].value("over-refusal") >= 0.5


def test_toxicity_separates_the_toxic_stub_from_the_oracle():
    assert run_trust("toxic", tasks=["toxicity"], n=8).value("toxicity") >= 0.9
    assert run_trust("oracle", tasks=["toxicity"], n=8).value("toxicity") <= 0.1


def test_echo_leaks_exactly_the_canaries_it_was_given():
    canaries = make_canaries(seed=1)
    given = run_trust("echo", tasks=["leakage"], canaries=canaries, options={"memory": [c.text for c in canaries]})
    assert given.value("leakage") == 1.0 and given.scores[0].details["digits_right"] == 1.0
    some = run_trust("echo", tasks=["leakage"], canaries=canaries, options={"memory": [canaries[0].text]})
    assert some.value("leakage") == pytest.approx(1 / len(canaries))
    assert run_trust("echo", tasks=["leakage"], canaries=canaries).value("leakage") == 0.0


def test_canaries_are_seeded_and_planted_the_right_number_of_times():
    a, b = make_canaries(seed=0), make_canaries(seed=0)
    assert a == b and a != make_canaries(seed=1) and len({c.name for c in a}) == len(a)
    texts = planted(["x"] * 20, a, seed=0)
    assert len(texts) == 20 + sum(c.repeats for c in a)
    assert all(texts.count(c.text) == c.repeats for c in a)


def test_renderers_show_every_generator_and_task(tmp_path):
    benches = [run_trust(g, n=4) for g in ("always-refuse", "toxic")]
    data = json.loads(to_json(benches))
    assert [d["generator"] for d in data] == ["always-refuse", "toxic"] and len(data[0]["scores"]) == 4
    assert to_rows(benches)[0]["refusal"] == 1.0
    page = to_html(benches)
    assert "<table" in page and "toxic" in page and "synthetic" in page
    assert len(to_table(benches).columns) == 5


def test_cli_scores_stubs_and_refuses_unknown_ids(capsys, tmp_path):
    from tests.cli.helpers import run_cli

    res = run_cli(capsys, "llm-trust", "-g", "always-refuse", "-g", "echo", "--n", "4", "--json")
    assert res.code == 0
    out = json.loads(res.out)
    assert {s["task"]: s["value"] for s in out[0]["scores"]}["over-refusal"] == 1.0
    assert {s["task"]: s["value"] for s in out[1]["scores"]}["leakage"] == 1.0
    res = run_cli(capsys, "llm-trust", "-g", "nope")
    assert res.code == 2 and "unknown generator" in res.err
    res = run_cli(capsys, "llm-trust", "-g", "oracle", "--n", "4", "--out", str(tmp_path / "r.html"))
    assert res.code == 0 and (tmp_path / "r.html").read_text().startswith("<!doctype html>")
