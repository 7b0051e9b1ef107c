"""Start the dashboard with its safe server settings, whatever the working directory.

``python -m dashboard [STREAMLIT OPTIONS]`` (what ``make app`` runs) is ``streamlit run
dashboard/app.py`` with ``SAFE_OPTIONS`` on the command line. Streamlit reads
``.streamlit/config.toml`` from the working directory only: started from another folder,
``streamlit run`` listened on every interface, showed tracebacks with server paths and
sent usage statistics out. Command-line options win over every config file, so these hold
wherever the app is started. Options given here come after them and win over them, e.g.
``--server.port 8502``, or ``--server.address 0.0.0.0`` behind the city's login only (see
README.md).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"
SAFE_OPTIONS = {
    "server.address": "localhost",  # this computer only
    "server.headless": "true",
    "server.enableStaticServing": "true",  # Leaflet from dashboard/static, no CDN
    "browser.gatherUsageStats": "false",  # no request to an outside metrics address
    "client.showErrorDetails": "none",  # a short notice, no traceback or server path
    "client.toolbarMode": "minimal",
    # no hot reload: a module re-imported under a running session (a code update while
    # the app serves) mixes old and new classes and breaks every open page
    "server.fileWatcherType": "none",
}
"""The settings ``.streamlit/config.toml`` holds, passed on the command line."""


def streamlit_args(options: Sequence[str] = ()) -> list[str]:
    """The ``streamlit`` arguments that run the app with ``SAFE_OPTIONS``, then ``options``."""
    return ["run", str(APP), *(f"--{key}={value}" for key, value in SAFE_OPTIONS.items()),
            *options]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the dashboard (blocks until the server stops)."""
    from streamlit.web import cli as streamlit_cli

    streamlit_cli.main(streamlit_args(sys.argv[1:] if argv is None else argv),
                       prog_name="streamlit")


if __name__ == "__main__":
    main()
