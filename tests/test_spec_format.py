"""The spec-format reference (docs/spec-format.md) is generated and fresh; `tcpfsm spec vocabulary` lists the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tcpfsm.base import _resources
from tcpfsm.cli import main
from tcpfsm.spec import VOCABULARY, load_spec, terms
from tcpfsm.spec._format_doc import EXAMPLE_PROFILE, REGENERATE, spec_format_markdown
from tcpfsm.spec._vocabulary import FLAGS, KINDS

from .conftest import ROOT

DOC = ROOT / "docs" / "spec-format.md"


def test_the_committed_reference_is_fresh() -> None:
    fresh = spec_format_markdown()
    committed = DOC.read_text(encoding="utf-8") if DOC.is_file() else ""
    assert committed == fresh, f"docs/spec-format.md is stale; regenerate it with:\n  {REGENERATE}"


def test_the_reference_names_every_term_and_every_key() -> None:
    doc = spec_format_markdown()
    for term in terms():
        assert f"| `{term.name}` |" in doc, (term.kind, term.name)
    schema = json.loads(_resources.schema_path("spec.schema.json").read_text())
    for key in schema["properties"]:
        assert f"| `{key}` |" in doc, key
    for field in schema["$defs"]["transitionFields"]["properties"]:
        assert f"| `{field}` |" in doc, field
    for word in ("`base:`", "`remove:`", "`replace:`", "`add:`", "`patch:`", "`sets:`", "rebinds a guard"):
        assert word in doc, word


def test_the_schema_and_the_vocabulary_agree() -> None:
    schema = json.loads(_resources.schema_path("spec.schema.json").read_text())
    kinds = schema["$defs"]["action"]["oneOf"][1]["properties"]
    assert list(kinds) == list(VOCABULARY["action"])
    from tcpfsm.base import Flags

    assert set(FLAGS) == set(Flags.__members__)


def test_the_references_example_profile_validates_from_anywhere(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mine" / "mine.yaml"
    path.parent.mkdir()
    path.write_text(EXAMPLE_PROFILE)
    monkeypatch.chdir(tmp_path)
    spec = load_spec(path)
    assert spec.profile == "mine"
    assert spec.transition("S17").sources == ("CLOSING", "LAST-ACK")
    assert spec.guard("rst_valid").predicate == "seq_exact"  # from its base, rfc5961
    assert [Path(f).name for f in spec.files] == ["tcp.yaml", "rfc9293.yaml", "rfc5961.yaml", "mine.yaml"]


# ------------------------------------------------------------------ tcpfsm spec vocabulary
def test_vocabulary_lists_every_kind_and_term(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "vocabulary"]) == 0
    out = capsys.readouterr().out
    for kind, doc in KINDS.items():
        assert f"{kind}: {doc}" in out
    for term in terms():
        assert term.name in out
    # each with its RFC section
    assert "§3.10.7.4" in out and "RFC 5961 §3" in out


def test_vocabulary_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "vocabulary", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == list(VOCABULARY)
    for kind, table in VOCABULARY.items():
        assert data[kind]["doc"] == KINDS[kind]
        assert data[kind]["terms"] == [{"name": t.name, "rfc": t.rfc, "doc": t.doc} for t in table.values()]


def test_vocabulary_kind_filter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "vocabulary", "--kind", "seq", "--kind", "ack", "--json"]) == 0
    assert list(json.loads(capsys.readouterr().out)) == ["seq", "ack"]
    assert main(["spec", "vocabulary", "--kind", "effect"]) == 0
    out = capsys.readouterr().out
    assert "delete_tcb" in out and "ack_acceptable" not in out


def test_vocabulary_markdown_is_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "vocabulary", "--markdown"]) == 0
    assert capsys.readouterr().out == spec_format_markdown()


def test_vocabulary_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "vocabulary", "--json", "--markdown"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["spec", "vocabulary", "--kind", "nope"]) == 2


def test_vocabulary_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "vocabulary", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Examples:" in out and "tcpfsm spec vocabulary --markdown > docs/spec-format.md" in out
    assert main(["spec", "--help"]) == 0
    assert "vocabulary" in capsys.readouterr().out
