"""Alembic environment: the cockpit's metadata, SQLite batch mode for ALTERs.

Autogenerate compares what the models create on the connected dialect: objects marked
``ddl_if(dialect=...)`` for the other dialect are left out, and so are the monthly partitions of
the partitioned tables (cockpit.store.partitions), which are storage, not schema.
"""

import re

from alembic import context

from cockpit.store import partitions
from cockpit.store.models import Base
from cockpit.store.db import make_engine

config = context.config
target_metadata = Base.metadata


PARTITION_NAME = re.compile(r"^(%s)_(p\d{4}_\d{2}|default)$" % "|".join(partitions.PARTITIONED))


def _include_name(name, type_, _parents) -> bool:
    return not (type_ == "table" and PARTITION_NAME.match(name or ""))


def _include_object_for(dialect: str):
    def include_object(obj, _name, _type, reflected, _compare_to) -> bool:
        ddl_if = getattr(obj, "_ddl_if", None)
        return reflected or ddl_if is None or ddl_if.dialect is None or ddl_if.dialect == dialect
    return include_object


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                          include_name=_include_name,
                          include_object=_include_object_for(connection.dialect.name))
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
