"""`musiccharts serve`: the JSON read API, the subscriptions API and the browsable pages over
the warehouse, for the people who use the data (FastAPI, uvicorn, Jinja2). Plain Python: the
only Dagster code it calls is the GraphQL client that launches a manual sync."""

from musiccharts_pipeline.serve.app import create_app

__all__ = ["create_app"]
