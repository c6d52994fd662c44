"""The Alembic migrations form one chain: unique revision ids and exactly one head.

Several branches add migrations in parallel; this fails when two of them claim the same revision id
or both chain on the same parent, before any database sees the result.
"""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from eobatch.store.db import alembic_config


def test_migrations_have_unique_ids_and_one_head():
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    revisions = list(scripts.walk_revisions())
    ids = [r.revision for r in revisions]
    assert len(ids) == len(set(ids)), f"duplicate revision ids: {sorted(ids)}"
    assert len(scripts.get_heads()) == 1, f"more than one head: {scripts.get_heads()}"
    files = sorted(p.name for p in Path(scripts.versions).glob("0*.py"))
    assert len(files) == len(ids), f"every migration file is on the chain: {files} vs {ids}"
