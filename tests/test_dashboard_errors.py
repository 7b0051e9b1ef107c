"""Dashboard hardening through AppTest: data errors get the explanation page, never a traceback;
data-supplied text shows as plain text; the app says where it is served."""

from __future__ import annotations

import json
import pathlib
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from widgets import bound

from dashboard import dataerror
from dashboard.components import plain_markdown
from geo import layers, settings

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
TIMEOUT = 240
EVIL = '![x](http://evil.example/x.png)<img src="http://evil.example/y.png">大江 $x$ :red[!]'


def _damaged(tmp_path: Path, bundle_dir: Path, key: str, damage: Callable[[str], str]) -> Path:
    """A copy of the bundle (links to its files) where one file's text is damaged."""
    root = tmp_path / "bundle"
    for source in bundle_dir.rglob("*"):
        if source.is_file():
            target = root / source.relative_to(bundle_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source)
    target = root / layers.BUNDLE_FILES[key].relpath
    text = target.read_text(encoding="utf-8")
    target.unlink()
    target.write_text(damage(text), encoding="utf-8")
    return root


def _duplicate_office(text: str) -> str:
    lines = text.splitlines(keepends=True)
    return "".join([*lines, lines[2]])


def _degrees_labelled_metric(text: str) -> str:
    collection = json.loads(text)
    collection["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::6670"}}
    return json.dumps(collection, ensure_ascii=False)


def _text_population(text: str) -> str:
    collection = json.loads(text)
    collection["features"][5]["properties"]["population_2015"] = "約千人"
    return json.dumps(collection, ensure_ascii=False)


def _unknown_school(text: str) -> str:
    table = json.loads(text)
    table["rows"][0]["school"] = "幻小"
    return json.dumps(table, ensure_ascii=False)


def _evil_office_name(text: str) -> str:
    return text.replace(",大江出張所,", ',"' + EVIL.replace('"', '""') + '",', 1)


