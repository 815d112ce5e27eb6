"""Action records: the Modelreg-* trailer text a tag seals, parsed strictly; tag names."""

from __future__ import annotations

import re
import subprocess

import pytest

from modelreg.core.actions import (
    ActionFormatError,
    ActionRecord,
    TagName,
    format_weight,
    iso_utc,
    reason_problem,
)

DIGEST = "sha256:" + "ab" * 32
RECORD = ActionRecord(
    action="promote",
    model="summarizer",
    stage="production",
    seq=3,
    reason="Support leads asked for next steps first (TICKET-412)",
    actor="alice@example.com",
    previous_tag="modelreg/summarizer/production/2",
    version="1.1.0",
    digest=DIGEST,
    previous="1.0.0",
    evals={"regression": DIGEST, "smoke": "sha256:" + "cd" * 32},
)


def test_message_round_trips() -> None:
    text = RECORD.message()
    assert text.splitlines()[0] == "modelreg: promote summarizer@1.1.0 to production"
    assert ActionRecord.parse(text) == RECORD
    assert RECORD.tag_name("modelreg") == "modelreg/summarizer/production/3"


def test_git_reads_the_same_trailers() -> None:
    """The body is a real trailer block: `git interpret-trailers --parse` agrees."""
    out = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=RECORD.message(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.splitlines() == [f"{k}: {v}" for k, v in RECORD.trailers()]


def test_signature_block_is_not_part_of_the_record() -> None:
    signed = RECORD.message() + "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n"
    assert ActionRecord.parse(signed) == RECORD


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t: t.replace("Modelreg-Seq: 3", "Modelreg-Seq: 03"), "malformed seq"),
        (lambda t: t.replace("Modelreg-Seq: 3", "Modelreg-Seq: -1"), "malformed seq"),
        (lambda t: t + "Modelreg-Seq: 4\n", "appears twice"),
        (lambda t: t + "Modelreg-Extra: x\n", "unexpected line"),
        (lambda t: t.replace("Modelreg-Action: promote", "Modelreg-Action: deploy"), "action"),
        (lambda t: t.replace("Modelreg-Model: summarizer\n", ""), "missing Modelreg-Model"),
        (lambda t: t.replace("Modelreg-Version: 1.1.0", "Modelreg-Version: 1.1"), "version"),
        (lambda t: t.replace(DIGEST + "\n", "sha256:zz\n", 1), "digest"),
        (lambda t: t.replace("Modelreg-Reason: Support", "Modelreg-Reason:  Support"), "malformed"),
        (lambda t: t.split("\n\n", 1)[1], "no Modelreg-* trailer block"),
        (lambda t: t + "Modelreg-Eval: regression " + DIGEST + "\n", "once per suite"),
        (lambda t: t.replace("Modelreg-Model: summarizer", "Modelreg-Model: ../etc"), "model"),
    ],
)
def test_malformed_records_are_refused(change, problem: str) -> None:
    with pytest.raises(ActionFormatError, match=re.escape(problem)):
        ActionRecord.parse(change(RECORD.message()))


@pytest.mark.parametrize(
    ("text", "weight"), [("5", 5.0), ("12.5", 12.5), ("100", 100.0), ("0.25", 0.25)]
)
def test_weights(text: str, weight: float) -> None:
    canary = ActionRecord(
        "canary-start",
        "m",
        "production",
        1,
        "r",
        "a",
        version="1.0.0",
        digest=DIGEST,
        weight=weight,
    )
    assert f"Modelreg-Weight: {text}\n" in canary.message()
    assert ActionRecord.parse(canary.message()).weight == weight
    assert format_weight(weight) == text


@pytest.mark.parametrize("bad", ["0", "101", "1e2", "5.", "-5", "050"])
def test_bad_weights_are_refused(bad: str) -> None:
    text = RECORD.message().replace("Modelreg-Reason", f"Modelreg-Weight: {bad}\nModelreg-Reason")
    with pytest.raises(ActionFormatError):
        ActionRecord.parse(text)


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("modelreg/summarizer/production/3", ("summarizer", "production", 3)),
        ("modelreg/m/archived/1", ("m", "archived", 1)),
        ("modelreg/summarizer/production/03", None),
        ("modelreg/summarizer/production/0", None),
        ("other/summarizer/production/3", None),
        ("modelreg/Summarizer/production/3", None),
        ("modelreg/summarizer/production/3/x", None),
        ("modelreg/a..b/production/3", None),
    ],
)
def test_tag_names(name: str, parts) -> None:
    parsed = TagName.parse(name, "modelreg")
    assert (parsed and (parsed.model, parsed.stage, parsed.seq)) == (parts or None)


@pytest.mark.parametrize(
    ("reason", "ok"),
    [
        ("why", True),
        ("", False),
        ("   ", False),
        ("two\nlines", False),
        ("x" * 1001, False),
        ("tab\there", False),
        ("\u202eevil", False),
    ],
)
def test_reason_is_one_printable_line(reason: str, ok: bool) -> None:
    assert (reason_problem(reason) is None) == ok


def test_a_marker_inside_the_text_is_text() -> None:
    """Git takes the signature from the last line that starts a block; so does modelreg."""
    odd = ActionRecord(**{**RECORD.__dict__, "reason": "see -----BEGIN SSH SIGNATURE----- x"})
    signed = odd.message() + "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n"
    assert ActionRecord.parse(signed) == odd
    assert reason_problem(odd.reason) is not None  # and no action writes such a reason


@pytest.mark.parametrize(
    ("epoch", "text"),
    [
        (0, "1970-01-01T00:00:00Z"),
        (-5, "1970-01-01T00:00:00Z"),
        (99999999999999, "9999-12-31T23:59:59Z"),
        (1795639757, "2026-11-25T20:49:17Z"),
    ],
)
def test_iso_utc_never_fails(epoch: int, text: str) -> None:
    assert iso_utc(epoch) == text


def test_object_reader_answers_for_paths_with_spaces(tmp_path) -> None:
    from pathlib import Path

    from modelreg.vcs import Git

    repo = Path(tmp_path)
    (repo / "reg dir").mkdir()
    (repo / "reg dir" / "a b.yaml").write_text("x: 1\n")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "x"], cwd=repo, check=True)
    with Git(repo).objects() as reader:
        assert reader.blob("HEAD:reg dir/a b.yaml") == b"x: 1\n"
        assert reader.read("HEAD:reg dir/no such file.yaml") is None
        assert reader.blob("HEAD:reg dir/a b.yaml") == b"x: 1\n"  # still in step


def test_baseline_evidence_round_trips() -> None:
    with_base = ActionRecord(
        **{**RECORD.__dict__, "baseline": "1.0.0", "baseline_evals": {"regression": DIGEST}}
    )
    text = with_base.message()
    assert f"Modelreg-Baseline: 1.0.0\nModelreg-Baseline-Eval: regression {DIGEST}\n" in text
    assert ActionRecord.parse(text) == with_base
    orphan = text.replace("Modelreg-Baseline: 1.0.0\n", "")
    with pytest.raises(ActionFormatError, match="without Modelreg-Baseline"):
        ActionRecord.parse(orphan)
