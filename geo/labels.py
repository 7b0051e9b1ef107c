"""The column vocabulary: each exported column's heading, explanation, unit and rounding.

``COLUMN_LABELS`` heads every column of the tables in Japanese and English and says what it
holds; ``VALUE_LABELS`` writes coded values (an office's state, its kind, the measure) in
words. ``labelled_table`` applies both, so the screen, the files and the paper read alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd

from .scenarios import DEFAULT_THRESHOLDS_M, DEFAULT_THRESHOLDS_MIN, NO_FACILITY, SLOW_WALK_KMH


class ColumnLabel(NamedTuple):
    """How one column is headed and explained in an export, and how it is rounded."""

    ja: str
    en: str
    explain_ja: str
    explain_en: str
    unit: str
    """``people``, ``count`` (transactions), ``km``, ``m``, ``min``, ``pct``, ``ratio`` or
    ``text``."""


DECIMALS = {"people": 0, "count": 0, "m": 0, "km": 2, "ratio": 2, "min": 1, "pct": 1}
"""Rounding per unit: whole persons, transactions and metres; km and ratios to 0.01;
minutes and % to 0.1."""
LANGUAGES = ("ja", "en")
_WHEN = {"before": ("変更前", "before", "閉鎖前", "before the closures"),
         "after": ("変更後", "after", "閉鎖後", "after the closures")}


_TRANSIT_NOTE = ("九州産交バスの時刻表がないため下限",
                 "a lower bound: the 九州産交バス timetable is missing")


def _transit_labels(thresholds_min: Iterable[int]) -> dict[str, ColumnLabel]:
    """Headings of the transit columns (``geo.study`` in transit mode)."""
    labels = {}
    for when, (ja, en, explain_ja, explain_en) in _WHEN.items():
        labels[f"transit_{when}_min"] = ColumnLabel(
            f"バス・電車＋徒歩の所要時間（{ja}, 分）", f"Minutes by bus/tram and on foot ({en})",
            f"{explain_ja}の最寄り窓口までの所要時間の平均（出発時刻帯の中央値、{_TRANSIT_NOTE[0]}）",
            f"Mean minutes to the nearest counter {explain_en} (median over the departure "
            f"window; {_TRANSIT_NOTE[1]})", "min")
        for minutes in thresholds_min:
            labels[f"transit_beyond_{minutes}min_{when}"] = ColumnLabel(
                f"バス・徒歩で{minutes}分超の人（{ja}）",
                f"People more than {minutes} min away by bus and on foot ({en})",
                f"{explain_ja}に最寄り窓口まで{minutes}分を超える人数（{_TRANSIT_NOTE[0]}）",
                f"Residents more than {minutes} minutes from the nearest counter "
                f"{explain_en} ({_TRANSIT_NOTE[1]})", "people")
            labels[f"transit_beyond_{minutes}min_{when}_65plus"] = ColumnLabel(
                f"バス・徒歩で{minutes}分超の65歳以上（{ja}）",
                f"Aged 65+ more than {minutes} min away by bus and on foot ({en})",
                "同上のうち65歳以上の推計人数", "Of those, residents aged 65 and over",
                "people")
    for minutes in thresholds_min:
        labels[f"people_within_{minutes}min"] = ColumnLabel(
            f"{minutes}分以内に来られる人", f"People within {minutes} min",
            f"バス・電車と徒歩でこの窓口まで{minutes}分以内の人数（{_TRANSIT_NOTE[0]}）",
            f"Residents who reach this counter within {minutes} minutes by bus, tram and on "
            f"foot ({_TRANSIT_NOTE[1]})", "people")
        labels[f"people_65plus_within_{minutes}min"] = ColumnLabel(
            f"{minutes}分以内に来られる65歳以上", f"Aged 65+ within {minutes} min",
            "同上のうち65歳以上の推計人数", "Of those, residents aged 65 and over", "people")
    labels["transit_lost_direct_ride_people"] = ColumnLabel(
        "乗り換えなしで窓口へ行けなくなる人", "People losing their only direct ride",
        "閉鎖前は乗り換えなしのバス・電車で窓口へ行けたが、閉鎖後は行けなくなる人数",
        "Residents who had a ride without a transfer to a counter before and have none "
        "after", "people")
    return labels


def _beyond_labels(thresholds_km: Iterable[float]) -> dict[str, ColumnLabel]:
    labels = {}
    for km in thresholds_km:
        for when, (ja, en, explain_ja, explain_en) in _WHEN.items():
            labels[f"beyond_{km:g}km_{when}"] = ColumnLabel(
                f"{km:g}kmより遠い人（{ja}）", f"People beyond {km:g} km ({en})",
                f"{explain_ja}に最寄りの窓口まで道路距離で{km:g}kmより遠い人数（到達できない人を含む）",
                f"Residents farther than {km:g} km by road from the nearest counter "
                f"{explain_en} (including those who can reach none)", "people")
            labels[f"beyond_{km:g}km_{when}_65plus"] = ColumnLabel(
                f"{km:g}kmより遠い65歳以上（{ja}）", f"Aged 65+ beyond {km:g} km ({en})",
                "同上のうち65歳以上の推計人数（2020年メッシュの65歳以上の割合から推計）",
                "Of those, residents aged 65 and over (estimated from the 2020 mesh's "
                "share aged 65+)", "people")
    return labels


COLUMN_LABELS: dict[str, ColumnLabel] = {
    # zone table and city summary (geo.scenarios.compare / summary)
    "zone_id": ColumnLabel("区域コード", "Zone id", "校区名・小地域コード・区コード",
                           "School-district name, small-area code or ward code", "text"),
    "zone_name": ColumnLabel("区域", "Zone", "小学校区・小地域・区の名称",
                             "Name of the school district, small area or ward", "text"),
    "ward": ColumnLabel("区", "Ward", "行政区", "Administrative ward", "text"),
    "population": ColumnLabel("人口", "Population", "2015年国勢調査の人口（人）",
                              "Residents, 2015 census", "people"),
    "population_65plus": ColumnLabel(
        "65歳以上人口", "Population aged 65+",
        "65歳以上の推計人口（2015年人口 × 2020年メッシュの65歳以上の割合）",
        "Residents aged 65+, estimated (2015 population x the 2020 mesh's share aged 65+)",
        "people"),
    "before_km": ColumnLabel("平均距離（変更前, km）", "Mean distance before (km)",
                             "閉鎖前の最寄りの窓口までの道路距離の人口加重平均",
                             "Population-weighted mean road distance to the nearest counter "
                             "before the closures", "km"),
    "after_km": ColumnLabel("平均距離（変更後, km）", "Mean distance after (km)",
                            "閉鎖後の最寄りの窓口までの道路距離の人口加重平均",
                            "Population-weighted mean road distance to the nearest counter "
                            "after the closures", "km"),
    "before_max_km": ColumnLabel("最大距離（変更前, km）", "Largest distance before (km)",
                                 "閉鎖前に最も遠い住民の道路距離",
                                 "Road distance of the farthest residents before the closures",
                                 "km"),
    "after_max_km": ColumnLabel("最大距離（変更後, km）", "Largest distance after (km)",
                                "閉鎖後に最も遠い住民の道路距離",
                                "Road distance of the farthest residents after the closures",
                                "km"),
    "delta_km": ColumnLabel("平均距離の増加（km）", "Increase in mean distance (km)",
                            "変更後の平均距離 − 変更前の平均距離",
                            "Mean distance after minus mean distance before", "km"),
    "people_farther": ColumnLabel("最寄り窓口が遠くなる人",
                                  "People whose nearest counter gets farther",
                                  "最寄りの窓口までの道路距離が1 mより長くなる人数",
                                  "Residents whose road distance to the nearest counter grows "
                                  "by more than 1 m", "people"),
    **_beyond_labels(km / 1000 for km in DEFAULT_THRESHOLDS_M),
    **_transit_labels(DEFAULT_THRESHOLDS_MIN),
    "status": ColumnLabel("状態", "Status",
                          "「到達できる窓口なし」は道路で窓口に行けない住民がいる区域",
                          "'no facility reachable': some residents reach no counter by road",
                          "text"),
    "before_min": ColumnLabel("徒歩時間（変更前, 分）", "Walking minutes before",
                              "平均距離を歩く時間（分速は設定の歩行速度）",
                              "Mean distance at the set walking speed, minutes", "min"),
    "after_min": ColumnLabel("徒歩時間（変更後, 分）", "Walking minutes after",
                             "平均距離を歩く時間（分速は設定の歩行速度）",
                             "Mean distance at the set walking speed, minutes", "min"),
    "before_min_slow": ColumnLabel("徒歩時間・75歳以上（変更前, 分）",
                                   "Walking minutes, aged 75+, before",
                                   f"平均距離を時速{SLOW_WALK_KMH:g}kmで歩く時間",
                                   f"Mean distance at {SLOW_WALK_KMH:g} km/h, minutes", "min"),
    "after_min_slow": ColumnLabel("徒歩時間・75歳以上（変更後, 分）",
                                  "Walking minutes, aged 75+, after",
                                  f"平均距離を時速{SLOW_WALK_KMH:g}kmで歩く時間",
                                  f"Mean distance at {SLOW_WALK_KMH:g} km/h, minutes", "min"),
    # office table (geo.scenarios.office_status) and load shift (LoadShift.export_table)
    "office_id": ColumnLabel("窓口ID", "Office id", "このシステムでの窓口の識別子",
                             "Identifier of the office in this system", "text"),
    "name": ColumnLabel("名称", "Name", "窓口または小地域の名称",
                        "Name of the office or the small area", "text"),
    "kind": ColumnLabel("種別", "Type", "区役所・総合出張所・出張所・分室・サービスコーナー",
                        "Ward office, general branch, branch, annex or service corner", "text"),
    "state": ColumnLabel("シナリオでの状態", "State in the scenario",
                         "存続・サービスコーナー化・閉鎖・対象外（基準の窓口にない）",
                         "Open, downgraded, closed, or not in the base office set", "text"),
    "fy2013": ColumnLabel("2013年度の件数", "FY2013 transactions",
                          "2013年度に窓口で扱った件数（実績）",
                          "Transactions the counter handled in FY2013 (recorded)", "count"),
    "predicted_before": ColumnLabel("推計件数（変更前, 件/年）",
                                    "Predicted transactions before (a year)",
                                    "需要モデルによる閉鎖前の年間件数",
                                    "Transactions a year before the closures, demand model",
                                    "count"),
    "predicted_after": ColumnLabel("推計件数（変更後, 件/年）",
                                   "Predicted transactions after (a year)",
                                   "需要モデルによる閉鎖後の年間件数",
                                   "Transactions a year after the closures, demand model",
                                   "count"),
    "change": ColumnLabel("件数の増減（件/年）", "Change (transactions a year)",
                          "推計件数（変更後）− 推計件数（変更前）",
                          "Predicted after minus predicted before", "count"),
    "change_pct": ColumnLabel("件数の増減率（%）", "Change (%)", "増減 ÷ 変更前の推計件数 × 100",
                              "Change divided by the prediction before, per cent", "pct"),
    # the offices against the 5 km rule (geo.reorganisation.branch_distances)
    "nearest_ward_office": ColumnLabel("最寄りの区役所", "Nearest ward office",
                                       "道路距離で最も近い区役所",
                                       "The ward office nearest by road", "text"),
    "road_km_to_ward_office": ColumnLabel(
        "区役所までの道路距離（km）", "Road distance to the ward office (km)",
        "最寄りの区役所までの道路距離（2015年の再編は5 km以内の出張所を閉鎖の候補とした）",
        "Road distance to the nearest ward office (the 2015 reorganisation made branches "
        "within 5 km candidates for closure)", "km"),
    "straight_km_to_ward_office": ColumnLabel(
        "区役所までの直線距離（km）", "Straight distance to the ward office (km)",
        "同じ区役所までの直線距離", "Straight-line distance to that ward office", "km"),
    "candidate": ColumnLabel("5 kmルールの候補（この計算）", "5 km rule candidate (computed)",
                             "区役所まで道路で5 km以内の出張所・総合出張所",
                             "A branch within 5 km of a ward office by road", "text"),
    "official_2015": ColumnLabel("2015年計画の候補", "Candidate in the 2015 plan",
                                 "2015年の再編計画が閉鎖の候補とした窓口",
                                 "An office the 2015 reorganisation plan listed for closure",
                                 "text"),
    # blank districts (geo.stores.blank_districts)
    "district": ColumnLabel("小学校区", "School district",
                               "小学校区（通学区域一覧から近似）",
                               "Elementary school district (approximated from the "
                               "attendance-zone table)", "text"),
    "nearest_store_km": ColumnLabel("最寄りのコンビニ（km）", "Nearest store (km)",
                                    "校区の住民から最寄りのコンビニまでの道路距離の平均",
                                    "Mean road distance from the district's residents to the "
                                    "nearest convenience store", "km"),
    # network check (geo.network_check.NetworkCheck): figures, walls, detours, far snaps
    "figure": ColumnLabel("項目", "Figure", "表の項目（見出しは他の表の列と同じ）",
                          "The figure (named as the other tables' columns)", "text"),
    "value": ColumnLabel("値", "Value", "項目の値（単位は項目名のとおり）",
                         "Value of the figure (in the unit its name gives)", "text"),
    "node_a": ColumnLabel("ノードA", "Node A", "道路網の交点の番号", "Road-network node number",
                          "text"),
    "node_b": ColumnLabel("ノードB", "Node B", "道路網の交点の番号", "Road-network node number",
                          "text"),
    **{f"{axis}_{end}": ColumnLabel(
        f"{axis.upper()}座標{end.upper()}（m）", f"{axis} of node {end.upper()} (m)",
        "平面直角座標系II系（EPSG:6670）の座標", "Coordinate in EPSG:6670 (JGD2011 / II)", "m")
       for end in ("a", "b") for axis in ("x", "y")},
    "gap_m": ColumnLabel("直線の間隔（m）", "Gap (m)", "2つの交点の直線距離",
                         "Straight-line distance between the two nodes", "m"),
    "road_m": ColumnLabel("道路での距離（m）", "By road (m)",
                          "2つの交点を道路でつなぐ最短距離（空欄はつながらない）",
                          "Shortest road distance between the two nodes (empty: not "
                          "connected)", "m"),
    "key_code": ColumnLabel("小地域コード", "Small-area code", "2015年国勢調査の小地域コード",
                            "2015 census small-area code", "text"),
    "road_km": ColumnLabel("道路距離（km）", "Road distance (km)",
                           "最寄りの窓口までの道路距離", "Road distance to the nearest counter",
                           "km"),
    "straight_km": ColumnLabel("直線距離（km）", "Straight distance (km)",
                               "同じ窓口までの直線距離", "Straight-line distance to that counter",
                               "km"),
    "detour": ColumnLabel("迂回率", "Detour index",
                          "道路距離 ÷ 直線距離（3以上は道路網の欠陥を疑う）",
                          "Road distance / straight distance (3 or more: suspect the network)",
                          "ratio"),
    "id": ColumnLabel("ID", "Id", "窓口IDまたは小地域コード", "Office id or small-area code",
                      "text"),
    "snap_m": ColumnLabel("道路までの距離（m）", "Distance to the road (m)",
                          "地点から最寄りの道路までの直線距離", "Straight-line distance from the "
                          "point to the nearest road", "m"),
}
"""Every column of the exported tables: Japanese and English heading, explanation, unit."""

VALUE_LABELS: dict[str, dict[Any, tuple[str, str]]] = {
    "status": {"ok": ("到達可", "ok"), NO_FACILITY: ("到達できる窓口なし", "no counter reachable")},
    "state": {"open": ("存続", "open"), "downgraded": ("サービスコーナー化", "downgraded"),
              "closed": ("閉鎖", "closed"), "not in base": ("対象外", "not in base")},
    "kind": {"ward_office": ("区役所", "Ward office"),
             "general_branch": ("総合出張所", "General branch"), "branch": ("出張所", "Branch"),
             "annex": ("分室", "Annex"), "service_corner": ("サービスコーナー", "Service corner"),
             "office": ("窓口", "Office"), "origin": ("居住地点", "Origin")},
    "measure": {"counter": ("窓口（住民異動・戸籍の届出）", "Full counters (registrations)"),
                "certificate": ("証明書（コンビニ交付を含む）",
                                "Certificates (incl. convenience stores)")},
    "base": {"fy2015": ("2015年度の窓口", "FY2015 office set"),
             "now": ("現在の窓口", "Today's office set")},
    "reading": {"brief": ("資料の読み（城南 23,920・南部 24,100 件、既定）",
                          "as in the brief (城南 23,920, 南部 24,100; default)"),
                "alternative": ("別の読み（城南 24,100・南部 23,920 件）",
                                "alternative (城南 24,100, 南部 23,920)")},
    "candidate": {True: ("候補", "candidate"), False: ("", "")},
    "official_2015": {True: ("候補", "candidate"), False: ("", "")},
}
"""Coded values written in words: the one vocabulary of the screen, the files and the paper
(an office's ``state``, its ``kind``, the ``measure``, the ``base`` office set...)."""
WARD_NAMES_EN = {"中央区": "Chuo", "東区": "Higashi", "西区": "Nishi", "南区": "Minami",
                 "北区": "Kita"}


def language_index(lang: str) -> int:
    """Position of ``lang`` in ``LANGUAGES`` (0 for ``ja``, 1 for ``en``).

    Raises
    ------
    ValueError
        For another language.
    """
    if lang not in LANGUAGES:
        msg = f"unknown language {lang!r}; choose ja or en"
        raise ValueError(msg)
    return LANGUAGES.index(lang)


def column_label(code: str, lang: str = "ja") -> str:
    """Heading of column ``code`` in ``lang`` (``ja`` or ``en``).

    Raises
    ------
    KeyError
        For a column ``COLUMN_LABELS`` does not describe.
    """
    return COLUMN_LABELS[code][language_index(lang)]


def labelled_table(table: pd.DataFrame, *, lang: str = "ja") -> pd.DataFrame:
    """Round a table by unit, write coded values in words and head its columns in ``lang``.

    People and transactions become whole numbers, km 0.01, minutes and percentages 0.1
    (``DECIMALS``); numbers stay numbers. ``status``, ``state`` and ``kind`` values become
    words (``VALUE_LABELS``), and in English ward names are romanised.

    Parameters
    ----------
    table
        Columns named as in ``COLUMN_LABELS``; a GeoDataFrame loses its geometry.
    lang
        ``ja`` or ``en``.

    Raises
    ------
    KeyError
        A column has no entry in ``COLUMN_LABELS`` (so no export goes out with a code as
        its heading).
    """
    index = language_index(lang)
    plain = _plain_table(table).copy()
    unknown = [c for c in plain.columns if c not in COLUMN_LABELS]
    if unknown:
        msg = (f"no export heading for column(s) {', '.join(map(str, unknown))}; add them to "
               f"COLUMN_LABELS")
        raise KeyError(msg)
    for column in plain.columns:
        unit = COLUMN_LABELS[column].unit
        if unit in DECIMALS:
            numbers = pd.to_numeric(plain[column], errors="coerce").round(DECIMALS[unit])
            numbers = numbers.where(np.isfinite(numbers))  # no infinity in a spreadsheet
            plain[column] = numbers.astype("Int64") if DECIMALS[unit] == 0 else numbers
        words = VALUE_LABELS.get(column)
        if words:
            plain[column] = plain[column].map(lambda v, w=words: w[v][index] if v in w else v)
        if column == "ward" and lang == "en":
            plain[column] = plain[column].map(lambda v: WARD_NAMES_EN.get(v, v))
    return plain.rename(columns={c: COLUMN_LABELS[c][index] for c in plain.columns})


def figures_table(values: Mapping[str, object], *, lang: str = "ja") -> pd.DataFrame:
    """One row per figure: ``figure`` headed in ``lang``, ``value`` rounded by its unit.

    ``values`` maps column codes (``COLUMN_LABELS``) to single values, e.g. the city figures
    of ``geo.study.Result.city``: the table is ``labelled_table`` of that one row, turned
    on its side (numbers stay numbers).
    """
    row = labelled_table(pd.DataFrame([dict(values)]), lang=lang).iloc[0]
    return pd.DataFrame({"figure": list(row.index),
                         "value": [None if pd.isna(v) else v for v in row.to_list()]})


def column_explanations(columns: Iterable[str], *, lang: str = "ja") -> pd.DataFrame:
    """The 項目説明 sheet: each column's heading and explanation, each column once."""
    index = language_index(lang)
    rows = [(COLUMN_LABELS[c][index], COLUMN_LABELS[c][index + 2])
            for c in dict.fromkeys(columns)]
    headers = (("項目", "説明"), ("Column", "Explanation"))[index]
    return pd.DataFrame(rows, columns=list(headers))


def _plain_table(table: pd.DataFrame) -> pd.DataFrame:
    """Drop the geometry column of a GeoDataFrame: tables travel without shapes."""
    if isinstance(table, gpd.GeoDataFrame):
        return pd.DataFrame(table.drop(columns=table.geometry.name))
    return table