def _shown(at: AppTest) -> str:
    """Every element the page shows (protobuf text, so labels, values and tables too)."""
    parts: list[str] = []

    def walk(node) -> None:
        if getattr(node, "proto", None) is not None:
            parts.append(str(node.proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def _run(monkeypatch, data: Path) -> AppTest:
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(data))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    return at


def _assert_explained(at: AppTest, data: Path, *, file: str, says: str) -> None:
    assert not at.exception, at.exception
    assert at.title[0].value == "データに問題があります"
    shown = _shown(at)
    assert "Traceback" not in shown and str(data) not in shown and str(ROOT) not in shown
    message = " ".join(t.value for t in at.text)
    assert says in message and file in message
    assert file in at.dataframe[0].value.iloc[:, 0].tolist()


@pytest.mark.bundle
@pytest.mark.filterwarnings("ignore:Could not parse column")
@pytest.mark.parametrize(("key", "damage", "says"), [
    ("offices", _duplicate_office, "duplicate office_id 'higashi-ward-office'"),
    ("small_areas", _degrees_labelled_metric, "degrees in EPSG:4326 labelled as EPSG:6670"),
    ("small_areas", _text_population, "non-numeric population_2015 '約千人'"),
    ("attendance_zones", _unknown_school, "幻小"),
])
def test_a_data_error_shows_the_explanation_page(tmp_path, monkeypatch, bundle_dir, key, damage,
                                                 says):
    data = _damaged(tmp_path, bundle_dir, key, damage)
    at = _run(monkeypatch, data)
    _assert_explained(at, data, file=layers.BUNDLE_FILES[key].relpath, says=says)


@pytest.mark.bundle
def test_a_layer_over_the_size_limit_shows_the_explanation_page(tmp_path, monkeypatch,
                                                                bundle_dir):
    data = _damaged(tmp_path, bundle_dir, "offices", lambda text: text)
    monkeypatch.setenv(settings.MAX_FEATURES_ENV_VAR, "100")
    at = _run(monkeypatch, data)
    _assert_explained(at, data, file=layers.BUNDLE_FILES["small_areas"].relpath,
                      says="932 features is more than the 100 allowed per layer")


def test_an_unreadable_data_directory_shows_the_explanation_page(tmp_path, monkeypatch):
    data = tmp_path / "locked"
    data.mkdir()
    original = pathlib.Path.is_file

    def denied(self) -> bool:
        if str(self).startswith(str(data)):
            raise PermissionError(13, "Permission denied", str(self))
        return original(self)

    monkeypatch.setattr(pathlib.Path, "is_file", denied)
    at = _run(monkeypatch, data)
    assert not at.exception, at.exception
    shown = _shown(at)
    assert "Traceback" not in shown and str(tmp_path) not in shown
    assert "cannot be read (Permission denied)" in at.expander[0].text[0].value
    assert "$MADOGUCHI_DATA" in at.expander[0].text[0].value


@pytest.mark.bundle
def test_a_bad_store_layer_that_is_not_shown_is_explained_at_start(tmp_path, monkeypatch,
                                                                   bundle_dir):
    # the study reads every store source once (a store switch then rebuilds nothing)
    data = _damaged(tmp_path, bundle_dir, "stores_lawson2013", _degrees_labelled_metric)
    at = _run(monkeypatch, data)
    _assert_explained(at, data, file=layers.BUNDLE_FILES["stores_lawson2013"].relpath,
                      says="labelled as EPSG:6670")
    assert len(at.title) == 1


@pytest.mark.bundle
def test_an_office_name_holding_markdown_and_html_shows_as_plain_text(tmp_path, monkeypatch,
                                                                      bundle_dir):
    data = _damaged(tmp_path, bundle_dir, "offices", _evil_office_name)
    at = _run(monkeypatch, data)
    bound(at.multiselect, "closed").set_value(["oe-branch"]).run()
    assert not at.exception, at.exception
    markdown = [m.value for m in at.markdown if "evil" in m.value]
    assert markdown, "the load-shift lines name the closed office"
    for value in markdown:
        assert plain_markdown(EVIL) in value
        assert EVIL not in value
    at.switch_page("views/briefing.py").run()
    at.text_input[0].set_value(EVIL).run()
    assert not at.exception, at.exception
    assert at.markdown[0].value == "# " + plain_markdown(EVIL)
    assert EVIL in at.text_input[0].value  # the input itself keeps what was typed


@pytest.mark.bundle
def test_exports_carry_an_office_name_as_written(tmp_path, monkeypatch, bundle_dir, downloads):
    data = _damaged(tmp_path, bundle_dir, "offices", _evil_office_name)
    at = _run(monkeypatch, data)
    bound(at.multiselect, "closed").set_value(["oe-branch"]).run()
    at.switch_page("views/tables.py").run()
    assert not at.exception, at.exception
    text = downloads["load_shift.csv"].decode("utf-8-sig")
    assert EVIL.replace('"', '""') in text  # CSV quoting only: the name is text, as written


def test_plain_markdown_escapes_every_active_mark():
    assert plain_markdown("a*b_c`d[e](f)<g>#h|i~j$k:l!m&n\\o\np") == (
        r"a\*b\_c\`d\[e\]\(f\)\<g\>\#h\|i\~j\$k\:l\!m\&n\\o p")
    assert plain_markdown("大江出張所") == "大江出張所"


def test_public_message_hides_server_paths(tmp_path):
    data = tmp_path / "bundle"
    message = (f"{data}/offices/offices.csv: row 3: duplicate office_id 'x'; see "
               f"{ROOT}/data/offices/counter_transactions.csv and /var/cache/madoguchi/graph.pkl")
    assert dataerror.public_message(message, data) == (
        "offices/offices.csv: row 3: duplicate office_id 'x'; see "
        "data/offices/counter_transactions.csv and graph.pkl")
    assert dataerror.public_message(f"data directory {data} does not exist", data) == (
        "data directory $MADOGUCHI_DATA does not exist")


def test_the_app_serves_on_localhost_and_says_so(monkeypatch):
    from dashboard.components import served_on

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "localhost"
    assert config["client"]["showErrorDetails"] == "none"
    options = {"server.address": "localhost", "server.port": 8501}
    monkeypatch.setattr("streamlit.get_option", options.__getitem__)
    assert served_on() == ("このダッシュボードの公開先：http://localhost:8501 "
                           "このコンピューターからのみ開けます。")
    options["server.address"] = ""
    assert served_on().startswith("このダッシュボードの公開先：http://0.0.0.0:8501 ネットワーク上")


def test_the_sidebar_states_the_address_on_every_page(monkeypatch, tmp_path):
    at = _run(monkeypatch, tmp_path / "nowhere")  # even on the explanation page
    assert at.title[0].value == "データがありません"
    assert any(c.value.startswith("このダッシュボードの公開先：http://")
               for c in at.sidebar.caption)
