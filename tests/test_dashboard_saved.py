"""The planner's workflow in the dashboard (issue 10): save / open / delete in the sidebar, the
URL that reopens a view, through AppTest."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo import saved, settings

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
TIMEOUT = 240

pytestmark = pytest.mark.bundle


@pytest.fixture
def db_url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'scenarios.sqlite'}"
    monkeypatch.setenv(saved.DB_ENV_VAR, url)
    return url


@pytest.fixture
def new_app(monkeypatch, bundle_dir: Path, db_url: str):
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(bundle_dir))

    def start(**params: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        for key, value in params.items():
            at.query_params[key] = value
        at.run()
        assert not at.exception, at.exception
        return at

    return start


def _button(at: AppTest, key: str):
    return next(b for b in at.button if b.key == key)


def _url(at: AppTest) -> dict[str, str]:
    """The app's query parameters (AppTest keeps a list per key for those set before run)."""
    return {key: value if isinstance(value, str) else value[-1]
            for key, value in at.query_params.items()}


def _shown(elements) -> list[str]:
    """Texts of message elements, Markdown escapes removed (``components.plain_markdown``)."""
    return [element.value.replace("\\", "") for element in elements]


def _sidebar_texts(at: AppTest) -> list[str]:
    return _shown([*at.error, *at.warning, *at.success])


def test_save_list_and_open_restore_the_sidebar(new_app, db_url):
    at = new_app()
    at.multiselect(key="closed__ja").set_value(["oe-branch", "tobu-branch"])
    at.radio(key="measure__ja").set_value("certificate").run()
    at.text_input(key="saved_name").input("案A")
    at.text_input(key="saved_note").input("東部と大江")
    at.text_input(key="saved_author").input("区政推進課 田中")
    _button(at, "saved_save").click().run()
    assert not at.exception, at.exception
    assert "「案A」を第1版として保存しました。" in _sidebar_texts(at)

    stored = saved.ScenarioStore(db_url).open("案A")
    assert stored.version == 1
    assert stored.scenario.closed == {"oe-branch", "tobu-branch"}
    assert stored.scenario.measure == "certificate"
    assert (stored.scenario.note, stored.scenario.author) == ("東部と大江", "区政推進課 田中")
    assert _url(at)["saved"] == "案A" and _url(at)["version"] == "1"

    # a second version under the same name, then back to the first
    at.multiselect(key="closed__ja").set_value(["oe-branch"]).run()
    assert "saved" not in _url(at)  # edited: the URL now holds the fields
    assert _url(at)["close"] == "oe-branch"
    _button(at, "saved_save").click().run()
    assert [s.version for s in saved.ScenarioStore(db_url).history("案A")] == [1, 2]

    at.multiselect(key="closed__ja").set_value([])
    at.radio(key="measure__ja").set_value("counter").run()
    assert at.selectbox(key="saved_pick").value == "案A"
    at.selectbox(key="saved_version:案A").set_value(1)
    _button(at, "saved_open").click().run()
    assert not at.exception, at.exception
    assert at.session_state["closed"] == ["oe-branch", "tobu-branch"]
    assert at.multiselect(key="closed__ja").value == ["oe-branch", "tobu-branch"]
    assert at.radio(key="measure__ja").value == "certificate"
    assert at.text_input(key="saved_note").value == "東部と大江"
    assert _url(at)["saved"] == "案A" and _url(at)["version"] == "1"


def test_delete_hides_and_restore_brings_back(new_app, db_url):
    saved.ScenarioStore(db_url).save(saved.SavedScenario(name="案B", base="fy2015",
                                                         closed={"oe-branch"}))
    at = new_app()
    assert at.selectbox(key="saved_pick").options == ["案B"]
    _button(at, "saved_delete").click().run()
    assert not at.exception, at.exception
    assert not any(s.key == "saved_pick" for s in at.selectbox)
    assert at.selectbox(key="saved_deleted_pick").value == "案B"
    _button(at, "saved_restore").click().run()
    assert at.selectbox(key="saved_pick").options == ["案B"]
    assert len(saved.ScenarioStore(db_url).history("案B")) == 1


def test_saving_without_a_name_says_so_in_plain_text(new_app):
    at = new_app()
    _button(at, "saved_save").click().run()
    assert not at.exception
    assert any("a saved scenario needs a name" in text for text in _sidebar_texts(at))


def test_a_database_that_cannot_be_opened_is_a_message_not_a_traceback(new_app, tmp_path,
                                                                       monkeypatch):
    monkeypatch.setenv(saved.DB_ENV_VAR, f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.sqlite'}")
    at = new_app()
    assert not at.exception
    assert any("保存・読み込みができませんでした" in text and "cannot open the scenario database"
               in text for text in _shown(at.error)), _shown(at.error)
    assert len(at.metric) == 5  # the map page's cards are still there


def test_a_url_with_scenario_fields_opens_that_view_and_survives_a_rerun(new_app):
    at = new_app(base="fy2015", close="oe-branch,akitsu-branch", downgrade="tobu-branch",
                 measure="certificate", share="0.3")
    state = at.session_state
    assert state["closed"] == ["akitsu-branch", "oe-branch"]
    assert state["downgraded"] == ["tobu-branch"]
    assert state["measure"] == "certificate"
    assert state["store_share_pct"] == 30
    at.run()  # a rerun keeps the view and the URL
    assert at.session_state["closed"] == ["akitsu-branch", "oe-branch"]
    assert _url(at)["close"] == "akitsu-branch,oe-branch"
    assert _url(at)["share"] == "0.3"


def test_a_url_with_a_saved_name_and_version_opens_that_version(new_app, db_url):
    database = saved.ScenarioStore(db_url)
    database.save(saved.SavedScenario(name="案C", base="fy2015", closed={"oe-branch"}))
    database.save(saved.SavedScenario(name="案C", base="now", closed={"koda-general-branch"}))
    at = new_app(saved="案C", version="1")
    assert at.session_state["base"] == "fy2015"
    assert at.session_state["closed"] == ["oe-branch"]
    assert _url(at)["saved"] == "案C" and _url(at)["version"] == "1"
    latest = new_app(saved="案C")
    assert latest.session_state["base"] == "now"
    assert latest.session_state["closed"] == ["koda-general-branch"]


@pytest.mark.parametrize(("params", "said"), [
    ({"close": "oe-branch", "measure": "teleport"}, "unknown measure 'teleport'"),
    ({"saved": "no such plan"}, "no saved scenario named 'no such plan'"),
    ({"share": "lots"}, "share"),
])
def test_junk_in_the_url_gives_a_message_and_the_default_view(new_app, params, said):
    at = new_app(**params)
    assert not at.exception
    assert at.session_state["closed"] == []
    assert at.session_state["measure"] == "counter"
    assert any("URL のシナリオを読めない" in text and said in text for text in _shown(at.error)), \
        _shown(at.error)
    assert _url(at)["base"] == "fy2015"  # the URL now names the default view


def test_offices_not_in_the_opened_base_are_named_when_left_out(new_app):
    at = new_app(base="now", close="oe-branch,koda-general-branch")
    assert at.session_state["closed"] == ["koda-general-branch"]
    assert "開いたシナリオの次の窓口は「現在の窓口」にないため、外しました：大江出張所" in _shown(at.warning)
    assert _url(at)["close"] == "koda-general-branch"
