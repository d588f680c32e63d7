"""What the other modules of the package share."""

from __future__ import annotations

import enum

import sqlalchemy as sa

from consentd.domain.model import Channel, ConsentState, PartyScope, ProcessingRole, Source
from consentd.domain.tenancy import Scope

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


TZ = sa.DateTime(timezone=True)


def sql_values(values: type[enum.StrEnum]) -> str:
    """The enum's values as an SQL list for a CHECK constraint: `('a','b')`. The domain's enums
    are the one source; a migration that changes a list restates it literally (it is history)."""
    return "(" + ",".join(f"'{member.value}'" for member in values) + ")"


CHANNELS = sql_values(Channel)
SCOPES = sql_values(PartyScope)
STATES = sql_values(ConsentState)
SOURCES = sql_values(Source)
ROLES = sql_values(ProcessingRole)


KEY = "'^[a-z][a-z0-9_-]{0,63}$'"


SCOPE_NAMES = tuple(scope.value for scope in Scope)


def tenant_fk() -> sa.ForeignKey:
    return sa.ForeignKey("tenants.tenant_id", ondelete="RESTRICT")


def target_columns() -> list[sa.Column[str]]:
    return [
        sa.Column("purpose_id", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("scope", sa.Text, nullable=False),
    ]


def target_checks() -> list[sa.CheckConstraint]:
    # '*' in all three columns is the "everything" target; a '*' purpose and scope with a channel
    # is everything on that channel (migration 0036). It can only be withdrawn.
    return [
        sa.CheckConstraint(f"channel IN {CHANNELS}", name="channel"),
        sa.CheckConstraint(f"scope IN {SCOPES}", name="scope"),
        sa.CheckConstraint(f"state IN {STATES}", name="state"),
        sa.CheckConstraint(
            "(purpose_id = '*') = (scope = '*') AND (channel <> '*' OR purpose_id = '*')",
            name="all_target_whole",
        ),
        sa.CheckConstraint("purpose_id <> '*' OR state = 'withdrawn'", name="all_only_withdrawn"),
    ]


def subject_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "subject_id"], ["subjects.tenant_id", "subjects.subject_id"]
    )
