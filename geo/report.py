"""The files that go to the council and to residents: workbook, 16:9 slide, A4 handout, the
residents' handout and the school-district leaflets, from one evaluation.

The dashboard's download buttons and ``python -m geo report`` call the same functions, so a
file made on screen and one made in a batch are the same file. Everything is computed from
a ``geo.study.Study`` and a ``geo.study.Result``.
"""

from __future__ import annotations

import datetime as _dt
import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd

from . import briefing, labels, leaflets, provenance, reorganisation
from . import io as gio
from . import study as study_module
from .layers import BundleFile
from .study import Result, Study

SHEETS = {
    "district": ("校区別", "By school district"),
    "small-area": ("小地域別", "By small area"),
    "ward": ("区別", "By ward"),
    "city": ("市全体", "City"),
    "offices": ("窓口", "Offices"),
    "load_shift": ("窓口の件数", "Counter load"),
    "blank": ("コンビニ空白校区", "Districts without a store"),
}
"""Workbook sheet names, Japanese and English."""
TOTAL_ROW = ("合計", "Total")
LOAD_SHIFT_WORDS = {
    "store_share": ("閉鎖窓口の証明書のうちコンビニ交付へ移る割合（仮定）",
                    "Share of the closed counters' certificates moving to stores (assumed)"),
    "reading": ("城南・南部の件数の読み方", "城南/南部 reading of the counts"),
    "r2": ("需要モデルの当てはまり R²（対数、2013年度）",
           "Demand model fit R² (log counts, FY2013)"),
    "beta": ("距離の減衰 β（/km）", "Distance decay β (per km)"),
}
"""Rows the scenario sheet gains when the load shift is predicted."""
SHIFT_HEADING = ("受付が増える窓口（推計、年間）", "Counters taking more (predicted, a year)")
TOP_RECEIVERS = 3
SUBTITLE_WORDS = {
    **labels.VALUE_LABELS["measure"],
    "drive": ("車の道路距離", "road distance by car"),
    "walk": ("徒歩の道路距離", "road distance on foot"),
    "transit": ("バス・電車＋徒歩の所要時間", "minutes by bus/tram and on foot"),
}
ASSUMPTIONS = {
    "distance": (("距離は小地域（2015年国勢調査）ごとの居住地点から"
                 "最寄りの窓口までの道路距離（{network}）"),
                 ("Distances are by road ({network}) from each 2015 census small area's "
                  "residential point to the nearest counter")),
    "district": ("小学校区は通学区域一覧の町名に小地域を割り当てた近似",
                 ("School districts are approximated by assigning small areas to the "
                  "attendance-zone table's town names")),
    "elderly": ("65歳以上は2015年の人口に2020年500 mメッシュの65歳以上の割合を掛けた推計",
                ("Residents aged 65+ are estimated: 2015 population x the 2020 500 m mesh's "
                 "share aged 65+")),
    "store_share": ("閉鎖窓口の証明書のうちコンビニ交付へ移る割合：{pct:g} %",
                    ("Share of the closed counters' certificates moving to convenience "
                     "stores: {pct:g} %")),
}
"""Lines of the handout's assumptions section."""


def _has_elderly(result: Result) -> bool:
    return "population_65plus" in result.zone_table.columns


def report_sources(study: Study, result: Result) -> list[str | BundleFile]:
    """Sources behind a report: its layers, the 2020 mesh for 65+ figures, the stores of the
    blank-district sheet, the attendance-zone table for districts, the GTFS feeds in transit
    mode."""
    return provenance.scenario_sources(measure=result.measure, store_source=result.store_source,
                                zones=result.zones, network=study.network,
                                elderly=_has_elderly(result),
                                stores=study.districts is not None,
                                timetables=study.transit_sources)


