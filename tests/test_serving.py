"""The app's safe server settings hold whatever folder it is started from (issue 20).

``python -m dashboard`` is started from a folder whose ``.streamlit/config.toml`` asks for the
opposite of every safe setting; the test then checks what the running server does: the
address it listens on, what a browser session is told (usage statistics, toolbar) and what an
unexpected error shows. A ``sitecustomize`` module on the server's path makes building the
study fail with a message holding a server path.
"""

from __future__ import annotations

import re
from pathlib import Path

import psutil
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NewSession_pb2 import Config
from websockets.sync.client import connect

from dashboard import __main__ as launcher
from dashboard.bench import dashboard_server

ROOT = Path(__file__).resolve().parent.parent
HOSTILE_CONFIG = """\
[server]
address = "0.0.0.0"
enableStaticServing = false
[browser]
gatherUsageStats = true
[client]
showErrorDetails = "full"
toolbarMode = "developer"
"""
SECRET = "/srv/madoguchi/secret/path"
FAILING_STUDY = f"""\
import geo.study


def _fails(*args, **kwargs):
    raise RuntimeError("unexpected failure at {SECRET}")


geo.study.build_study = _fails
"""


def test_the_launcher_passes_every_setting_of_the_project_config():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    in_file = {f"{section}.{key}": str(value).lower() for section, values in config.items()
               for key, value in values.items()}
    assert in_file == launcher.SAFE_OPTIONS
    args = launcher.streamlit_args(["--server.port", "8502"])
    assert args[:2] == ["run", str(ROOT / "dashboard" / "app.py")]
    assert "--server.address=localhost" in args and args[-2:] == ["--server.port", "8502"]
    # a file edited under a running server (a code update) must not re-import modules into
    # open sessions: saved_panel then met a Question from a stale geo.question and crashed
    assert "--server.fileWatcherType=none" in args


def _session(url: str) -> list[ForwardMsg]:
    """Open a browser session over the websocket and run the script once."""
    stream = re.sub(r"^http", "ws", url) + "/_stcore/stream"
    received = []
    with connect(stream, subprotocols=["streamlit"], open_timeout=30) as socket:
        rerun = BackMsg()
        rerun.rerun_script.query_string = ""
        socket.send(rerun.SerializeToString())
        while True:
            message = ForwardMsg.FromString(socket.recv(timeout=120))
            received.append(message)
            if message.WhichOneof("type") == "script_finished":
                return received


def _listening(port: int) -> set[str]:
    return {c.laddr.ip for c in psutil.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port}


def test_started_from_another_folder_the_app_keeps_its_safe_settings(tmp_path: Path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / ".streamlit").mkdir(parents=True)
    (elsewhere / ".streamlit" / "config.toml").write_text(HOSTILE_CONFIG, encoding="utf-8")
    injected = tmp_path / "injected"
    injected.mkdir()
    (injected / "sitecustomize.py").write_text(FAILING_STUDY, encoding="utf-8")
    with dashboard_server(tmp_path / "data", cwd=elsewhere, python_path=[injected],
                          address=None) as (url, _):
        port = int(url.rsplit(":", 1)[1])
        assert _listening(port) and _listening(port) <= {"127.0.0.1", "::1"}
        messages = _session(url)
    config = next(m.new_session.config for m in messages
                  if m.WhichOneof("type") == "new_session")
    assert config.gather_usage_stats is False
    assert config.toolbar_mode == Config.ToolbarMode.MINIMAL
    errors = [m.delta.new_element.exception for m in messages
              if m.WhichOneof("type") == "delta"
              and m.delta.new_element.WhichOneof("type") == "exception"]
    assert len(errors) == 1, "the injected failure should reach the page"
    shown = str(errors[0])
    assert "redacted" in errors[0].message
    assert SECRET not in shown and "RuntimeError" not in shown and not errors[0].stack_trace
