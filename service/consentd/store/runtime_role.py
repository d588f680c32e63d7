"""The runtime role a process serves as, checked before it serves: one that could read around
row-level security is refused, and so is one without the grants the migrations give (a dump
restored onto a server where the role did not exist yet: serve said SERVING and answered every
call INTERNAL, withdrawals included). Each refusal names what is wrong (probe EB)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from consentd.config import UnsafeRuntimeRole

# Held through a role it is a member of too (probe EB: a member of the tables' owner served,
# and could turn row-level security off). Every table of the schema is read by the service
# (alembic_version from 0051 only: store/schema.py reads it when it may).
_ROLE = sa.text(
    """
SELECT r.rolsuper AS superuser, r.rolbypassrls AS bypass,
  (SELECT string_agg(s.rolname, ', ' ORDER BY s.rolname) FROM pg_roles s
   WHERE (s.rolsuper OR s.rolbypassrls) AND s.oid <> r.oid
     AND pg_has_role(current_user, s.oid, 'MEMBER')) AS through,
  -- Before PostgreSQL 16, CREATEROLE grants itself any role but a superuser: the owner too
  -- (probe EC).
  (SELECT string_agg(s.rolname, ', ' ORDER BY s.rolname) FROM pg_roles s
   WHERE s.rolcreaterole AND pg_has_role(current_user, s.oid, 'MEMBER')
     AND current_setting('server_version_num')::int < 160000) AS creates_roles,
  (SELECT string_agg(t.tablename, ', ' ORDER BY t.tablename) FROM pg_tables t
   WHERE t.schemaname = 'public' AND pg_has_role(current_user, t.tableowner, 'MEMBER')) AS owned,
  (SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c
   JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'alembic_version'
     AND NOT has_table_privilege(c.oid, 'SELECT')) AS ungranted
FROM pg_roles r WHERE r.rolname = current_user
"""
)


async def check_runtime_role(engine: AsyncEngine) -> None:
    """Raises UnsafeRuntimeRole naming why: a superuser, BYPASSRLS, a member of such a role,
    the owner (or a member of the owner) of tables, or tables not granted to it."""
    async with engine.connect() as conn:
        found = (await conn.execute(_ROLE)).one()
    why = [
        "it is a superuser" if found.superuser else "",
        "it has BYPASSRLS" if found.bypass else "",
        f"it is a member of {found.through} (superuser or BYPASSRLS)" if found.through else "",
        f"{found.creates_roles} may CREATEROLE (it can grant itself the owner)"
        if found.creates_roles
        else "",
        f"it owns tables, or is a member of their owner ({_few(found.owned)})"
        if found.owned
        else "",
    ]
    if any(why):
        raise UnsafeRuntimeRole(
            "DATABASE_URL must connect as the runtime role (e.g. consentd_app): not a superuser, "
            "not BYPASSRLS, owning no table, nor a member of a role that is or does, no "
            "CREATEROLE (before PostgreSQL 16); "
            f"{'; '.join(w for w in why if w)}. Give migrations the owner's URL in "
            "CONSENTD_MIGRATION_DATABASE_URL"
        )
    if found.ungranted:
        raise UnsafeRuntimeRole(
            f"the runtime role has not been granted the tables ({_few(found.ungranted)}; a "
            "restore onto a server where the role did not exist yet drops the dump's GRANTs): "
            "create the role, then restore again (docs/operations.md, Backups)"
        )


def _few(names: str) -> str:
    """At most five of a comma-separated list, and how many more."""
    listed = names.split(", ")
    more = f" and {len(listed) - 5} more" if len(listed) > 5 else ""
    return ", ".join(listed[:5]) + more