def report_tables(study: Study, result: Result, *, lang: str = "ja") -> dict[str, pd.DataFrame]:
    """The workbook's tables, with column codes (``geo.labels.labelled_table`` heads them).

    Returns
    -------
    dict
        Sheet name (``SHEETS``, in ``lang``) -> table: the zone table, the city figures,
        every office with its state, the load shift on the counters (when predicted) and
        the districts without a convenience store (when the study has districts).
    """
    index = labels.language_index(lang)
    tables = {
        SHEETS[result.zones][index]: result.zone_table,
        SHEETS["city"][index]: pd.DataFrame([result.city]),
        SHEETS["offices"][index]: office_table(study, result, lang=lang),
    }
    if result.load_shift is not None:
        tables[SHEETS["load_shift"][index]] = load_shift_table(result, lang=lang)
    if study.districts is not None:
        tables[SHEETS["blank"][index]] = study.blank_districts(result.store_source)
    return tables


def office_table(study: Study, result: Result, *, lang: str = "ja") -> pd.DataFrame:
    """Every office with its state in the scenario and its place under the 5 km rule.

    Columns ``office_id, name`` (in ``lang``), ``kind, ward, state``, then for the counters
    of the result's base set ``nearest_ward_office`` (its name), ``road_km_to_ward_office``,
    ``straight_km_to_ward_office``, ``candidate`` (the rule computed here) and
    ``official_2015`` (the 2015 plan's list); empty for offices not in the base set.
    """
    name_column = ("name_ja", "name_en")[labels.language_index(lang)]
    offices = result.offices.rename(columns={name_column: "name"})
    names = dict(zip(offices["office_id"], offices["name"], strict=True))
    rule = reorganisation.branch_distances(study.engine.model, base=result.scenario.base)
    rule = pd.DataFrame({
        "office_id": rule["office_id"],
        "nearest_ward_office": rule["nearest_ward_office_id"].map(names),
        "road_km_to_ward_office": rule["road_km"],
        "straight_km_to_ward_office": rule["straight_km"],
        "candidate": rule["candidate"], "official_2015": rule["official_2015"]})
    return offices[["office_id", "name", "kind", "ward", "state"]].merge(
        rule, on="office_id", how="left")


def load_shift_table(result: Result, *, lang: str = "ja") -> pd.DataFrame:
    """The load shift per counter (``LoadShift.export_table``) with names in ``lang`` and a
    total row; ``state`` is the office's state in the scenario. Raises ValueError when the
    result has no load shift."""
    if result.load_shift is None:
        msg = f"this result has no load shift: {result.load_shift_reason}"
        raise ValueError(msg)
    index = labels.language_index(lang)
    names = dict(zip(result.offices["office_id"], result.offices[("name_ja", "name_en")[index]],
                     strict=True))
    shift = result.load_shift.export_table().rename(columns={"status": "state"})
    shift["name"] = shift["office_id"].map(names).fillna(TOTAL_ROW[index])
    shift["state"] = shift["state"].replace("", pd.NA)
    return shift


def workbook(study: Study, result: Result, *, title: str, lang: str = "ja",
             date: _dt.date | str | None = None) -> bytes:
    """The Excel workbook: headed tables, 項目説明, シナリオ and 出典 sheets (``lang``)."""
    description = provenance.describe_scenario(
        result.scenario, measure=result.measure, store_source=result.store_source,
        offices=result.offices, date=date, title=title, lang=lang)
    if result.load_shift is not None:
        index = labels.language_index(lang)
        fit = result.load_shift.fit
        for words, value in ((LOAD_SHIFT_WORDS["store_share"], f"{100 * result.store_share:g} %"),
                             (LOAD_SHIFT_WORDS["reading"],
                              labels.VALUE_LABELS["reading"][result.reading][index]),
                             (LOAD_SHIFT_WORDS["r2"], f"{fit.r2_log:.3f}"),
                             (LOAD_SHIFT_WORDS["beta"], f"{fit.params.beta_per_km:.3f}")):
            description[words[index]] = value
    return gio.to_excel_bytes(report_tables(study, result, lang=lang),
                              scenario_description=description,
                              sources=report_sources(study, result), lang=lang)


def zone_shapes(study: Study, result: Result) -> gpd.GeoDataFrame:
    """The zone polygons (EPSG:6670) with the result's columns, for the maps."""
    polygons = study.zones[result.zones].polygons[["zone_id", "geometry"]]
    table = result.zone_table.assign(zone_id=result.zone_table["zone_id"].astype(str))
    return polygons.merge(table, on="zone_id", how="inner")


