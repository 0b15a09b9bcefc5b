"""Server configuration for the ui-tests: Galata's defaults (no token, a temporary root directory)."""

from jupyterlab.galata import configure_jupyter_server

configure_jupyter_server(c)  # type: ignore[name-defined]  # noqa: F821

# CI machines run the tests as root; the server is bound to localhost and lives only for the test run.
c.ServerApp.allow_root = True  # type: ignore[name-defined]  # noqa: F821
