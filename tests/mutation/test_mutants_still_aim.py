"""The mutation check runs outside the suite, so a refactoring could leave one of its mutants aiming at code
that is gone (the script then says "stale" only when someone runs it). This test keeps every mutant's snippet
present exactly once and its mutated file compilable, and its named tests existing, in every CI run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from run_mutants import MUTANTS, ROOT  # noqa: E402


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_the_mutant_still_finds_its_line(mutant) -> None:  # type: ignore[no-untyped-def]
    source = (ROOT / mutant.path).read_text(encoding="utf-8")
    assert source.count(mutant.old) == 1, f"{mutant.name}: its snippet is not in {mutant.path} exactly once"
    compile(source.replace(mutant.old, mutant.new), mutant.path, "exec")
    for target in mutant.tests:
        assert (ROOT / target.split("::")[0]).exists(), f"{mutant.name}: {target} does not exist"
