"""CodeArts TestPlan error bodies -> typed errors, with the vendor's message and a hint.

Errors come as ``{"error_code": "CLOUDTEST.xxxxxxxx", "error_msg": "..."}``; batch calls may add
``error_detail.failed[{error_code, error_msg, testcase_id}]`` when some items failed (HTTP 500 or 400 with
other items applied). The API gateway answers ``APIG.xxxx`` codes itself (``APIG.0308``: throttled).
The table keeps the codes a sync can meet (vendor document, section 6.2), condensed to what to do.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from bridge.errors import (
    AuthError,
    ItemFailure,
    MissingRoute,
    NotFound,
    PartialBatchFailure,
    PermissionDenied,
    RemoteError,
    ServerError,
    UniqueViolation,
    ValidationFailed,
    error_class_for_status,
)
from bridge.http import default_route

SYSTEM = "codearts"

AUTH, DENIED, NOT_FOUND, INVALID, UNIQUE, PARTIAL, SERVER, ROUTE = (
    "auth",
    "denied",
    "not_found",
    "invalid",
    "unique",
    "partial",
    "server",
    "route",
)

#: code -> (kind, hint). Hints are the vendor's solutions, in short.
ERROR_TABLE: dict[str, tuple[str, str]] = {
    "CLOUDTEST.00050001": (AUTH, "The token expired: fetch a new IAM token."),
    "CLOUDTEST.00030003": (DENIED, "The user lacks permission; use an account with administrator rights."),
    "CLOUDTEST.00013013": (DENIED, "The user may not delete test cases of this service type."),
    "CLOUDTEST.00013024": (DENIED, "The user may not add test cases of this type; ask the administrator."),
    "CLOUDTEST.00013025": (DENIED, "The user may not query test cases of this type; ask the administrator."),
    "CLOUDTEST.00013026": (DENIED, "The user may not update test cases of this type; ask the administrator."),
    "CLOUDTEST.00013001": (DENIED, "Not authorized for this test type; use cases you may add to the plan."),
    "CLOUDTEST.00013002": (DENIED, "Not authorized for some service types in the plan."),
    "CLOUDTEST.00030022": (DENIED, "Use the primary account for this operation."),
    "CLOUDTEST.00012002": (INVALID, "The project id must be 32 letters and digits."),
    "CLOUDTEST.00012006": (INVALID, "The plan id must be 11 to 34 letters and digits."),
    "CLOUDTEST.00012010": (INVALID, "The service id must be a number from 10 to 9999."),
    "CLOUDTEST.00014001": (NOT_FOUND, "The requirement does not exist in this project."),
    "CLOUDTEST.00015002": (NOT_FOUND, "The directory (module) does not exist."),
    "CLOUDTEST.00015003": (INVALID, "The directory name is empty or longer than the library allows."),
    "CLOUDTEST.00015004": (UNIQUE, "A directory of this name exists in this place already."),
    "CLOUDTEST.00016001": (NOT_FOUND, "The branch, version or iteration does not exist; check the branch setting."),
    "CLOUDTEST.00016002": (INVALID, "Cases are created in a branch, then added to an iteration."),
    "CLOUDTEST.00017000": (INVALID, "The case id must be 11 to 34 letters and digits."),
    "CLOUDTEST.00017001": (NOT_FOUND, "The test case does not exist (deleted?)."),
    "CLOUDTEST.00017003": (INVALID, "The plan id is invalid."),
    "CLOUDTEST.00017004": (INVALID, "A test step is longer than 500 characters."),
    "CLOUDTEST.00017005": (INVALID, "An expected result is longer than 500 characters."),
    "CLOUDTEST.00017009": (INVALID, "The execution id must be at most 32 characters."),
    "CLOUDTEST.00017011": (INVALID, "The case name has invalid characters or is not 3 to 128 characters."),
    "CLOUDTEST.00017012": (INVALID, "At most 9 service types in a plan."),
    "CLOUDTEST.00017013": (INVALID, "The preparation is longer than 500 characters."),
    "CLOUDTEST.00017014": (INVALID, "The description is longer than 500 characters."),
    "CLOUDTEST.00017015": (UNIQUE, "The case number is used by another case."),
    "CLOUDTEST.00017016": (INVALID, "The project holds 50,000 cases already; delete some or raise the quota."),
    "CLOUDTEST.00017020": (PARTIAL, "Some cases of the batch execution failed; see the items."),
    "CLOUDTEST.00017021": (PARTIAL, "Some cases of the batch update failed; see the items."),
    "CLOUDTEST.00017024": (UNIQUE, "These executions were recorded already (execute_id reused)."),
    "CLOUDTEST.00017025": (UNIQUE, "These results were recorded already (execute_id reused)."),
    "CLOUDTEST.00017026": (PARTIAL, "Some cases of the request were executed already."),
    "CLOUDTEST.00017027": (PARTIAL, "Some cases of the request have their results already."),
    "CLOUDTEST.00017038": (NOT_FOUND, "The service type is not registered (or was deleted)."),
    "CLOUDTEST.00017054": (INVALID, "The case level (rank_id) must be 0 to 4."),
    "CLOUDTEST.00017055": (INVALID, "Execute at most 50 cases per batch."),
    "CLOUDTEST.00017056": (INVALID, "Update at most 50 cases per batch."),
    "CLOUDTEST.00017057": (NOT_FOUND, "The case is not in this project or plan."),
    "CLOUDTEST.00017058": (INVALID, "The result must be 0, 1, 5 or 6."),
    "CLOUDTEST.00018001": (INVALID, "A label is longer than 25 characters."),
    "CLOUDTEST.00018002": (INVALID, "Too many labels on the case."),
    "CLOUDTEST.00030001": (INVALID, "At most 49 case ids per batch, each 32 characters."),
    "CLOUDTEST.00030002": (INVALID, "The service name must be at most 16 characters."),
    "CLOUDTEST.00030028": (UNIQUE, "The service name is registered already; find it with GET /v1/services."),
    "CLOUDTEST.00030043": (INVALID, "The service host must start with http(s) and be at most 128 characters."),
    "CLOUDTEST.00030046": (NOT_FOUND, "The service was deleted; register it again."),
    "CLOUDTEST.00040003": (INVALID, "The start date is after the end date."),
    "CLOUDTEST.00040014": (INVALID, "The case name must be 3 to 128 characters."),
    "CLOUDTEST.00050000": (SERVER, "The service is busy; try again later."),
    "CLOUDTEST.00060010": (INVALID, "The planned start date must be YYYY-MM-DD."),
    "CLOUDTEST.00060011": (INVALID, "The planned end date must be YYYY-MM-DD."),
    "CLOUDTEST.00070009": (UNIQUE, "The plan name is used already."),
    "CLOUDTEST.00070010": (INVALID, "The plan name is missing, too long (128) or has invalid characters."),
    "CLOUDTEST.00070018": (NOT_FOUND, "The test case does not exist (deleted?)."),
    "CLOUDTEST.43040030": (NOT_FOUND, "The project does not exist."),
    "CLOUDTEST.43400102": (INVALID, "The repository file must be YAML or JSON."),
    "CLOUDTEST.43400103": (INVALID, "The repository file is larger than 1 MB."),
    "CLOUDTEST.43400207": (NOT_FOUND, "The file path was not found in the repository branch."),
    "CLOUDTEST.43400210": (DENIED, "The user lacks permission in this project."),
    "CLOUDTEST.43400225": (INVALID, "The file does not follow the Swagger specification."),
    "CLOUDTEST.43400248": (INVALID, "The test suite name must be 3 to 128 characters."),
    "CLOUDTEST.43400323": (INVALID, "Importing the YAML failed: check that it defines the API."),
    "CLOUDTEST.43400324": (INVALID, "The YAML file holds more than 500 cases; split it."),
    "CLOUDTEST.43400334": (INVALID, "The repository id must be 32 characters (CodeArts Repo's repository id)."),
    "CLOUDTEST.43400335": (INVALID, "The file path must be 6 to 128 characters."),
    "CLOUDTEST.43400336": (INVALID, "The branch name must be 3 to 100 characters."),
    "CLOUDTEST.43400337": (INVALID, "The page offset must be 0 to 999."),
    "CLOUDTEST.43400338": (INVALID, "The page size must be 1 to 200."),
    # the gateway does not know the route (not published in this region, or a wrong url): never "not found"
    "APIG.0101": (ROUTE, "The API does not exist at this endpoint: check the URL and region."),
    "APIG.0301": (AUTH, "The token or signature is invalid: check the credentials."),
    "APIG.1002": (AUTH, "Missing or invalid authentication: check the credentials."),
    "APIG.0308": (SERVER, "Throttled by the gateway: back off and lower requests_per_minute."),
}

_KIND_CLASS: dict[str, type[RemoteError]] = {
    AUTH: AuthError,
    DENIED: PermissionDenied,
    NOT_FOUND: NotFound,
    INVALID: ValidationFailed,
    UNIQUE: UniqueViolation,
    SERVER: ServerError,
    ROUTE: MissingRoute,
}


def error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def is_throttled(response: httpx.Response) -> bool:
    """APIG.0308 is the gateway's "slow down" (HTTP 429, but checked by code in case a proxy changes it)."""
    if response.status_code < 400:
        return False
    return response.status_code == 429 or error_body(response).get("error_code") == "APIG.0308"


