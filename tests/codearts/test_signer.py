"""Our SDK-HMAC-SHA256 signer against Huawei's official huaweicloudsdkcore signer, byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from adapters.codearts.signer import AkSkAuth, SignatureError, signed_header_names, verify

AK = "HPUAL0EXAMPLEAK1"
SK = "s3cr3t/K3y+with=chars"
FIXED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)

CASES = [
    ("GET", "http://127.0.0.1:8080/v1/projects/abc/plans", [("offset", "1"), ("limit", "200")], None, None),
    ("GET", "https://cloudtest-ext.ap-southeast-3.myhuaweicloud.com/v2/projects/p/plans", [], None, None),
    ("GET", "http://h:9/v1/x", [("name", "a b+c&d=é~*'()!"), ("z", ""), ("a", "2"), ("a", "1")], None, None),
    ("GET", "http://h:9/v1/pröjects/ä b/%2Fslash", [("k", "v/w?x#y")], None, None),
    ("POST", "http://localhost:443/v1/projects/p/testcases", [], b"", "application/json"),
    (
        "POST",
        "http://[::1]:8443/v1/p/testcases/batch-query",
        [],
        json.dumps({"offset": 0, "limit": 200}).encode(),
        "application/json;charset=UTF-8",
    ),
    ("PUT", "http://h:1/v1/projects/p/testcases/ID", [("x", "~tilde")], "名前 ünïcode".encode(), "application/json"),
    ("POST", "http://h:1/upload", [], b"raw-bytes\x00\x01", "application/octet-stream"),
    ("DELETE", "http://h:1/v1/services/12/", [], None, None),
]


def _ours(method, url, params, body, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    request = httpx.Request(method, url, params=params or None, content=body, headers=headers)
    AkSkAuth(AK, SK, project_id="0123456789abcdef0123456789abcdef", clock=lambda: FIXED).sign(request)
    return request


@pytest.mark.parametrize(("method", "url", "params", "body", "content_type"), CASES)
def test_signature_matches_huawei_sdk(method, url, params, body, content_type):
    request = _ours(method, url, params, body, content_type)
    # the SDK signs exactly the headers it is given: give it the ones we signed, with our date
    signed = set(signed_header_names(request.headers.keys()))
    header_params = {k: v for k, v in request.headers.items() if k.lower() in signed}
    raw_path = request.url.raw_path.decode().partition("?")[0]
    sdk_request = SdkRequest(
        method=method,
        schema=request.url.scheme,
        host=request.headers["host"],
        resource_path=raw_path,
        query_params=list(params),
        header_params=header_params,
        body=body or "",
    )
    Signer(BasicCredentials(AK, SK)).sign(sdk_request)
    assert sdk_request.header_params["Authorization"] == request.headers["Authorization"]


def test_host_carries_port_and_project_header():
    request = _ours("GET", "http://127.0.0.1:8080/v1/x", [], None, None)
    assert request.headers["host"] == "127.0.0.1:8080"
    assert "SignedHeaders=host;x-project-id;x-sdk-date" in request.headers["Authorization"]


def _verify(request, sk=SK, now=FIXED):
    raw_path, _, raw_query = request.url.raw_path.decode().partition("?")
    return verify(
        lambda ak: sk if ak == AK else None,
        request.method,
        raw_path,
        raw_query,
        request.headers,
        request.read(),
        now=now,
    )


def test_verify_accepts_and_refuses():
    request = _ours("POST", "http://h:1/v1/a b", [("q", "1 2")], b'{"a":1}', "application/json")
    assert _verify(request) == AK
    with pytest.raises(SignatureError, match="mismatch"):
        _verify(request, sk="wrong")
    with pytest.raises(SignatureError, match="15 minutes"):
        _verify(request, now=datetime(2024, 5, 6, 7, 24, 0, tzinfo=UTC))
    tampered = httpx.Request("POST", request.url, headers=request.headers, content=b'{"a":2}')
    with pytest.raises(SignatureError, match="mismatch"):
        _verify(tampered)