def subtitle(study: Study, result: Result, *, lang: str = "ja",
             date: _dt.date | str | None = None) -> str:
    """One line under the title: measure, travel mode, network and date."""
    index = labels.language_index(lang)
    day = str(date if date is not None else _dt.date.today().isoformat())
    return " / ".join([SUBTITLE_WORDS[result.measure][index],
                       SUBTITLE_WORDS.get(study.mode, (study.mode, study.mode))[index],
                       study.network, day])


def assumptions(study: Study, result: Result, *, lang: str = "ja") -> list[str]:
    """The handout's assumption lines (``ASSUMPTIONS``) that apply to this result."""
    index = labels.language_index(lang)
    lines = [ASSUMPTIONS["distance"][index].format(network=study.network)]
    if study.transit is not None:  # first: the caveat matters most
        if caveat := study.transit.caveat[("ja", "en")[index]]:
            lines.append(caveat)
        window = study.transit.window_label(("ja", "en")[index])
        lines.append((f"時刻表：{window}に出発した場合の所要時間の中央値",
                      f"Timetable: median minutes over departures {window}")[index])
    if result.zones == "district":
        lines.append(ASSUMPTIONS["district"][index])
    if _has_elderly(result):
        lines.append(ASSUMPTIONS["elderly"][index])
    if result.load_shift is not None:
        lines.append(ASSUMPTIONS["store_share"][index].format(pct=100 * result.store_share))
    return lines


def load_shift_notes(result: Result, *, lang: str = "ja") -> list[str]:
    """The counters taking the most of the closed counters' traffic, for the slide."""
    if result.load_shift is None:
        return []
    index = labels.language_index(lang)
    name_column = ("name_ja", "name_en")[index]
    names = dict(zip(result.offices["office_id"], result.offices[name_column], strict=True))
    gaining = result.receivers.head(TOP_RECEIVERS)
    unit = ("件/年", "a year")[index]
    lines = [f"{names[row.office_id]} +{row.change:,.0f} {unit} (+{row.change_pct:.1f}%)"
             for row in gaining.itertuples()]
    return [SHIFT_HEADING[index], *lines] if lines else []


def transit_notes(study: Study, *, lang: str = "ja") -> list[str]:
    """The 産交バス caveat for a transit study's slide, wrapped to the notes' width (empty
    otherwise); it comes before the load-shift lines, which are cut first when space runs out."""
    if study.transit is None:
        return []
    index = labels.language_index(lang)
    caveat = study.transit.caveat[("ja", "en")[index]]
    return textwrap.wrap(caveat, width=(24, 44)[index]) if caveat else []


def slide_notes(study: Study, result: Result, *, lang: str = "ja") -> list[str]:
    """The slide's notes: the transit caveat, then the counters taking the most traffic as
    far as ``geo.briefing.MAX_NOTES`` allows (their heading never without a counter)."""
    caveat = transit_notes(study, lang=lang)
    shift = load_shift_notes(result, lang=lang)[:max(0, briefing.MAX_NOTES - len(caveat))]
    return [*caveat, *shift] if len(shift) > 1 else caveat


def slide(study: Study, result: Result, *, title: str, lang: str = "ja", format: str = "png",
          date: _dt.date | str | None = None, dpi: int = 150,
          layout: str = "side-by-side", author: str | None = None) -> bytes:
    """The 16:9 briefing slide (``geo.briefing.render_briefing``) as PNG or PDF; ``layout``
    ``side-by-side`` (before / after maps) or ``change``."""
    return briefing.render_briefing(
        zone_shapes(study, result), _wards(study, lang), _marked_offices(study, result, lang),
        title=title, figures=briefing.key_figures(result.city, lang=lang), format=format,
        dpi=dpi, lang=lang, sources=report_sources(study, result), layout=layout,
        subtitle=subtitle(study, result, lang=lang, date=date),
        notes=slide_notes(study, result, lang=lang), author=author)


