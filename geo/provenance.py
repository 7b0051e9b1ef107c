"""Where the figures come from: the data sources with their attribution, and the scenario
they describe.

``sources_table`` lists the bundle files a result is computed from (``scenario_sources``)
with the publishers' attribution texts, ``sources_line`` writes them as one 出典 line for a
page or a map, and ``describe_scenario`` words a scenario for the scenario sheet, so a
table sent to another department keeps its context and attribution.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from .labels import VALUE_LABELS, language_index
from .layers import BUNDLE_FILES, NETWORK_FILES, BundleFile

if TYPE_CHECKING:
    from .scenarios import Scenario

_SOURCE_COLUMNS = ["key", "file", "description", "source", "licence", "attribution"]


SOURCE_HEADERS = {
    "ja": ("データ", "ファイル", "内容", "提供元", "利用条件", "出典表記"),
    "en": ("Data", "File", "Description", "Source", "Licence", "Attribution"),
}
"""Headings of the sources sheet (the codes of ``_SOURCE_COLUMNS`` when no language is given)."""
DESCRIPTIONS_JA = {
    "wards": "行政区の境界（5区）",
    "small_areas": "2015年国勢調査の小地域（人口つき）",
    "schools": "小学校の位置",
    "attendance_zones": "小・中学校の通学区域（学校 → 町名）",
    "offices": "区役所・出張所・サービスコーナー（24か所）",
    "stores_osm": "コンビニ（OSM 2026-07-30）",
    "stores_overture": "コンビニ（Overture 2026-07）",
    "stores_lawson2013": "ローソンの店舗（2013年8月）",
    "mesh": "2020年国勢調査 500 mメッシュ人口（年齢階級別）",
    "roads": "市全域の道路（通行実績つき）",
    "osm_drive_chuo": "OSMの車道（中央区のみ）",
    "osm_city_drive_nodes": "OSMの車道網（市全域）：ノード",
    "osm_city_drive_edges": "OSMの車道網（市全域）：一方通行つきの有向リンク",
    "osm_walk_chuo": "OSMの全ての道（中央区のみ）",
}
"""Japanese descriptions of the bundle files (``BundleFile.description`` is English)."""
SOURCES_PREFIX = {"ja": "出典：", "en": "Sources: "}
_ATTRIBUTION_PREFIX = "出典："


def sources_table(sources: Iterable[str | BundleFile] | pd.DataFrame, *,
                  lang: str | None = None) -> pd.DataFrame:
    """Describe data sources, one row per bundle file, with its attribution text.

    Parameters
    ----------
    sources
        Keys of ``geo.layers.BUNDLE_FILES`` (e.g. ``["wards", "small_areas", "offices",
        "roads"]``), ``BundleFile`` objects, or a ready table (returned as is).
    lang
        ``ja`` or ``en``: headings (``SOURCE_HEADERS``) and descriptions in that language;
        ``None``: the column codes below. Attribution texts stay as the publishers require.

    Returns
    -------
    pandas.DataFrame
        ``key, file, description, source, licence, attribution``.

    Raises
    ------
    ValueError
        For a key that is not a bundle file.
    """
    if isinstance(sources, pd.DataFrame):
        return sources.copy()
    rows = []
    for item in sources:
        entry = item if isinstance(item, BundleFile) else _bundle_file(item)
        description = (DESCRIPTIONS_JA.get(entry.key, entry.description) if lang == "ja"
                       else entry.description)
        rows.append([entry.key, entry.relpath, description, entry.source, entry.licence,
                     entry.attribution])
    if lang is not None:
        language_index(lang)
    headers = _SOURCE_COLUMNS if lang is None else list(SOURCE_HEADERS[lang])
    return pd.DataFrame(rows, columns=headers)


def _bundle_file(key: str) -> BundleFile:
    try:
        return BUNDLE_FILES[key]
    except KeyError as e:
        msg = f"unknown data source {key!r}; known sources are {', '.join(BUNDLE_FILES)}"
        raise ValueError(msg) from e


def attribution_text(sources: Iterable[str | BundleFile], *, sep: str = " / ") -> str:
    """Join the attribution texts of data sources into one line, each text once, in order.

    Parameters
    ----------
    sources
        Keys of ``geo.layers.BUNDLE_FILES`` or ``BundleFile`` objects.
    """
    texts = sources_table(list(sources))["attribution"]
    return sep.join(dict.fromkeys(texts))


def sources_line(sources: Iterable[str | BundleFile], *, lang: str = "ja",
                 sep: str = " / ") -> str:
    """One 出典 line for a page or a map: the prefix once, then each attribution once.

    The publishers' texts begin with 「出典：」 themselves; it is dropped from each so the
    line never reads 「出典：出典：」.
    """
    texts = sources_table(list(sources))["attribution"].str.removeprefix(_ATTRIBUTION_PREFIX)
    language_index(lang)
    return SOURCES_PREFIX[lang] + sep.join(dict.fromkeys(texts))


def scenario_sources(*, measure: str = "counter", store_source: str = "union",
                     zones: str = "district", network: str = "osm-city-drive",
                     elderly: bool = False, stores: bool = False,
                     timetables: Sequence[BundleFile] = ()) -> list[str | BundleFile]:
    """Return the bundle keys a scenario result is computed from (for the sources sheet).

    Parameters
    ----------
    measure
        ``counter`` or ``certificate`` (certificate results also use convenience stores).
    store_source
        ``osm``, ``overture``, ``lawson2013`` or ``union`` (OSM + Overture).
    zones
        ``district`` (school districts: small areas + attendance zones), ``small-area``
        or ``ward``.
    network
        Road network (``geo.engine.NETWORKS``).
    elderly
        The output shows 65+ figures (estimated from the 2020 mesh).
    stores
        The output uses convenience stores whatever the measure (e.g. blank districts).
    timetables
        The GTFS feeds of transit minutes (``geo.study.Study.transit_sources``), last.
    """
    keys: list[str | BundleFile] = ["wards", "small_areas", "offices",
                                    NETWORK_FILES[network][-1]]
    if elderly:
        keys.append("mesh")
    if zones == "district":
        keys.append("attendance_zones")
    if measure == "certificate" or stores:
        chosen = ["osm", "overture"] if store_source == "union" else [store_source]
        keys += [f"stores_{s}" for s in chosen]
    return [*keys, *timetables]


SCENARIO_WORDS = {
    "item": ("項目", "Item"), "value": ("内容", "Value"), "title": ("シナリオ", "Scenario"),
    "base": ("基準の窓口", "Base office set"), "closed": ("閉鎖", "Closed"),
    "downgraded": ("サービスコーナー化", "Downgraded to service corners"),
    "measure": ("指標", "Measure"), "stores": ("コンビニの出典", "Convenience-store source"),
    "date": ("作成日", "Date"), "none": ("なし", "none"),
    **VALUE_LABELS["base"], **VALUE_LABELS["measure"],
}
"""Wording of the scenario sheet, Japanese and English."""


def describe_scenario(
    scenario: Scenario, *, measure: str, store_source: str, offices: pd.DataFrame | None = None,
    date: _dt.date | str | None = None, title: str | None = None, lang: str | None = None,
) -> dict[str, str]:
    """Describe a ``geo.scenarios.Scenario`` for the scenario sheet of an export.

    Parameters
    ----------
    scenario
        The scenario (``base``, ``closed``, ``downgraded``).
    measure, store_source
        As passed to ``geo.scenarios.compare`` / ``geo.engine.load_engine``.
    offices
        Office register with ``office_id`` and ``name_ja`` (and ``name_en`` for English):
        closed / downgraded offices are listed by name as well as id.
    date
        Date of the export (default: today).
    title
        Optional scenario title shown first.
    lang
        ``ja`` or ``en`` for labels and values in that language only; ``None`` for Japanese
        labels with English in brackets.

    Returns
    -------
    dict
        Ordered label -> text.
    """
    index = None if lang is None else language_index(lang)

    def word(key: str) -> str:
        ja, en = SCENARIO_WORDS[key]
        return f"{ja} ({en})" if index is None else (ja, en)[index]

    name_column = "name_en" if lang == "en" else "name_ja"
    names = ({} if offices is None or name_column not in offices
             else dict(zip(offices["office_id"], offices[name_column], strict=False)))
    separator = ", " if lang == "en" else "、"

    def listing(ids: Iterable[str]) -> str:
        items = [f"{names[i]} ({i})" if i in names else i for i in sorted(ids)]
        return separator.join(items) if items else word("none")

    if lang is None:  # the labels and values of the original bilingual sheet
        labels = {k: f"{SCENARIO_WORDS[k][0]} ({_LEGACY_EN[k]})" for k in _LEGACY_EN}
        values = {"fy2015": "2015年度の窓口 (FY2015 office set)",
                  "now": "現在の窓口 (today's office set)",
                  "counter": "窓口 (full counter)",
                  "certificate": "証明書 (certificate: counters, corners, stores)"}
    else:
        labels = {k: word(k) for k in _LEGACY_EN}
        values = {k: word(k) for k in ("fy2015", "now", "counter", "certificate")}
    description = {labels["title"]: title} if title else {}
    description.update({
        labels["base"]: values.get(scenario.base, scenario.base),
        labels["closed"]: listing(scenario.closed),
        labels["downgraded"]: listing(scenario.downgraded),
        labels["measure"]: values.get(measure, measure),
        labels["stores"]: store_source,
        labels["date"]: str(date if date is not None else _dt.date.today().isoformat()),
    })
    return description


_LEGACY_EN = {"title": "scenario", "base": "base office set", "closed": "closed",
              "downgraded": "downgraded", "measure": "measure", "stores": "store source",
              "date": "date"}
