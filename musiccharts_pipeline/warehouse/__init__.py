"""The warehouse: schema migrations and atomic bulk writes on DuckDB or PostgreSQL.

Plain SQLAlchemy Core; no Dagster imports.
"""

from musiccharts_pipeline.warehouse.store import SCHEMA, Warehouse, WarehouseError

__all__ = ["SCHEMA", "Warehouse", "WarehouseError"]