def item_failures(body: dict[str, Any]) -> list[ItemFailure]:
    detail = body.get("error_detail")
    failed = detail.get("failed") if isinstance(detail, dict) else None
    if not isinstance(failed, list):
        return []
    return [
        ItemFailure(str(f.get("testcase_id", "")), f.get("error_code"), str(f.get("error_msg", "")))
        for f in failed
        if isinstance(f, dict)
    ]


def envelope_error(body: dict[str, Any], response: httpx.Response) -> RemoteError:
    """The typed error of a v4 answer whose envelope says ``status: error`` (whatever its HTTP status)."""
    found = error_for(response, default_route(response.request), body=body)
    return found or ServerError(str(body), system=SYSTEM, status=response.status_code)


def _code_and_message(body: dict[str, Any]) -> tuple[Any, Any]:
    """v1 ``{error_code, error_msg}`` or the v4 envelope ``{status: error, error: {code, reason}}``."""
    if body.get("error_code"):
        return body.get("error_code"), body.get("error_msg")
    error = body.get("error")
    if isinstance(error, dict) and error.get("code"):
        return error.get("code"), error.get("reason")
    return None, None


def error_for(response: httpx.Response, route: str, *, body: dict[str, Any] | None = None) -> RemoteError | None:
    """The typed error for a CodeArts error answer (None: let the HTTP layer map it by status)."""
    body = error_body(response) if body is None else body
    code, message_text = _code_and_message(body)
    if not code:
        return None
    message = str(message_text or response.reason_phrase or code)
    kind, hint = ERROR_TABLE.get(code, ("", ""))
    common: dict[str, Any] = {
        "system": SYSTEM,
        "method": response.request.method,
        "route": route,
        "status": response.status_code,
        "code": code,
        "hint": hint or None,
    }
    failures = item_failures(body)
    if failures or kind == PARTIAL:
        return PartialBatchFailure(message, failures=failures, **common)
    cls = _KIND_CLASS.get(kind) or error_class_for_status(response.status_code)
    return cls(message, **common)
