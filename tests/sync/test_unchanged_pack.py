"""Listed cases are held packed (bridge.sync.unchanged): a packed case comes back exactly as it was read, and
it is small, since a run holds one per listed case."""

from __future__ import annotations

import pickle
import zlib
from datetime import UTC, datetime

from bridge.model import Case, CaseType, Priority, Step
from bridge.sync.unchanged import Packed, Unchanged, pack, unpack


def _cases() -> list[Case]:
    return [
        Case(title="Only a title"),
        Case(
            id="17",
            marker="tpb-e251eaf6f2958c2f9db2409e",
            updated_at=datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
            folder=("Checkout", "Payment cards"),
            title="Checkout rejects an expired card",
            description="Paid with a card that **expired** last month",
            preconditions="A basket with one item",
            steps=[Step(action=f"Step {n}: enter card {n}", expected=f"Message {n} is shown") for n in (1, 2, 3)],
            priority=Priority.CRITICAL,
            type=CaseType.FUNCTIONAL,
            tags=["regression", "payments"],
            automation_key="tests.checkout.TestCards.test_expired",
            requirements=["REQ-100", "REQ-204"],
            estimate_seconds=90,
            custom={"Browser": ["Chrome", "Firefox"], "Risk": 3, "Reviewed": True, "Notes": None},
        ),
        Case(id="9", title="購入手続きで期限切れのカードを拒否する", steps=[Step(action="カードを入力", expected="")]),
    ]


def test_a_packed_case_comes_back_equal_with_the_fields_it_was_given() -> None:
    for case in _cases():
        back = unpack(pack(case))
        assert back == case
        # which fields were set is part of what was read (a merge tells "not given" from "empty")
        assert back.model_fields_set == case.model_fields_set
        assert [s.model_fields_set for s in back.steps] == [s.model_fields_set for s in case.steps]
        assert Packed(case).case() == case
        unchanged = Unchanged(case)
        assert unchanged.case() == case
        unchanged.drop()
        assert unchanged.case() is None


def test_a_packed_case_takes_little_more_than_half_what_zlib_alone_makes_of_it() -> None:
    # zlib finds repeats only within one pickle; the preset dictionary holds what every pickled case repeats
    # (class paths, attribute names, pydantic's state): the benchmark's cases with three steps pack into ~240
    # bytes instead of ~540, 9 MB fewer at 30,000 listed cases
    for case in _cases()[1:]:
        zlib_alone = len(zlib.compress(pickle.dumps(case, protocol=pickle.HIGHEST_PROTOCOL), 1))
        assert len(pack(case)) < 0.6 * zlib_alone, (len(pack(case)), zlib_alone)
