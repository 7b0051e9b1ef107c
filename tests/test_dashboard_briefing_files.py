"""The 説明会表示 page offers the residents' files of issue 21: the plain-words handout and the
school-district leaflets, the same files as ``python -m geo report --residents / --leaflets``."""

from __future__ import annotations

from pathlib import Path

import pdf_viewers
import pytest
from streamlit.testing.v1 import AppTest
from widgets import bound

from geo import report, settings
from geo.question import Question
from geo.study import build_study, evaluate

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


@pytest.mark.bundle
def test_the_briefing_page_downloads_the_residents_handout_and_leaflets(
        monkeypatch, bundle_dir, downloads):
    monkeypatch.setenv(settings.DATA_ENV_VAR, str(bundle_dir))
    app = AppTest.from_file(APP, default_timeout=240)
    app.run()
    bound(app.multiselect, "closed").set_value(["oe-branch"]).run()
    app.switch_page("views/briefing.py").run()
    assert not app.exception, app.exception
    residents = downloads["briefing_fy2015_1closed_residents.pdf"]
    leaflets = downloads["briefing_fy2015_1closed_leaflets.pdf"]
    assert pdf_viewers.page_lines(residents)[0][0] == "住民のみなさまへ"
    study = build_study(bundle_dir)
    expected = report.leaflet_districts(study, evaluate(study, Question(
        base="fy2015", closed={"oe-branch"})))
    assert [page[0] for page in pdf_viewers.page_lines(leaflets)] == [
        f"{district}校区のみなさまへ" for district in expected]
