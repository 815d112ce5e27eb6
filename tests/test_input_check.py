"""Hostile input through `modelreg check` (THREATS scenarios 32-47): findings, never crashes.

Every problem is exactly one line `error: <file>:<line>: <message> [<rule>]` on
stdout (or one entry in `--json`), exit 1, nothing on stderr, never a traceback.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLE, write

V12 = "models/summarizer/1.2.0.yaml"
EVAL = "evals/summarizer/1.1.0/regression.yaml"
POLICY = "modelreg.yaml"

SUMMARIZER_11 = (EXAMPLE / "models/summarizer/1.1.0.yaml").read_text()
SUMMARIZER_10 = (EXAMPLE / "models/summarizer/1.0.0.yaml").read_text()
REGRESSION = (EXAMPLE / EVAL).read_text()
POLICY_TEXT = (EXAMPLE / POLICY).read_text()

# summarizer@1.2.0, a valid new version; its lines:
#  1 schema  2 name  3 version  4 kind  5 parent  6 model:  7 provider  8 id  9 params:
# 10 temperature  11 max_tokens  12 system_prompt: |  13 (prompt text)  14 changes:
# 15 summary  16 reason  17 created  18 author
GOOD_12 = SUMMARIZER_11.replace("version: 1.1.0", "version: 1.2.0").replace(
    "parent: 1.0.0", "parent: 1.1.0"
)
assert GOOD_12.count("\n") == 18


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def billion_laughs() -> str:
    lines = ['lol: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in itertools.pairwise("abcdefghi"):
        lines.append(f"x{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@dataclass
class Case:
    """Files to write into the example registry and the findings `check` must report for them."""

    files: dict[str, str | bytes]
    expected: list[tuple[str, int, str, str]]  # (file, line or 0, rule, message fragment)
    paths: list[str] = field(default_factory=list)  # what pre-commit would pass; default: the files

    def check_paths(self) -> list[str]:
        return self.paths or list(self.files)


CASES: dict[str, Case] = {
    # 32
    "duplicate-key": Case(
        {V12: edit(GOOD_12, "kind: prompt-config\n", "kind: prompt-config\nkind: fine-tuned\n")},
        [(V12, 5, "yaml", "duplicate key 'kind' (first on line 4)")],
    ),
    # 34
    "merge-key": Case(
        {V12: edit(GOOD_12, "  max_tokens: 256\n", "  max_tokens: 256\n  <<: {seed: 1}\n")},
        [(V12, 12, "yaml", "merge key << is not allowed (column 3)")],
    ),
    # 35
    "over-size-cap": Case(
        {V12: GOOD_12 + "# " + "x" * (1024 * 1024) + "\n"},
        [(V12, 1, "yaml", "over the 1048576-byte limit")],
    ),
    # 36
    "python-tag": Case(
        {V12: GOOD_12 + 'hook: !!python/object/apply:os.system ["touch MARKER"]\n'},
        [
            (
                V12,
                19,
                "yaml",
                "explicit tag !!python/object/apply:os.system is not allowed (column 7)",
            )
        ],
    ),
    # 37, 38
    "custom-tag": Case(
        {V12: edit(GOOD_12, "kind: prompt-config", "kind: !Foo prompt-config")},
        [(V12, 4, "yaml", "explicit tag !Foo is not allowed (column 7)")],
    ),
    "yaml-directive": Case(
        {V12: "%YAML 1.1\n---\n" + GOOD_12},
        [(V12, 1, "yaml", "%YAML directive is not allowed")],
    ),
    # 39
    "invalid-utf8": Case(
        {
            V12: edit(GOOD_12, "Summarize in", "Summ\udcffarize in").encode(
                "utf-8", "surrogateescape"
            )
        },
        [(V12, 13, "yaml", "invalid UTF-8 byte 0xff (column 7)")],
    ),
    # 40
    "tab-indent": Case(
        {V12: edit(GOOD_12, "  temperature: 0.2", "\ttemperature: 0.2")},
        [(V12, 10, "yaml", "found character '\\t' that cannot start any token")],
    ),
    "tab-after-spaces": Case(
        {V12: edit(GOOD_12, "  max_tokens: 256", "  \tmax_tokens: 256")},
        [
            (
                V12,
                11,
                "yaml",
                "found character '\\t' that cannot start any token; indent with spaces (column 3)",
            )
        ],
    ),
    # 41
    "nan-metric": Case(
        {EVAL: edit(REGRESSION, "accuracy: 0.91", "accuracy: .nan")},
        [(EVAL, 8, "yaml", "non-finite number .nan is not allowed (column 21)")],
    ),
    "infinite-metric": Case(
        {EVAL: edit(REGRESSION, "latency_p95_ms: 840", "latency_p95_ms: -.inf")},
        [(EVAL, 8, "yaml", "non-finite number -.inf is not allowed (column 63)")],
    ),
    "overflowing-metric": Case(
        {EVAL: edit(REGRESSION, "faithfulness: 0.88", "faithfulness: 1e999")},
        [(EVAL, 8, "yaml", "number 1e999 overflows to infinity (column 41)")],
    ),
    # 42: a bare 1.10 is a float; the advice is to quote it
    "version-float": Case(
        {V12: edit(GOOD_12, "version: 1.2.0", "version: 1.10")},
        [(V12, 3, "schema", "quote it")],
    ),
    "non-string-key": Case(
        {V12: edit(GOOD_12, "  max_tokens: 256\n", "  max_tokens: 256\n  1: one\n")},
        [(V12, 12, "yaml", "mapping key '1' is not a string; quote it (column 3)")],
    ),
    # 43
    "empty-file": Case({V12: ""}, [(V12, 1, "yaml", "empty file: expected one YAML document")]),
    "two-documents": Case(
        {V12: GOOD_12 + "---\nname: other\n"},
        [(V12, 19, "yaml", "several YAML documents in one file")],
    ),
    # 44: control characters and bidirectional overrides in a model name
    "escaped-control-in-name": Case(
        {
            "models/bad/1.0.0.yaml": edit(
                SUMMARIZER_10, "name: summarizer", 'name: "bad\\u0001name"'
            )
        },
        [("models/bad/1.0.0.yaml", 2, "schema", "does not match")],
    ),
    "raw-control-in-name": Case(
        {"models/bad/1.0.0.yaml": edit(SUMMARIZER_10, "name: summarizer", "name: bad\x01name")},
        [("models/bad/1.0.0.yaml", 2, "yaml", "not allowed (column 10)")],
    ),
    "bidi-override-in-name": Case(
        {"models/bad/1.0.0.yaml": edit(SUMMARIZER_10, "name: summarizer", "name: bad\u202ename")},
        [
            (
                "models/bad/1.0.0.yaml",
                2,
                "yaml",
                "a bidirectional control character (U+202E) is not allowed (column 10)",
            )
        ],
    ),
    # 45: case collision, and an upper-case name
    "case-collision": Case(
        {
            "models/M1/1.0.0.yaml": edit(SUMMARIZER_10, "name: summarizer", "name: M1"),
            "models/m1/1.0.0.yaml": edit(SUMMARIZER_10, "name: summarizer", "name: m1"),
        },
        [
            ("models/M1/1.0.0.yaml", 0, "naming", "invalid model name 'M1'"),
            ("models/M1/1.0.0.yaml", 2, "schema", 'name: "M1" does not match'),
            ("models/m1", 0, "naming", "model folder 'm1' differs from 'M1' only in case"),
        ],
    ),
    # 46: reference fields that escape the registry
    "signers-path-escape": Case(
        {
            POLICY: edit(
                POLICY_TEXT,
                "allowed_signers: .modelreg/allowed_signers",
                "allowed_signers: ../../etc/passwd",
            )
        },
        [
            (
                POLICY,
                6,
                "path-escape",
                "signing.allowed_signers: '../../etc/passwd' must be a relative path inside the registry",
            )
        ],
    ),
    "absolute-paths": Case(
        {
            POLICY: edit(
                edit(
                    POLICY_TEXT,
                    "allowed_signers: .modelreg/allowed_signers",
                    "allowed_signers: /etc/passwd",
                ),
                "revocation_file: .modelreg/revoked_keys",
                "revocation_file: /tmp/revoked_keys",
            )
        },
        [
            (
                POLICY,
                6,
                "path-escape",
                "signing.allowed_signers: '/etc/passwd' must be a relative path inside the registry",
            ),
            (
                POLICY,
                7,
                "path-escape",
                "signing.revocation_file: '/tmp/revoked_keys' must be a relative path",
            ),
        ],
    ),
    "escape-through-a-folder": Case(
        {
            POLICY: edit(
                POLICY_TEXT,
                "revocation_file: .modelreg/revoked_keys",
                "revocation_file: .modelreg/../../revoked",
            )
        },
        [
            (
                POLICY,
                7,
                "path-escape",
                "signing.revocation_file: '.modelreg/../../revoked' must be a relative path",
            )
        ],
    ),
    # endless data
    "huge-integer": Case(
        {V12: edit(GOOD_12, "max_tokens: 256", "max_tokens: " + "9" * 5000)},
        [(V12, 11, "yaml", "is too large (column 15)")],
    ),
    "integer-beyond-2^53": Case(
        {V12: edit(GOOD_12, "max_tokens: 256", "max_tokens: 9007199254740993")},
        [
            (
                V12,
                11,
                "yaml",
                "integer 9007199254740993 is beyond 2^53-1 and has no exact JSON form; quote it",
            )
        ],
    ),
    "hex-integer-beyond-2^53": Case(
        {V12: edit(GOOD_12, "max_tokens: 256", "max_tokens: 0x20000000000000")},
        [(V12, 11, "yaml", "too large (column 15)")],
    ),
    "leading-zero": Case(
        {V12: edit(GOOD_12, "max_tokens: 256", "max_tokens: 0256")},
        [(V12, 11, "yaml", "ambiguous number 0256")],
    ),
    "deep-nesting": Case(
        {V12: GOOD_12 + "deep: " + "[" * 1000 + "]" * 1000 + "\n"},
        [(V12, 19, "yaml", "nesting deeper than 64 levels")],
    ),
}

# A second bad file, elsewhere in the registry: paths mode must not report it.
OTHER_BAD = ("models/assistant/1.1.0.yaml", "a: 1\na: 2\n")


def line_pattern(file: str, line: int, rule: str, fragment: str) -> re.Pattern[str]:
    where = f"{re.escape(file)}:{line}" if line else re.escape(file)
    return re.compile(rf"error: {where}: .*{re.escape(fragment)}.* \[{re.escape(rule)}\]")


def assert_text_findings(out: str, expected: list[tuple[str, int, str, str]]) -> None:
    lines = out.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    for file, line, rule, fragment in expected:
        pattern = line_pattern(file, line, rule, fragment)
        matches = [text for text in errors if pattern.fullmatch(text)]
        assert len(matches) == 1, (file, line, rule, fragment, out)
    assert len(errors) == len(expected), out
    # the rest is one summary line
    assert [line for line in lines if not line.startswith("error: ")] == [lines[-1]]
    problems = "problem" if len(expected) == 1 else "problems"
    assert lines[-1].endswith(f": {len(expected)} {problems}, 0 warnings"), lines[-1]


def assert_json_findings(data: Any, expected: list[tuple[str, int, str, str]]) -> None:
    assert isinstance(data, dict)
    assert data["ok"] is False
    problems = data["problems"]
    for p in problems:
        assert set(p) <= {"rule", "message", "file", "line"}, p
        assert {"rule", "message", "file"} <= set(p), p
        assert "\n" not in p["message"]
    for file, line, rule, fragment in expected:
        matches = [
            p
            for p in problems
            if p["file"] == file
            and p.get("line", 0) == line
            and p["rule"] == rule
            and fragment in p["message"]
        ]
        assert len(matches) == 1, (file, line, rule, fragment, problems)
    assert len(problems) == len(expected), problems


def install(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        write(root / rel, content)


def no_crash(result: Any) -> None:
    assert "Traceback" not in result.out + result.err
    assert "internal error" not in result.out + result.err
    assert result.err == "", result.err  # findings are not errors


# --- the good example -------------------------------------------------------------------------------


def test_the_example_passes(cli: Callable[..., Any], example: Path) -> None:
    result = cli("--repo", str(example), "check", "--all")
    assert result.code == 0, result.out
    assert result.out.strip().endswith(": ok")
    assert "error:" not in result.out
    no_crash(result)
    result = cli("--repo", str(example), "--json", "check", "--all")
    assert result.code == 0
    assert result.json()["ok"] is True
    assert result.json()["problems"] == []
    no_crash(result)


# --- every hostile input: text, --json and paths mode -------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_check_all_reports_one_line_per_problem(
    cli: Callable[..., Any], example: Path, name: str
) -> None:
    case = CASES[name]
    install(example, case.files)
    result = cli("--repo", str(example), "check", "--all", cwd=example)
    no_crash(result)
    assert result.code == 1, result.out
    assert_text_findings(result.out, case.expected)
    assert not (example / "MARKER").exists()


@pytest.mark.parametrize("name", list(CASES))
def test_check_all_json(cli: Callable[..., Any], example: Path, name: str) -> None:
    case = CASES[name]
    install(example, case.files)
    result = cli("--repo", str(example), "--json", "check", "--all", cwd=example)
    no_crash(result)
    assert result.code == 1, result.out
    assert_json_findings(result.json(), case.expected)
    assert not (example / "MARKER").exists()


@pytest.mark.parametrize("name", list(CASES))
def test_check_paths_reports_only_those_files(
    cli: Callable[..., Any], example: Path, name: str
) -> None:
    case = CASES[name]
    install(example, case.files)
    write(example / OTHER_BAD[0], OTHER_BAD[1])
    # pre-commit style: paths relative to the registry root, run from there
    result = cli("check", *case.check_paths(), cwd=example)
    no_crash(result)
    assert result.code == 1, result.out
    assert OTHER_BAD[0] not in result.out
    assert_text_findings(result.out, case.expected)
    result = cli("--json", "check", *case.check_paths(), cwd=example)
    no_crash(result)
    assert_json_findings(result.json(), case.expected)


def test_the_other_bad_file_is_found_by_check_all(cli: Callable[..., Any], example: Path) -> None:
    write(example / OTHER_BAD[0], OTHER_BAD[1])
    result = cli("--repo", str(example), "check", "--all", cwd=example)
    assert result.code == 1
    assert (
        f"error: {OTHER_BAD[0]}:2: duplicate key 'a' (first on line 1) [yaml]"
        in result.out.splitlines()
    )


def test_files_are_named_by_absolute_path_from_outside(
    cli: Callable[..., Any], example: Path, tmp_path: Path
) -> None:
    install(example, CASES["duplicate-key"].files)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    result = cli("--repo", str(example), "check", "--all", cwd=outside)
    no_crash(result)
    assert result.code == 1
    full = str(example.resolve() / V12)
    assert (
        f"error: {full}:5: duplicate key 'kind' (first on line 4) [yaml]" in result.out.splitlines()
    )
    result = cli("--repo", str(example), "--json", "check", "--all", cwd=outside)
    assert [(p["file"], p["line"]) for p in result.json()["problems"]] == [(full, 5)]


# --- 33 the alias bomb: refused, capped, quick ------------------------------------------------------


@pytest.mark.parametrize("as_json", [False, True])
def test_alias_bomb(cli: Callable[..., Any], example: Path, as_json: bool) -> None:
    write(example / V12, GOOD_12 + billion_laughs())
    args = ("--json",) if as_json else ()
    result = cli("--repo", str(example), *args, "check", "--all", cwd=example)
    no_crash(result)
    assert result.code == 1
    if as_json:
        problems = result.json()["problems"]
        assert len(problems) == 20  # capped per file
        assert all(p["file"] == V12 and p["rule"] == "yaml" for p in problems)
        assert {
            "file": V12,
            "line": 19,
            "rule": "yaml",
            "message": "anchor &a is not allowed (no anchors or aliases) (column 6)",
        } in problems
        assert all(
            re.search(r"(anchor &|alias \*)[a-i] is not allowed", p["message"]) for p in problems
        )
    else:
        errors = [line for line in result.out.splitlines() if line.startswith("error: ")]
        assert len(errors) == 20
        assert all(
            re.fullmatch(rf"error: {re.escape(V12)}:(19|2[0-9]): .* \[yaml\]", line)
            for line in errors
        )


# --- 36 nothing runs -----------------------------------------------------------------------------------


def test_python_tag_in_every_kind_of_file_never_runs(
    cli: Callable[..., Any], example: Path
) -> None:
    payload = '!!python/object/apply:os.system ["touch MARKER"]'
    install(
        example,
        {
            V12: GOOD_12 + f"hook: {payload}\n",
            EVAL: REGRESSION + f"hook: {payload}\n",
            "stages/summarizer.yaml": f"{payload}\n",
            POLICY: POLICY_TEXT + f"hook: {payload}\n",
        },
    )
    result = cli("--repo", str(example), "--json", "check", "--all", cwd=example)
    no_crash(result)
    assert result.code == 1
    files = sorted(
        {p["file"] for p in result.json()["problems"] if "!!python/object/apply" in p["message"]}
    )
    assert files == sorted([V12, EVAL, "stages/summarizer.yaml", POLICY])
    assert not (example / "MARKER").exists()


def test_surrogate_escape_is_a_finding_not_a_crash(cli: Callable[..., Any], example: Path) -> None:
    """`"\\ud800"` decodes to a lone surrogate, which has no UTF-8 form and so no digest."""
    prompt = "system_prompt: |\n  Summarize in 2-3 sentences. Focus on actionable insights.\n"
    write(example / V12, edit(GOOD_12, prompt, 'system_prompt: "x\\ud800y"\n'))
    write(
        example / "evals/summarizer/1.2.0/smoke.yaml",
        (EXAMPLE / "evals/summarizer/1.1.0/smoke.yaml").read_text().replace("1.1.0", "1.2.0"),
    )
    result = cli("--repo", str(example), "check", "--all", cwd=example)
    no_crash(result)
    assert result.code == 1, result.out
    assert any(line.startswith(f"error: {V12}:12: ") for line in result.out.splitlines()), (
        result.out
    )


# --- genuine bugs found while writing these tests (left failing on purpose) ------------------------------


def test_version_float_advice_quotes_the_text_as_written(
    cli: Callable[..., Any], example: Path
) -> None:
    """`version: 1.10` must be quoted as '1.10': advice to write '1.1' changes the version."""
    write(example / V12, edit(GOOD_12, "version: 1.2.0", "version: 1.10"))
    result = cli("--repo", str(example), "--json", "check", "--all", cwd=example)
    [problem] = result.json()["problems"]
    assert "quote it" in problem["message"]
    assert "1.10" in problem["message"], problem["message"]


@pytest.mark.parametrize("folder", ["bad\nname", "bad\x1b[31mred", "bad\u202ename", "bad\x07bell"])
def test_control_characters_in_file_names_stay_on_one_line(
    cli: Callable[..., Any], example: Path, folder: str
) -> None:
    """A finding is one line, and a hostile folder name cannot drive the terminal or reorder the text."""
    write(example / "models" / folder / "1.0.0.yaml", SUMMARIZER_10)
    result = cli("--repo", str(example), "check", "--all", cwd=example)
    no_crash(result)
    assert result.code == 1
    lines = result.out.splitlines()
    assert all(line.startswith("error: ") for line in lines[:-1]), result.out
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", result.out), repr(
        result.out
    )


def test_allowed_signers_symlink_out_of_the_registry_is_refused(
    cli: Callable[..., Any], example: Path, tmp_path: Path
) -> None:
    """THREATS 46: `.modelreg/allowed_signers` may not lead out of the registry through a symlink."""
    outside = tmp_path / "outside_signers"
    outside.write_text((example / ".modelreg/allowed_signers").read_text())
    (example / ".modelreg/allowed_signers").unlink()
    (example / ".modelreg/allowed_signers").symlink_to(outside)
    result = cli("--repo", str(example), "--json", "check", "--all", cwd=example)
    no_crash(result)
    assert result.code == 1, result.out
    rules = {p["rule"] for p in result.json()["problems"]}
    assert rules & {"path-escape", "symlink"}, result.json()
