"""consent.v1.RetentionService over grpc.aio: the caller's tenant's retention facts."""

from __future__ import annotations

from typing import Any

import grpc
from consent.v1 import retention_pb2 as pb
from consent.v1 import retention_pb2_grpc

from consentd.api.context import once, principal
from consentd.api.converters import required_in, time_in, time_out
from consentd.app.retention_settings import RetentionSettingsUseCases
from consentd.domain.catalog import check_text
from consentd.domain.errors import InvalidInput
from consentd.domain.free_text import without_contacts
from consentd.domain.retention import (
    INACTIVE_MONTHS_MAX,
    INACTIVE_MONTHS_MIN,
    TenantRetention,
    purge_due_at,
)

Context = grpc.aio.ServicerContext[Any, Any]


def settings_in(request: pb.PutRetentionSettingsRequest) -> TenantRetention:
    """The settings to put, whole. A request without them is refused: every setting would be
    reset to its zero value, lifting a legal hold, dropping the contract's end and the storage
    extension. Raises InvalidInput naming the field."""
    required_in(request, "settings", "the put replaces every setting (send them all)")
    message = request.settings
    for read_only in ("purged_at", "purge_due_at"):
        if message.HasField(read_only):
            raise InvalidInput(f"settings.{read_only}", "is set by the retention job")
    # A hold's reason names a case, and a case often a person: no address nor number kept, and
    # `consentd retention run` prints it (probe AO).
    reason = without_contacts(
        check_text("settings.legal_hold_reason", message.legal_hold_reason, 500, one_line=True)
    ).strip()  # one line, as `consentd retention run` prints it and the log says it (probe DO)
    if message.legal_hold and not reason.strip():
        raise InvalidInput("settings.legal_hold_reason", "is required with a legal hold")
    ended = message.contract_ended_at
    if message.HasField("contract_ended_at") and not (ended.seconds or ended.nanos):
        # An empty Timestamp (a client's default object) is 1970: the tenant would be purged.
        raise InvalidInput(
            "settings.contract_ended_at",
            "is empty (1970-01-01T00:00:00Z): leave it unset while the contract runs",
        )
    end = (
        time_in(ended, "settings.contract_ended_at")
        if message.HasField("contract_ended_at")
        else None
    )
    if end is not None and end.year >= LAST_YEAR:
        # A month after it is no date a Timestamp holds: the purge date was silently left unset
        # (probe DA).
        raise InvalidInput(
            "settings.contract_ended_at",
            f"must be before {LAST_YEAR}-01-01: the purge falls a month after it",
        )
    return TenantRetention(
        contract_ended_at=end,
        legal_hold=message.legal_hold,
        legal_hold_reason=reason if message.legal_hold else "",
        storage_extension=message.storage_extension,
        inactive_subject_months=_inactive_months(message.inactive_subject_months)
        if message.HasField("inactive_subject_months")
        else None,
    )


def _inactive_months(months: int) -> int:
    if months and not INACTIVE_MONTHS_MIN <= months <= INACTIVE_MONTHS_MAX:
        raise InvalidInput(
            "settings.inactive_subject_months",
            f"must be 0 (never) or from {INACTIVE_MONTHS_MIN} to {INACTIVE_MONTHS_MAX} "
            f"months; got {months}",
        )
    return months


LAST_YEAR = 9999


def settings_out(settings: TenantRetention) -> pb.RetentionSettings:
    return pb.RetentionSettings(
        contract_ended_at=time_out(settings.contract_ended_at),
        legal_hold=settings.legal_hold,
        legal_hold_reason=settings.legal_hold_reason,
        storage_extension=settings.storage_extension,
        inactive_subject_months=settings.inactive_subject_months,
        purged_at=time_out(settings.purged_at),
        purge_due_at=time_out(purge_due_at(settings)),
    )


class RetentionServicer(retention_pb2_grpc.RetentionServiceServicer):
    def __init__(self, settings: RetentionSettingsUseCases) -> None:
        self._settings = settings

    async def GetRetentionSettings(
        self, request: pb.GetRetentionSettingsRequest, context: Context
    ) -> pb.GetRetentionSettingsResponse:
        stored = await self._settings.get(principal().tenant)
        return pb.GetRetentionSettingsResponse(settings=settings_out(stored))

    async def PutRetentionSettings(
        self, request: pb.PutRetentionSettingsRequest, context: Context
    ) -> pb.PutRetentionSettingsResponse:
        settings = settings_in(request)
        return _put(await self._settings.put(principal().tenant, settings, once(_put)))


def _put(stored: TenantRetention) -> pb.PutRetentionSettingsResponse:
    return pb.PutRetentionSettingsResponse(settings=settings_out(stored))
