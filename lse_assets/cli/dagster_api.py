"""A running Dagster webserver's GraphQL API, for what has no Python API: backfills.

Used by `lse materialize --backfill` and by the end-to-end test.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import requests

from lse_assets.core.partition import Partition

_LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}"""

_BACKFILL_STATUS = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status numPartitions }
    ... on PythonError { message }
  }
}"""

_LAUNCH_RUN = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""

_RUN_STATUS = """
query($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"""

FINISHED_BACKFILL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
FINISHED_RUN = {"SUCCESS", "FAILURE", "CANCELED"}


class DagsterApiError(RuntimeError):
    pass


class DagsterApi:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/") + "/graphql"
        self.timeout = timeout

    def _call(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(
            self.url, json={"query": query, "variables": variables}, timeout=self.timeout
        )
        if not response.ok:
            raise DagsterApiError(
                f"Dagster GraphQL answered {response.status_code}: {response.text[:500]}"
            )
        body = response.json()
        if body.get("errors"):
            raise DagsterApiError(f"Dagster GraphQL errors: {body['errors']}")
        return body["data"]

    def launch_backfill(self, partitions: Iterable[Partition], assets: Iterable[str]) -> str:
        params = {
            "partitionNames": [partition.label for partition in partitions],
            "assetSelection": [{"path": [asset]} for asset in assets],
        }
        result = self._call(_LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        if result["__typename"] != "LaunchBackfillSuccess":
            raise DagsterApiError(
                f"backfill refused: {result.get('message', result['__typename'])}"
            )
        return result["backfillId"]

    def backfill_status(self, backfill_id: str) -> str:
        result = self._call(_BACKFILL_STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        if result["__typename"] != "PartitionBackfill":
            raise DagsterApiError(f"no backfill {backfill_id}: {result.get('message')}")
        return result["status"]

    def launch_run(self, location: str, job: str, tags: dict[str, str]) -> str:
        params = {
            "selector": {
                "repositoryLocationName": location,
                "repositoryName": "__repository__",
                "jobName": job,
            },
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
        }
        result = self._call(_LAUNCH_RUN, {"params": params})["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise DagsterApiError(f"run refused: {result}")
        return result["run"]["runId"]

    def run_status(self, run_id: str) -> str:
        return self._call(_RUN_STATUS, {"id": run_id})["runOrError"].get("status", "UNKNOWN")

    def wait(self, status: callable, finished: set[str], timeout: float, every: float = 2.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            current = status()
            if current in finished:
                return current
            if time.monotonic() > deadline:
                raise TimeoutError(f"still {current} after {timeout:.0f} s")
            time.sleep(every)
