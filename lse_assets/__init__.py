"""LSE on Dagster: the code location package (see lse_assets.definitions)."""

import warnings

import dagster as dg

# Per-partition asset checks are a preview feature in Dagster 1.13. We rely on them on
# purpose (one check status per day, not one per asset), so the warning is noise for users.
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
