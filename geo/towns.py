"""Town names of the attendance-zone table matched to 2015 census small areas.

The city's table (通学区域一覧) names towns (町丁) the way residents write them; the census
writes them its own way. Names are normalised (NFKC, 丁目 numerals, 大字/字, known
variants), ranges and "whole town" entries are expanded, and each census small area is
matched to the schools that claim it (``geo.districts`` builds the districts from that).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict

import pandas as pd

_KANJI_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


_VARIANTS = (
    ("壼", "壺"),  # the school list writes 壼川, the city 壺川
    ("ヶ", "ケ"), ("ヵ", "カ"), ("が丘", "ケ丘"),  # 武蔵ヶ丘 / 武蔵ケ丘, 錦ヶ丘 / 錦ケ丘
    ("ノ", "の"),  # 二の丸 / 二ノ丸, 山ノ内 / 山の内
    ("後古関", "後古閑"),  # census 植木町後古関, city 植木町後古閑
)


_CENSUS_ALIASES: dict[str, tuple[str, ...]] = {
    "龍田町弓削": tuple(f"弓削{k}丁目" for k in range(1, 7)),  # renamed after 2015
    "松尾町上松尾": ("上松尾町",),
}
"""Census small-area keys whose town the 2026 table names differently."""


_QUALIFIER = re.compile(r"\(([^)]*)\)$")


_CHOME = re.compile(r"([一二三四五六七八九十]+)丁目")


_TOWN_RANGE = re.compile(r"^(.*?)(\d+)丁目[~〜-](\d+)丁目$")


_WHOLE = "全域"


def _kanji_number(text: str) -> int:
    if "十" not in text:
        return _KANJI_DIGITS[text]
    tens, _, ones = text.partition("十")
    return (_KANJI_DIGITS[tens] if tens else 1) * 10 + (_KANJI_DIGITS[ones] if ones else 0)


def normalise_town(name: str) -> str:
    """Return the joining key of a town (町丁) name.

    NFKC (full-width digits and brackets to half width), whitespace removed, a trailing
    qualifier in brackets dropped (see ``split_qualifier``), 丁目 numerals in kanji turned
    into digits (一丁目 -> 1丁目, 十二丁目 -> 12丁目), 大字 and a 字 right after 町 removed
    (画図町大字上無田 -> 画図町上無田), and known spelling variants unified (ヶ/ケ, ノ/の,
    壼/壺).

    Parameters
    ----------
    name
        A town name as the census or the attendance-zone table writes it.

    Returns
    -------
    str
    """
    text = unicodedata.normalize("NFKC", str(name))
    text = re.sub(r"\s+", "", text)
    text = _QUALIFIER.sub("", text)
    text = _CHOME.sub(lambda m: f"{_kanji_number(m.group(1))}丁目", text)
    text = text.replace("大字", "")
    text = re.sub(r"町字(?=.)", "町", text)
    for old, new in _VARIANTS:
        text = text.replace(old, new)
    return text


def split_qualifier(name: str) -> tuple[str, str]:
    """Split a census name into its base and bracketed qualifier.

    The census writes towns divided between school districts with the district in
    brackets: ``春竹町大字春竹（向山）`` -> (``春竹町大字春竹``, ``向山``).
    """
    text = unicodedata.normalize("NFKC", str(name)).strip()
    match = _QUALIFIER.search(text)
    if not match:
        return text, ""
    return text[: match.start()], match.group(1)


def school_key(name: str) -> str:
    """Return the joining key of a school name.

    ``壼川小学校`` (school points), ``壺川小`` (the table) and ``壺川`` (the domain brief)
    all give ``壺川小``; ``泉ヶ丘小`` gives ``泉ケ丘小`` (see ``normalise_town``).
    """
    text = normalise_town(name).replace("小学校", "小")
    return text if text.endswith("小") else text + "小"


def expand_town(town: str) -> list[str]:
    """Expand a town range such as ``弓削1丁目～6丁目`` into single towns (NFKC applied)."""
    text = unicodedata.normalize("NFKC", str(town)).strip()
    match = _TOWN_RANGE.match(text)
    if not match:
        return [text]
    stem, first, last = match.group(1), int(match.group(2)), int(match.group(3))
    return [f"{stem}{k}丁目" for k in range(first, last + 1)]


def is_whole(residence: str, lot: str) -> bool:
    """Whether a table row gives the whole town (全域 in either column, with no exception)."""
    values = [unicodedata.normalize("NFKC", str(v)).strip() for v in (residence, lot)]
    return _WHOLE in values


def town_claims(zones: pd.DataFrame) -> pd.DataFrame:
    """Return one row per (primary school, town) claim of the attendance-zone table.

    Parameters
    ----------
    zones
        ``geo.layers.load_attendance_zones`` rows.

    Returns
    -------
    pandas.DataFrame
        ``school``, ``ward``, ``town`` (as written, ranges expanded), ``key``
        (``normalise_town``), ``whole`` (the row gives the whole town), ``n_schools``
        (schools claiming the town) and ``split`` (claimed by two or more schools: the
        town is divided by address or lot ranges). The bundle README calls a town split
        when both ``residence`` and ``lot`` are ranges; in the 2026 table most divided
        towns give residence ranges only, so the claim count is used instead.
    """
    primary = zones[zones["kind"] == "primary"]
    rows = []
    for row in primary.itertuples(index=False):
        whole = is_whole(str(row.residence), str(row.lot))
        for town in expand_town(str(row.town)):
            school = unicodedata.normalize("NFKC", str(row.school)).strip()
            rows.append({"school": school, "ward": row.ward, "town": town,
                         "key": normalise_town(town), "whole": whole})
    claims = pd.DataFrame(rows, columns=["school", "ward", "town", "key", "whole"])
    claims = claims.drop_duplicates(["school", "key"]).reset_index(drop=True)
    claims["n_schools"] = claims.groupby("key")["school"].transform("nunique")
    claims["split"] = claims["n_schools"] > 1
    return claims


def match_small_areas(small_areas: pd.DataFrame, claims: pd.DataFrame
                      ) -> tuple[dict[str, list[str]], pd.DataFrame]:
    """Match small areas to the schools claiming them.

    A small area matches a town with the same key; failing that, the longest town ending
    in 町 that prefixes it (``富合町`` claims ``富合町硴江``); failing that, every
    town that extends it with a 丁目 (``三郎`` in the census, ``三郎1丁目`` in the table).
    A bracketed census qualifier naming one of the claimants narrows the claim to it.

    Returns
    -------
    dict, pandas.DataFrame
        ``key_code -> sorted claiming schools`` (small areas no school claims are absent),
        and the claims that matched no small area (``school, ward, town, key``).
    """
    by_key: dict[str, set[str]] = defaultdict(set)
    for key, school in zip(claims["key"], claims["school"], strict=True):
        by_key[key].add(school)
    keys = sorted(by_key, key=len, reverse=True)
    used: set[str] = set()
    claimed: dict[str, list[str]] = {}
    for code, name in zip(small_areas["key_code"], small_areas["name"], strict=True):
        base, qualifier = split_qualifier(name)
        key = normalise_town(base)
        if key in by_key:
            towns = [key]
        elif key in _CENSUS_ALIASES:
            towns = [t for t in _CENSUS_ALIASES[key] if t in by_key]
        else:
            towns = [k for k in keys if k.endswith("町") and key.startswith(k)][:1]
            if not towns:
                towns = [k for k in keys if re.fullmatch(re.escape(key) + r"\d+丁目", k)]
        if not towns:
            continue
        used.update(towns)
        schools = set().union(*(by_key[t] for t in towns))
        narrowed = {s for s in schools if qualifier and school_key(s) == school_key(qualifier)}
        if narrowed:
            schools = narrowed
        claimed[code] = sorted(schools)
    unmatched = claims[~claims["key"].isin(used)][["school", "ward", "town", "key"]]
    return claimed, unmatched.reset_index(drop=True)
