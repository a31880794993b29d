"""`plateau-doctor references` lists the references with recipe and sources, as text or JSON."""

from __future__ import annotations

import json
import subprocess
import sys

from plateau_doctor.reference_runs import REFERENCES


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "plateau_doctor", *args], capture_output=True, text=True, timeout=60
    )


def test_text_lists_every_reference_with_its_recipe_and_sources():
    done = run("references")
    assert done.returncode == 0, done.stderr
    for ref in REFERENCES:
        assert f"{ref.key}: {ref.title}" in done.stdout
        assert f"{ref.recipe.tokens_per_iter:,} tokens per iteration" in done.stdout
        for source in ref.sources.values():
            assert source.where in done.stdout


def test_json_carries_every_point_with_its_source_key():
    done = run("references", "--format", "json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [r["key"] for r in listed] == [r.key for r in REFERENCES]
    for item in listed:
        assert item["recipe"]["schedule"]["kind"] in ("cosine", "linear_warmdown")
        assert all(p["source"] in item["sources"] for p in item["points"])


def test_an_unknown_format_is_one_line_with_a_suggestion_and_exit_2():
    done = run("references", "--format", "jsn")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "did you mean 'json'" in done.stderr
