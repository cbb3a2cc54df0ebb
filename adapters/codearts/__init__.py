"""Huawei CodeArts TestPlan (cloudtest): signer, IAM auth, client, conversion, adapter and simulator."""
