"""Which CodeArts adapter a configured system gets: the native case library (the default) or the bridge's
custom test service (``mode = "custom-service"``, the behaviour before the native library was supported).

A store made before the native library was supported links custom-service cases. Opening such a system in
native mode would find none of them, see every linked case as deleted and create the other side's cases a
second time, so when ``mode`` is not set and the store links cases of this system, one of the linked ids is
looked up through the custom-service API: if it is a case of the bridge's service, the system stays in
custom-service mode (logged once per run). Setting ``mode`` explicitly skips the check.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from adapters.base import Adapter
from adapters.codearts.settings import CodeArtsSettings
from bridge.errors import MissingRoute
from mappings.valuemaps import ValueMaps

log = logging.getLogger("adapters.codearts")


def open_codearts(name: str, settings: CodeArtsSettings, value_maps: ValueMaps) -> Adapter:
    """The adapter for ``settings.mode`` (unset: native)."""
    if settings.mode == "custom-service":
        from adapters.codearts.adapter import CodeArtsAdapter

        return CodeArtsAdapter(name, settings, value_maps)
    from adapters.codearts.native_adapter import CodeArtsNativeAdapter

    return CodeArtsNativeAdapter(name, settings, value_maps)


def settle(name: str, settings: CodeArtsSettings, linked_ids: Sequence[str]) -> CodeArtsSettings:
    """``settings`` with ``mode`` decided: as configured, else from what the store's links point at."""
    if settings.mode is not None:
        return settings
    if linked_ids and _links_custom_service(settings, linked_ids[0]):
        log.warning(
            "%s: the store links cases of the bridge's custom test service, so this system stays in"
            ' custom-service mode; set mode = "custom-service" to say so, or see the README to move the links'
            " to the native case library",
            name,
        )
        return settings.model_copy(update={"mode": "custom-service"})
    return settings.model_copy(update={"mode": "native"})


def _links_custom_service(settings: CodeArtsSettings, case_id: str) -> bool:
    from adapters.codearts.client import CodeArtsClient

    client = CodeArtsClient(settings)
    try:
        try:
            case = client.get_case(case_id)
        except MissingRoute:
            return False  # no v1 case API in this region: custom-service cases cannot exist there
        if case is None:
            return False  # not a custom-service case id (a native uri is unknown to the v1 API)
        ours = [s for s in client.list_services() if s.get("name") == settings.service_name]
        return any(int(s["id"]) == int(case.get("service_id") or -1) for s in ours)
    finally:
        client.close()
