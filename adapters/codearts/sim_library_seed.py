"""Seed data of the simulated native case library: a project as a team's QA people would have built it in the
web UI (directories 3-4 levels deep with long names, a few custom fields, manual cases with steps, some
performance and API cases of other test types, one iteration with results)."""

from __future__ import annotations

import random

from adapters.codearts.sim_library import NativeLibrary

#: the custom case fields the seed project defines (id -> name, type, options)
CUSTOM_FIELDS = [
    {"custom_field_id": 1, "name": "Component", "type": "radio", "options": "Web,Android,iOS,Backend"},
    {"custom_field_id": 2, "name": "Automation status", "type": "radio", "options": "Manual,Planned,Automated"},
    {"custom_field_id": 3, "name": "Reviewer", "type": "text", "options": ""},
]
TREE = [
    "Mobile banking app/Account management and onboarding/Registration with identity verification",
    "Mobile banking app/Account management and onboarding/Password reset and recovery flows",
    "Mobile banking app/Payments and transfers/Domestic transfers/Scheduled and recurring payments",
    "Mobile banking app/Payments and transfers/International SWIFT transfers",
    "Back office web console/Customer support tooling/Case escalation workflows",
    "Back office web console/Reporting",
]
VERBS = ["Verify", "Check", "Ensure", "Validate"]
THINGS = [
    "one-time password expiry",
    "transfer limit warning",
    "beneficiary list paging",
    "session timeout banner",
    "fee breakdown on the confirmation screen",
    "currency rounding in the receipt",
    "audit trail entry",
    "accessibility labels on the keypad",
]


def seed_library(lib: NativeLibrary, rng: random.Random, n_cases: int = 24) -> None:
    lib.custom_fields.extend(dict(f) for f in CUSTOM_FIELDS)
    lib.add_branch("release-2.4")
    leaves: list[str] = []
    made: dict[tuple[str, ...], str] = {}
    for path in TREE:
        parent = lib.master_uri
        parts = tuple(path.split("/"))
        for depth in range(1, len(parts) + 1):
            key = parts[:depth]
            if key not in made:
                made[key] = lib.add_feature(parts[depth - 1], parent, lib.master_uri)
            parent = made[key]
        leaves.append(parent)
    owners = ["li.wei", "chen.jing", "maria.santos", ""]
    uris: list[str] = []
    for i in range(n_cases):
        steps = [
            {"test_step": f"Step {s + 1}: open the screen and act ({i + 1})", "expect_result": f"Outcome {s + 1} shown"}
            for s in range(rng.randint(1, 4))
        ]
        info = {
            "name": f"{rng.choice(VERBS)} {rng.choice(THINGS)} #{i + 1}",
            "rank": rng.randint(0, 4),
            "preparation": "Test user with a funded account is logged in." if rng.random() < 0.6 else "",
            "remark": f"Covers the behaviour agreed in the refinement of sprint {rng.randint(10, 40)}.",
            "steps": steps,
            "tags": ",".join(rng.sample(["smoke", "regression", "mobile", "web", "payments"], rng.randint(0, 2))),
            "feature_uri": rng.choice(leaves),
            "owner": rng.choice(owners),
            "test_type": rng.choice([1, 1, 1, 6, 7]),
            "custom_field_1": rng.choice(["Web", "Android", "iOS", "Backend"]),
            "custom_field_2": rng.choice(["Manual", "Planned"]),
            "dr_relation_id": f"{rng.randint(100000, 999999)}" if rng.random() < 0.3 else "",
        }
        uris.append(lib.put_case(info, lib.master_uri)["uri"])
    # cases of other test types (load and API tests the performance team keeps beside them)
    for i, (name, kind) in enumerate([("Load test: 500 parallel logins", 2), ("API contract: /v2/transfers", 9)]):
        lib.put_case(
            {"name": name, "test_type": kind, "feature_uri": leaves[-1], "rank": 2, "number": f"PERF-{i + 1:03d}"},
            lib.master_uri,
        )
    iterator = f"v{rng.getrandbits(60):015x}"
    lib.iterators[iterator] = {
        "uri": iterator,
        "name": "Sprint 38 regression",
        "branch_uri": lib.master_uri,
        "number": "",
        "description": "Regression run before the 2.4 release.",
        "plan_start_date": "2024-05-06",
        "plan_end_date": "2024-05-17",
        "current_stage": "execute",
        "case_uris": uris[:8],
        "created": lib.tick(),
        "last_modified": lib.tick(),
        "journals": [],
    }
    # its history as the UI left it: made on the sprint's first day, cases added the same morning
    named = {"attribute_type": "name", "old_value": "", "new_value": "Sprint 38 regression"}
    lib.journal(iterator, "attribute", updated=[named])
    lib.journal(iterator, "resource", added=[{"id": u, "name": lib.cases[u]["name"]} for u in uris[:8]])
    times = ("2024-05-06 09:12:40", "2024-05-06 09:31:05")
    for entry, when in zip(lib.iterators[iterator]["journals"], times, strict=True):
        entry["operate_time"] = when
