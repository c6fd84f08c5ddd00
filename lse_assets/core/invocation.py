"""How a person runs LSE on a machine set up by the README: the one prefix of every command
that a hint, an error, an alert or a --help text shows (tests/test_invocation.py keeps it so).

`lse` itself is on the PATH only inside the container image; there the docs say so."""

RUN_PY = "python3 run.py"
LSE = f"{RUN_PY} lse"
