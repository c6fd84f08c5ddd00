"""The Dagster objects: partitions, assets, checks, jobs, schedules, sensors, resource wiring.

Only this floor (and the CLI above it) may import Dagster; domain errors from core and
resources become `dg.Failure` here, at the boundary (boundary.py).
"""

import warnings

import dagster as dg

# Per-partition asset checks are a preview feature in Dagster 1.13. We rely on them on
# purpose (one check status per day, not one per asset), so the warning is noise for users
# wherever Dagster itself raises it again (loading, running the checks).
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
