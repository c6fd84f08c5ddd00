"""The local data directory that holds partitions' run files and zips (LSE_DATA_DIR)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
from pydantic import Field

from lse_assets.core.runfiles import PartitionPaths


class RunFilesResource(dg.ConfigurableResource):
    data_dir: str = Field(description="Root of `<project-slug>/<date>/` partition directories.")

    def paths(self, project: str, day: date) -> PartitionPaths:
        return PartitionPaths(Path(self.data_dir).expanduser().resolve(), project, day)
