"""The dashboard's pages and widgets through Streamlit's AppTest (no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo import layers, settings

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
TIMEOUT = 240


def _bundle() -> Path:
    root = settings.data_dir()
    try:
        layers.check_bundle(root)
    except Exception:
        pytest.skip(f"data bundle not found at {root} (set MADOGUCHI_DATA)")
    return root


@pytest.fixture
def app(monkeypatch) -> AppTest:
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(_bundle()))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def _open_ids(base: str = "fy2015") -> list[str]:
    offices = layers.load_offices(settings.data_dir())
    return offices.loc[offices[f"counter_{base}"], "office_id"].tolist()


def _metrics(at: AppTest) -> list[str]:
    return [m.value for m in at.metric]


def test_missing_data_directory_shows_a_page_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(tmp_path / "nowhere"))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert at.title[0].value == "データがありません"
    assert any("データフォルダ" in w.value for w in at.warning)
    assert "MADOGUCHI_DATA" in at.code[0].value
    assert "nowhere" in at.session_state["data_error"]


@pytest.mark.bundle
def test_map_page_starts_from_the_fy2015_set_with_nobody_farther(app):
    assert app.session_state["preset"] == "fy2015"
    assert app.session_state["closed"] == []
    values = _metrics(app)
    assert len(values) == 4
    assert values[0] == "0 人"
    assert not app.error


@pytest.mark.bundle
def test_districts_are_the_default_zone_layer_when_available(app):
    from dashboard import cache

    if cache.district_layer(str(settings.data_dir())) is None:
        pytest.skip("geo.districts is not available")
    assert app.selectbox(key="zone_layer__ja").value == "district"


@pytest.mark.bundle
def test_closing_an_office_in_the_sidebar_changes_the_cards(app):
    before = _metrics(app)
    app.multiselect(key="closed__ja").set_value(["oe-branch"]).run()
    assert not app.exception
    after = _metrics(app)
    assert after != before
    assert after[0] != "0 人"
    assert app.dataframe  # most affected zones


@pytest.mark.bundle
def test_downgrading_keeps_certificates(app):
    app.multiselect(key="downgraded__ja").set_value(["oe-branch"]).run()
    counter = _metrics(app)
    app.radio(key="measure__ja").set_value("certificate").run()
    certificate = _metrics(app)
    assert counter[0] != "0 人"
    assert certificate[0] == "0 人"  # the downgraded corner still issues certificates


@pytest.mark.bundle
def test_a_map_click_toggles_the_office(app):
    app.session_state["pending_toggle"] = ("tobu-branch", "close")
    app.run()
    assert app.session_state["closed"] == ["tobu-branch"]
    app.session_state["pending_toggle"] = ("tobu-branch", "close")
    app.run()
    assert app.session_state["closed"] == []
    app.session_state["pending_toggle"] = ("tobu-branch", "downgrade")
    app.run()
    assert app.session_state["downgraded"] == ["tobu-branch"]


@pytest.mark.bundle
def test_presets_set_the_office_set(app):
    from dashboard import cache

    app.selectbox(key="preset__ja").set_value("proposal2015").run()
    assert not app.exception
    expected = sorted(cache.candidates(str(settings.data_dir()), "union"))
    assert expected, "the 5 km rule finds candidates"
    assert sorted(app.session_state["closed"]) == expected
    assert app.session_state["base"] == "fy2015"
    app.selectbox(key="preset__ja").set_value("now").run()
    assert app.session_state["base"] == "now"
    assert app.session_state["closed"] == []
    assert "oe-branch" not in _open_ids("now")



@pytest.mark.bundle
def test_closing_everything_says_no_counter_reachable(app):
    app.multiselect(key="closed__ja").set_value(_open_ids()).run()
    assert not app.exception
    assert any("到達できる窓口がありません" in e.value for e in app.error)
    app.switch_page("views/briefing.py").run()
    assert not app.exception
    assert any("到達できる窓口がありません" in e.value for e in app.error)


@pytest.mark.bundle
def test_english_interface(app):
    app.radio(key="lang").set_value("en").run()
    assert not app.exception
    assert app.title[0].value.startswith("Map")
    assert app.metric[0].label.startswith("People whose nearest counter")


@pytest.mark.bundle
@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("page", ["views/briefing.py", "views/tables.py", "views/sources.py"])
def test_every_page_renders(app, page, lang):
    app.multiselect(key="closed__ja").set_value(["oe-branch", "akitsu-branch"]).run()
    app.switch_page(page).run()
    app.radio(key="lang").set_value(lang).run()
    assert app.session_state["closed"] == ["oe-branch", "akitsu-branch"]
    assert app.multiselect(key=f"closed__{lang}").value == ["oe-branch", "akitsu-branch"]
    assert not app.exception, app.exception
    assert app.title or app.markdown


@pytest.mark.bundle
def test_sources_page_lists_every_layer_with_attribution(app):
    app.switch_page("views/sources.py").run()
    table = app.dataframe[0].value
    assert len(table) == len(layers.BUNDLE_FILES)
    text = " ".join(table.astype(str).to_numpy().ravel())
    for entry in layers.BUNDLE_FILES.values():
        assert entry.attribution in text
