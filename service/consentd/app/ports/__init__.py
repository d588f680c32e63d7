"""Ports the use cases depend on. The store implements them; tests may subclass them."""

from __future__ import annotations

from consentd.app.ports._base import CheckKey, Clock, Digest
from consentd.app.ports.audit import AuditRepository, Integrated, LogIntegration, LogSequencer
from consentd.app.ports.batches import IdentifiersTaken, PartQuery, PartRead, PartWrite
from consentd.app.ports.consents import (
    BlockChange,
    CampaignRepository,
    CatalogRepository,
    ChangeSignal,
    CheckBatch,
    CheckRow,
    ConfirmationMessage,
    ConfirmationRepository,
    ConsentRepository,
    ConsentTally,
    FeedChange,
    NewSubject,
    SubjectRepository,
    feed_mark,
)
from consentd.app.ports.cookies import (
    CookiePurgeRepository,
    CookieRepository,
    ErasedCookies,
    MonthlyCounts,
)
from consentd.app.ports.rights import (
    BreachRepository,
    Notifier,
    RequestRepository,
    RetentionRepository,
    RightsRepository,
)
from consentd.app.ports.tenancy import (
    AdminRepository,
    CallerDirectory,
    TenantDirectory,
    TenantList,
)
from consentd.app.ports.uow import (
    JobUnitOfWorkFactory,
    ReadUnitOfWork,
    ReadUnitOfWorkFactory,
    UnitOfWork,
    UnitOfWorkFactory,
)

__all__ = [
    "AdminRepository",
    "AuditRepository",
    "BlockChange",
    "BreachRepository",
    "CallerDirectory",
    "CampaignRepository",
    "CatalogRepository",
    "ChangeSignal",
    "CheckBatch",
    "CheckKey",
    "CheckRow",
    "Clock",
    "ConfirmationMessage",
    "ConfirmationRepository",
    "ConsentRepository",
    "ConsentTally",
    "CookiePurgeRepository",
    "CookieRepository",
    "Digest",
    "ErasedCookies",
    "FeedChange",
    "IdentifiersTaken",
    "Integrated",
    "JobUnitOfWorkFactory",
    "LogIntegration",
    "LogSequencer",
    "MonthlyCounts",
    "NewSubject",
    "Notifier",
    "PartQuery",
    "PartRead",
    "PartWrite",
    "ReadUnitOfWork",
    "ReadUnitOfWorkFactory",
    "RequestRepository",
    "RetentionRepository",
    "RightsRepository",
    "SubjectRepository",
    "TenantDirectory",
    "TenantList",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "feed_mark",
]
