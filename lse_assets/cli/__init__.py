"""The `lse` command, one module per command family; nothing imports this package.

`run` is the console script (`lse = "lse_assets.cli:run"`); `main` the click group.
"""

from lse_assets.cli.main import main
from lse_assets.core.invocation import LSE


def run() -> None:
    """The console script: its usage lines show the one way to call `lse`."""
    main(prog_name=LSE)


__all__ = ["main", "run"]
