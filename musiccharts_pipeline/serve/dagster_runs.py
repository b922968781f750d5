"""Launching a chart sync through the running Dagster webserver, with Dagster's own GraphQL
client: the run is queued and executed by the deployment like any run the sensor requests (same
job, asset selection, partition tags). The only module of the server that imports Dagster code."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from musiccharts_pipeline.sync.subscriptions import Subscription

#: The job the sync sensor requests runs of (automation/sync_sensor.py).
CATALOGUE_JOB = "catalogue"
SYNC_JOB = "chart_sync"

_ADD_PARTITION = """
mutation AddChartPartition($selector: RepositorySelector!, $name: String!, $key: String!) {
  addDynamicPartition(repositorySelector: $selector, partitionsDefName: $name, partitionKey: $key) {
    __typename
    ... on PythonError { message }
    ... on UnauthorizedError { message }
  }
}
"""


_JOB_LOCATIONS = """
query JobLocations {
  repositoriesOrError {
    __typename
    ... on RepositoryConnection { nodes { name location { name } pipelines { name } } }
    ... on PythonError { message }
  }
}
"""


class DagsterUnreachable(RuntimeError):
    """No Dagster webserver answers at the configured URL (answered as 503)."""


class DagsterRefused(RuntimeError):
    """The webserver answered but did not launch the run (answered as 502)."""


def graphql_client(url: str, timeout: int = 30):
    from dagster_graphql import DagsterGraphQLClient

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DagsterUnreachable(f"MUSICCHARTS_DAGSTER_URL is not an http(s) URL: {url!r}")
    return DagsterGraphQLClient(
        parts.hostname,
        port_number=parts.port,
        use_https=parts.scheme == "https",
        path_prefix=parts.path.rstrip("/"),
        timeout=timeout,
    )


def launch_sync(url: str, sub: Subscription, start: dt.date, end: dt.date) -> str:
    """Launch one run syncing ``sub``'s chart for ``start..end``; returns its run id."""
    from dagster_graphql import DagsterGraphQLClientError

    from musiccharts_pipeline.automation.sync_sensor import CHART_TAG, selection_for
    from musiccharts_pipeline.partitions import charts, partition_request

    client = graphql_client(url)
    request = partition_request(sub.chart_slug, start, end)
    tags = dict(request["tags"])
    if request.get("partition_key"):
        tags["dagster/partition"] = request["partition_key"]
    try:
        selector = _job_location(url, SYNC_JOB)
        # the chart's partition, as the sync sensor adds it for a new subscription (Dagster's
        # Python client has no call for this mutation; the webserver's GraphQL API has)
        added = _graphql(
            url,
            _ADD_PARTITION,
            {"selector": selector, "name": charts.name, "key": sub.chart_slug},
        )["addDynamicPartition"]
        if added["__typename"] not in (
            "AddDynamicPartitionSuccess",
            "DuplicateDynamicPartitionError",
        ):
            raise DagsterRefused(f"Dagster refused the chart partition: {added.get('message')}")
        return client.submit_job_execution(
            SYNC_JOB,
            repository_location_name=selector["repositoryLocationName"],
            repository_name=selector["repositoryName"],
            tags={CHART_TAG: sub.chart_slug, "musiccharts/launched_by": "serve", **tags},
            asset_selection=selection_for(sub),
        )
    except DagsterGraphQLClientError as exc:
        raise _launch_failed(exc, url, "sync") from None


def launch_catalogue(url: str) -> str:
    """Launch the daily catalogue job now (the watchlist and albums; only what is due)."""
    from dagster_graphql import DagsterGraphQLClientError

    client = graphql_client(url)
    try:
        return client.submit_job_execution(CATALOGUE_JOB, tags={"musiccharts/launched_by": "serve"})
    except DagsterGraphQLClientError as exc:
        raise _launch_failed(exc, url, "catalogue run") from None


def _graphql(url: str, query: str, variables: dict | None = None, timeout: int = 30) -> dict:
    """One query or mutation against the webserver's public GraphQL endpoint; its data."""
    import requests

    try:
        response = requests.post(
            f"{url.rstrip('/')}/graphql",
            json={"query": query, "variables": variables or {}},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise _launch_failed(exc, url, "sync") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or body.get("errors") or "data" not in body:
        detail = body.get("errors") or f"HTTP {response.status_code}"
        raise DagsterRefused(f"the Dagster webserver at {url} refused a query: {detail}")
    return body["data"]


def _job_location(url: str, job: str) -> dict:
    """The repository selector of the one code location that has ``job``."""
    found = _graphql(url, _JOB_LOCATIONS)["repositoriesOrError"]
    if found["__typename"] != "RepositoryConnection":
        raise DagsterRefused(f"Dagster could not list its code locations: {found.get('message')}")
    selectors = [
        {"repositoryLocationName": node["location"]["name"], "repositoryName": node["name"]}
        for node in found["nodes"]
        if any(p["name"] == job for p in node["pipelines"])
    ]
    if len(selectors) != 1:
        raise DagsterRefused(
            f"the Dagster deployment at {url} has {len(selectors)} jobs named {job!r}"
        )
    return selectors[0]


def _launch_failed(exc: BaseException, url: str, what: str) -> Exception:
    """The error a failed launch is reported as: no webserver answering, or its refusal."""
    if _unreachable(exc):
        return DagsterUnreachable(
            f"no Dagster webserver answers at {url} (MUSICCHARTS_DAGSTER_URL): start it "
            "with `make dev`, or point MUSICCHARTS_DAGSTER_URL at the running one"
        )
    return DagsterRefused(f"Dagster did not launch the {what}: {exc}")


def _unreachable(exc: BaseException) -> bool:
    """Whether a client error comes from no server answering (refused, reset, timed out): the
    client wraps requests' error in gql's, then in its own."""
    import requests

    seen = exc
    while seen is not None:
        if isinstance(seen, requests.ConnectionError | requests.Timeout):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
