"""The `lse` command, one module per command family; nothing imports this package.

`main` is re-exported for the console script (`lse = "lse_assets.cli:main"`).
"""

from lse_assets.cli.main import main

__all__ = ["main"]
