from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from adapters.base import SystemSettings


class HuaweiAuthSettings(SystemSettings):
    """AK/SK request signing, or an IAM password token; shared by CodeArts TestPlan and PerfTest."""

    project_id: str = Field(description="Huawei Cloud project id (32 hex characters)")
    ak: SecretStr | None = Field(None, description="Access key id (AK/SK signing)")
    sk: SecretStr | None = Field(None, description="Secret access key (AK/SK signing)")
    iam_url: str | None = Field(
        None, description="IAM endpoint for token auth, e.g. https://iam.<region>.myhuaweicloud.com"
    )
    iam_user: str | None = None
    iam_password: SecretStr | None = None
    iam_domain: str | None = Field(None, description="Account (domain) name of the IAM user")
    iam_project_name: str | None = Field(None, description="Region project name for the token scope, e.g. cn-north-4")

    @model_validator(mode="after")
    def _one_auth(self) -> HuaweiAuthSettings:
        aksk = self.ak is not None and self.sk is not None
        token = self.iam_user is not None and self.iam_password is not None and self.iam_domain is not None
        if not aksk and not token:
            raise ValueError("set ak and sk (AK/SK signing) or iam_user, iam_password and iam_domain (token auth)")
        if token and not aksk and not self.iam_url:
            raise ValueError("token auth needs iam_url")
        return self


class CodeArtsSettings(HuaweiAuthSettings):
    """``kind = "codearts"``: CodeArts TestPlan (cloudtest)."""

    kind: Literal["codearts"] = "codearts"
    service_name: str = Field("tpbridge", max_length=16, description="Name of the bridge's custom test service")
    service_id: int | None = Field(None, ge=10, le=9999, description="Use this registered service id")
    mode: Literal["native", "custom-service"] | None = Field(
        None,
        description=(
            "native: the project's own case library (the default); custom-service: only the cases of the"
            " bridge's registered test service. Unset: native, unless the store's links of this system point"
            " at custom-service cases"
        ),
    )
    branch: str | None = Field(None, description="Native mode: the branch (name or uri) to sync; default: master")
    test_types: list[str] = Field(
        default_factory=list, description="Native mode: sync only cases of these test type ids (empty: all)"
    )