def handout(study: Study, result: Result, *, title: str, lang: str = "ja",
            date: _dt.date | str | None = None, author: str | None = None) -> bytes:
    """The planners' A4 portrait handout PDF (``geo.briefing.render_handout``)."""
    return briefing.render_handout(
        zone_shapes(study, result), _wards(study, lang), _marked_offices(study, result, lang),
        title=title, figures=briefing.key_figures(result.city, lang=lang),
        affected=briefing.affected_zones(result.zone_table), lang=lang, zone_kind=result.zones,
        assumptions=assumptions(study, result, lang=lang),
        sources=report_sources(study, result),
        subtitle=subtitle(study, result, lang=lang, date=date), author=author)


def residents_handout(study: Study, result: Result, *, title: str, lang: str = "ja",
                      date: _dt.date | str | None = None, author: str | None = None) -> bytes:
    """The residents' A4 handout PDF (``geo.leaflets.render_residents``): the same city
    figures in plain words, what changes, the map with the stores, and the zones whose
    nearest counter changes or gets farther (``geo.study.zone_services``)."""
    services = leaflets.affected_services(study_module.zone_services(study, result),
                                          result.zone_table)
    return leaflets.render_residents(
        zone_shapes(study, result), _wards(study, lang), _marked_offices(study, result, lang),
        study.stores[result.store_source], title=title,
        figures=briefing.key_figures(result.city, lang=lang, plain=True), services=services,
        lang=lang, zone_kind=result.zones, sources=report_sources(study, result),
        subtitle=_made(lang, date), notes=_caveat(study, lang), author=author)


def leaflet_districts(study: Study, result: Result,
                      districts: Sequence[str] | None = None) -> list[str]:
    """The districts to print a leaflet for: ``districts`` as given (``["all"]``: every
    one), else those whose nearest counter changes or gets farther, most affected first.

    Raises
    ------
    ValueError
        The result is not by school district, a name is unknown, or no district is
        affected and none is named.
    """
    if result.zones != "district":
        msg = (f"school-district leaflets need a result by district, not by {result.zones} "
               "(--by district)")
        raise ValueError(msg)
    known = result.zone_table["zone_id"].astype(str).tolist()
    if districts is None:
        services = study_module.zone_services(study, result)
        chosen = leaflets.affected_services(services, result.zone_table)["zone_id"]
        if chosen.empty:
            msg = ("no school district's counter changes or gets farther in this scenario; "
                   "name the districts to print (--districts, or all)")
            raise ValueError(msg)
        return [str(d) for d in chosen]
    if list(districts) == ["all"]:
        return known
    unknown = [d for d in districts if d not in set(known)]
    if unknown:
        msg = (f"unknown school district(s) {', '.join(unknown)}; districts are named as the "
               f"attendance-zone table writes them, e.g. {', '.join(known[:3])}")
        raise ValueError(msg)
    return list(dict.fromkeys(districts))


def district_leaflets(study: Study, result: Result, *, title: str, lang: str = "ja",
                      date: _dt.date | str | None = None,
                      districts: Sequence[str] | None = None, author: str | None = None
                      ) -> bytes:
    """One A4 leaflet page per school district (``leaflet_districts``) in one PDF
    (``geo.leaflets.render_district_leaflets``)."""
    chosen = leaflet_districts(study, result, districts)
    rows = result.zone_table.assign(zone_id=result.zone_table["zone_id"].astype(str))
    figures = {str(row["zone_id"]): leaflets.district_figures(
        {str(key): value for key, value in row.items()}, lang=lang)
        for row in rows[rows["zone_id"].isin(chosen)].to_dict("records")}
    return leaflets.render_district_leaflets(
        zone_shapes(study, result), _wards(study, lang), _marked_offices(study, result, lang),
        study.stores[result.store_source], title=title, figures=figures,
        services=study_module.zone_services(study, result), chosen=chosen, lang=lang,
        sources=report_sources(study, result), subtitle=_made(lang, date), author=author)


