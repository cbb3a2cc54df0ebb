"""What every simulated Huawei Cloud service answers the same way: IAM password tokens and the API gateway.

CodeArts TestPlan and CodeArts PerfTest sit behind the same gateway with the same account, so both
simulators share this: the account (project id, AK/SK, IAM user), ``POST /v3/auth/tokens`` answered with an
``X-Subject-Token``, the check of ``X-Auth-Token`` or an ``SDK-HMAC-SHA256`` signature on every other request,
and the gateway's throttling answer. Each service keeps its own code for an expired token (TestPlan answers
``CLOUDTEST.00050001``, the gateway itself ``APIG.0307``).
"""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from adapters.simulation import CannedResponse, Faults
from adapters.simulation_apig import GatewayRefusal, check_signature

#: (status, JSON body, extra headers)
Answer = tuple[int, Any, dict[str, str]]
#: (status, error code, message) of a refused request
Refusal = tuple[int, str, str]


class HuaweiCloudAccount:
    """Mixin for a simulator: the account's credentials, IAM tokens and the gateway's checks."""

    #: the code and message for an expired or unknown token; a service may answer with its own
    token_expired: ClassVar[tuple[str, str]] = ("APIG.0307", "The token has expired.")

    def init_account(self, rng: random.Random, *, iam_user: str, token_lifetime: float = 24 * 3600) -> None:
        """Draw the account from ``rng`` (same draws in every service, so a seed gives the same account)."""
        self.project_id = f"{rng.getrandbits(128):032x}"
        self.ak = "SIMAK" + f"{rng.getrandbits(60):015X}"
        self.sk = f"{rng.getrandbits(160):040x}"
        self.iam_user, self.iam_password, self.iam_domain = (
            iam_user,
            "sim-" + f"{rng.getrandbits(64):016x}",
            "sim-domain",
        )
        self.token_lifetime = token_lifetime
        self.tokens: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self.token_requests = 0
        self._tokens_lock = threading.Lock()

    def credentials(self) -> dict[str, Any]:
        return {
            "ak": self.ak,
            "sk": self.sk,
            "project_id": self.project_id,
            "iam_user": self.iam_user,
            "iam_password": self.iam_password,
            "iam_domain": self.iam_domain,
        }

    def throttled(self, faults: Faults) -> CannedResponse:
        headers = {"Content-Type": "application/json"}
        if faults.retry_after is not None:
            headers["Retry-After"] = str(faults.retry_after)
        body = {"error_code": "APIG.0308", "error_msg": "The request is throttled."}
        return 429, headers, json.dumps(body).encode()

    def issue_token(self, body: bytes) -> Answer:
        """IAM ``POST /v3/auth/tokens`` with a password identity scoped to the project."""
        try:
            user = json.loads(body)["auth"]["identity"]["password"]["user"]
            ok = (user["name"], user["password"], user["domain"]["name"]) == (
                self.iam_user,
                self.iam_password,
                self.iam_domain,
            )
        except (ValueError, KeyError, TypeError):
            return 400, {"error": {"code": "1100", "message": "Bad request body."}}, {}
        if not ok:
            return 401, {"error": {"code": "1101", "message": "The username or password is wrong."}}, {}
        with self._tokens_lock:
            token = "MII" + secrets.token_urlsafe(48)
            self.tokens[token] = time.time() + self.token_lifetime
            self.token_requests += 1
        expires = datetime.now(UTC) + timedelta(seconds=self.token_lifetime)
        payload = {
            "token": {
                "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "methods": ["password"],
                "project": {"id": self.project_id},
            }
        }
        return 201, payload, {"X-Subject-Token": token}

    def refusal(
        self, method: str, raw_path: str, raw_query: str, headers: dict[str, str], body: bytes
    ) -> Refusal | None:
        """Why the gateway refuses this request (a token or a signature is required), or None."""
        token = headers.get("x-auth-token")
        if token:
            with self._tokens_lock:
                expiry = self.tokens.get(token)
            if expiry is None or expiry <= time.time():
                return (401, *self.token_expired)
            return None
        if "authorization" not in headers:
            return 401, "APIG.1002", "Incorrect authentication information: no token or signature."
        try:
            check_signature(lambda ak: self.sk if ak == self.ak else None, method, raw_path, raw_query, headers, body)
        except GatewayRefusal as exc:
            return 401, "APIG.0301", f"Incorrect IAM authentication information: {exc}"
        return None
