"""The views an analytics run can leave out of its dbt selection: in place, as this project's
current SQL would make them.

The view materialization (dbt_project/macros/materializations/view.sql) already leaves a view
whose compiled SQL is unchanged in place, but dbt still spends its per-node work on it (compile,
context, events, artifacts: about 20 ms of interpreter time per view at 20x, a quarter of a
one-day refresh above dbt's own floor). A view only reads its tables at query time, so a build
that brings new rows needs none of it.

A view is left out when all of these hold, read from the manifest and the catalog:

- its SQL is plain: no macro, no hook, and its only Jinja is ``ref()``/``source()`` calls, so
  its SQL is fixed by the file's checksum and the database-qualified names of the relations it
  reads;
- the warehouse holds it as a view whose comment carries that code key (written by the view
  materialization when it made the view: ``view_code_key`` there, :func:`code_key` here);
- every model it reads is a view in place too, or an incremental model stored as a table that
  no configuration rebuilds whole (a table model is swapped by each build, and PostgreSQL drops
  the views that read the old table with it), or a source (a seed or a snapshot keeps the view
  in the build).

The manifest must be as new as the project's files (:func:`edited_since`): a model edited after
the last ``dbt parse`` would otherwise be judged by its old checksum. Anything else goes through
dbt as before, which remains the judge of what to replace.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from musiccharts_pipeline.warehouse import Warehouse

Manifest = Mapping[str, Any]

_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_NAME = r"""\s*(?:'[\w.-]+'|"[\w.-]+")\s*"""
_REF_OR_SOURCE = re.compile(rf"\s*(?:ref|source)\({_NAME}(?:,{_NAME})?\)\s*")


def load_manifest(path: Path) -> Manifest:
    return _load(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _load(path: Path, _mtime: int) -> Manifest:
    return json.loads(path.read_text())


def edited_since(manifest_path: Path, project_dir: Path) -> list[Path]:
    """The project's files (models, macros, dbt_project.yml) newer than the manifest."""
    parsed = manifest_path.stat().st_mtime
    files = [project_dir / "dbt_project.yml"]
    for folder in ("models", "macros"):
        files += (p for p in (project_dir / folder).rglob("*") if p.is_file())
    return [p for p in files if p.stat().st_mtime > parsed]


def code_key(manifest: Manifest, unique_id: str, database: str) -> str:
    """The checksum of the view's SQL file, its own name and its parents' (as view.sql), in
    ``database``: the warehouse's, which dbt's run-time names carry wherever the manifest (parsed
    for some other warehouse, maybe) names the view's own database."""
    node = manifest["nodes"][unique_id]

    def name(of: Mapping[str, Any]) -> str:
        db = database if of["database"] == node["database"] else of["database"]
        return f"{db}.{of['schema']}.{of.get('alias') or of['identifier']}"

    parents = [
        manifest["nodes"].get(p) or manifest["sources"][p] for p in node["depends_on"]["nodes"]
    ]
    text = f"{node['checksum']['checksum']}|{name(node)}|{','.join(sorted(map(name, parents)))}"
    return hashlib.md5(text.encode()).hexdigest()


def is_plain(node: Mapping[str, Any]) -> bool:
    """A view whose compiled SQL is its file with ``ref``/``source`` calls resolved."""
    config = node["config"]
    if config.get("materialized") != "view" or node["depends_on"]["macros"]:
        return False
    if config.get("pre-hook") or config.get("post-hook"):
        return False
    code = _COMMENT.sub("", node["raw_code"])
    if "{%" in code:
        return False
    return all(_REF_OR_SOURCE.fullmatch(e) for e in _EXPRESSION.findall(code))


def _catalog(wh: Warehouse, schemas: set[str]) -> dict[tuple[str, str], tuple[str, str | None]]:
    """{(schema, name): ("view" | "table", comment)} for the relations in those schemas."""
    if wh.backend == "duckdb":
        sql = (
            "SELECT schema_name AS s, view_name AS name, 'view' AS kind, comment "
            "FROM duckdb_views() WHERE NOT internal AND database_name = current_database() "
            "UNION ALL SELECT schema_name, table_name, 'table', comment FROM duckdb_tables() "
            "WHERE database_name = current_database()"
        )
    else:
        sql = (
            "SELECT n.nspname AS s, c.relname AS name, "
            "CASE c.relkind WHEN 'v' THEN 'view' ELSE 'table' END AS kind, "
            "obj_description(c.oid, 'pg_class') AS comment "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('v', 'r', 'p') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        )
    frame = wh.read_frame(sql)
    return {
        (row.s, row.name): (row.kind, row.comment) for row in frame.itertuples() if row.s in schemas
    }


def views_in_place(manifest: Manifest, wh: Warehouse) -> set[str]:
    """Unique ids of the view models a build can leave out (see the module's docstring)."""
    models = {
        uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"
    }
    catalog = _catalog(wh, {node["schema"] for node in models.values()})
    database = str(wh.scalar("SELECT current_database()"))
    decided: dict[str, bool] = {}

    def stored(node) -> tuple[str | None, str | None]:
        return catalog.get((node["schema"], node["alias"]), (None, None))

    def in_place(uid: str) -> bool:
        if uid not in decided:
            node = models[uid]
            kind, comment = stored(node)
            decided[uid] = (
                is_plain(node)
                and kind == "view"
                and (comment or "").endswith(f" code:{code_key(manifest, uid, database)}")
                and all(stays(parent) for parent in node["depends_on"]["nodes"])
            )
        return decided[uid]

    def stays(uid: str) -> bool:
        """A parent the build will not replace under the view."""
        if uid.startswith("source."):  # the warehouse's own tables
            return True
        if uid not in models:  # a seed or a snapshot: rebuilt by dbt's own commands
            return False
        node = models[uid]
        config = node["config"]
        if config.get("materialized") == "view":
            return in_place(uid)
        return (
            config.get("materialized") == "incremental"
            and not config.get("full_refresh")
            and stored(node)[0] == "table"
        )

    return {uid for uid in models if in_place(uid)}
