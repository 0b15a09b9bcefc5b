"""The Jupyter server extension: REST routes under ``/jupyter-repro/api/`` (see ``docs/rest-api.md``).

Loading the extension creates the two configurable objects the handlers use and stores them in the
tornado settings (as jupyterlab-git does): :class:`~jupyter_repro.server.config.JupyterRepro`
(``c.JupyterRepro.*``) and :class:`~jupyter_repro.server.jobs.JobManager` (``c.JobManager.*``).

The package's modules, from the request inwards: ``handlers`` (thin HTTP verbs and the one error
mapper), ``paths`` (contents paths to real paths), ``runs`` (the ledger as this server may show it),
``argv`` (every CLI command line), ``jobs`` and ``exports`` (CLI subprocesses), ``pool`` and
``worker`` (warm CLI processes, a kernel already started), ``kernels`` (the live-kernel snapshot
client), ``config`` (settings). ``docs/architecture.md`` places them in the whole.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from jupyter_repro.server.config import JupyterRepro
from jupyter_repro.server.handlers import API_PATH, JOBS_KEY, ROUTES, SETTINGS_KEY
from jupyter_repro.server.jobs import JobManager

API_PREFIX = API_PATH


def load_extension(server_app: Any) -> None:
    """Add every route of :data:`ROUTES` under the server's base URL, with the extension's settings."""
    web_app = server_app.web_app
    web_app.settings[SETTINGS_KEY] = JupyterRepro(config=server_app.config, log=server_app.log)
    web_app.settings[JOBS_KEY] = JobManager(config=server_app.config, log=server_app.log)
    base_url = web_app.settings["base_url"]
    handlers = [(url_path_join(base_url, API_PREFIX, pattern), handler) for pattern, handler in ROUTES]
    web_app.add_handlers(".*$", handlers)
    server_app.log.info("jupyter_repro: registered %d routes under /%s/", len(handlers), API_PREFIX)