def _caveat(study: Study, lang: str) -> list[str]:
    """The transit caveat as one line (none outside transit mode)."""
    if study.transit is None:
        return []
    caveat = study.transit.caveat[("ja", "en")[labels.language_index(lang)]]
    return [caveat] if caveat else []


def _made(lang: str, date: _dt.date | str | None) -> str:
    day = str(date if date is not None else _dt.date.today().isoformat())
    return leaflets.WORDS["made"][labels.language_index(lang)].format(date=day)


def _wards(study: Study, lang: str) -> gpd.GeoDataFrame:
    wards = study.engine.wards
    if lang == "en" and "ward" in wards:
        return wards.assign(ward=wards["ward"].map(lambda w: labels.WARD_NAMES_EN.get(w, w)))
    return wards


def _marked_offices(study: Study, result: Result, lang: str) -> gpd.GeoDataFrame:
    marked = briefing.mark_offices(study.engine.offices, result.scenario)
    if lang == "en":  # the map labels offices from name_ja; the leaflets name their ward
        marked["name_ja"] = marked["name_en"]
        marked["ward"] = marked["ward"].map(lambda w: labels.WARD_NAMES_EN.get(w, w))
    return marked


def default_title(study: Study, result: Result, *, lang: str = "ja",
                  custom: str | None = None) -> str:
    """``geo.briefing.scenario_title`` over the reorganisation's presets."""
    presets = reorganisation.presets(study.engine.model.offices)
    return briefing.scenario_title(result.scenario, presets, lang, custom=custom)


REPORT_FILES = {"xlsx": "xlsx", "pdf": "pdf", "png": "png", "handout": "pdf",
                "residents": "pdf", "leaflets": "pdf"}
"""Report outputs and the format written to each."""


def write_report(study: Study, result: Result, targets: Mapping[str, str | os.PathLike[str]],
                 *, title: str, lang: str = "ja", date: _dt.date | str | None = None,
                 districts: Sequence[str] | None = None, author: str | None = None
                 ) -> list[Path]:
    """Render every requested file, then write them all or none (``geo.io.write_all``).

    Parameters
    ----------
    targets
        ``REPORT_FILES`` key -> path: ``xlsx`` (workbook), ``pdf`` / ``png`` (16:9 slide),
        ``handout`` (A4 PDF for planners), ``residents`` (A4 PDF for residents),
        ``leaflets`` (one A4 page per school district). Paths are checked together with
        ``geo.io.check_output_paths`` first.
    title, lang, date
        As for ``workbook``, ``slide`` and ``handout``.
    districts
        The leaflets' districts (``leaflet_districts``).
    author
        The PDFs' author (default ``geo.briefing.DEFAULT_AUTHOR``).

    Returns
    -------
    list of pathlib.Path
        The files written, in ``targets`` order.

    Raises
    ------
    ValueError
        An unknown target key.
    geo.errors.OutputError
        A path inside the data directory, an existing file of another format, a folder, or
        two targets naming one file.
    OSError
        A file cannot be written (then none is).
    """
    unknown = sorted(set(targets) - set(REPORT_FILES))
    if unknown:
        msg = (f"unknown report output(s) {', '.join(unknown)}; choose from "
               f"{', '.join(REPORT_FILES)}")
        raise ValueError(msg)
    gio.check_output_paths({key: (path, REPORT_FILES[key]) for key, path in targets.items()},
                           data=study.data)
    render = {
        "xlsx": lambda: workbook(study, result, title=title, lang=lang, date=date),
        "pdf": lambda: slide(study, result, title=title, lang=lang, format="pdf", date=date,
                             author=author),
        "png": lambda: slide(study, result, title=title, lang=lang, format="png", date=date),
        "handout": lambda: handout(study, result, title=title, lang=lang, date=date,
                                   author=author),
        "residents": lambda: residents_handout(study, result, title=title, lang=lang,
                                               date=date, author=author),
        "leaflets": lambda: district_leaflets(study, result, title=title, lang=lang, date=date,
                                              districts=districts, author=author),
    }
    return gio.write_all({targets[key]: render[key]() for key in targets})
