"""School districts: name matching, a hand-made split, coverage cleaning, stores, the real
bundle."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

from geo import districts as gd
from geo import io as gio
from geo import layers, scenarios
from geo import stores as gs
from geo import towns as gt
from geo.errors import LayerError
from geo.scenarios import AccessModel, Scenario

CRS = "EPSG:6670"


# --- names (cases taken from the 2026 attendance-zone table and the 2015 census) ----------


@pytest.mark.parametrize(("raw", "key"), [
    ("江津３丁目", "江津3丁目"),  # full-width digits in the table
    ("上代１０丁目", "上代10丁目"),
    ("帯山一丁目", "帯山1丁目"),  # kanji 丁目 numerals
    ("上代十丁目", "上代10丁目"),
    ("龍田十二丁目", "龍田12丁目"),
    ("画図町大字上無田", "画図町上無田"),  # 大字 prefix
    ("春竹町大字春竹（向山）", "春竹町春竹"),  # census qualifier in full-width brackets
    ("八分字町", "八分字町"),  # a 字 that belongs to the name stays
    (" 高橋町２丁目 ", "高橋町2丁目"),
])
def test_normalise_town(raw: str, key: str) -> None:
    assert gt.normalise_town(raw) == key


@pytest.mark.parametrize(("a", "b"), [
    ("武蔵ヶ丘9丁目", "武蔵ケ丘９丁目"),  # census writes both
    ("錦ヶ丘", "錦ケ丘"),
    ("二の丸", "二ノ丸"),
    ("植木町後古閑", "植木町後古関"),  # table vs census spelling
    ("画図町大字重富", "画図町重富"),
])
def test_known_variants_share_a_key(a: str, b: str) -> None:
    assert gt.normalise_town(a) == gt.normalise_town(b)


def test_different_towns_keep_different_keys() -> None:
    assert gt.normalise_town("元三町") != gt.normalise_town("元三町1丁目")
    assert gt.normalise_town("八幡1丁目") != gt.normalise_town("八幡11丁目")


def test_school_key_joins_points_table_and_brief() -> None:
    assert gt.school_key("壼川小学校") == gt.school_key("壺川小") == gt.school_key("壺川")
    assert gt.school_key("泉ヶ丘小学校") == gt.school_key("泉ヶ丘小")


def test_split_qualifier() -> None:
    assert gt.split_qualifier("平山町（託麻北）") == ("平山町", "託麻北")
    assert gt.split_qualifier("平山町") == ("平山町", "")


def test_expand_town_range() -> None:
    assert gt.expand_town("弓削1丁目～6丁目") == [f"弓削{k}丁目" for k in range(1, 7)]
    assert gt.expand_town("京町本丁") == ["京町本丁"]


@pytest.mark.parametrize(("residence", "lot", "whole"), [
    ("全域", "", True),
    ("", "全域", True),
    ("全域", "1061番地、1077番地2", True),
    ("1番～4番", "", False),
    ("", "以下を除く植木町鞍掛全域1番地1～1番地99", False),
    ("", "全域(ただし、旧地番の167番地5～99、257番地、258番地を除く)", False),
])
def test_is_whole(residence: str, lot: str, whole: bool) -> None:
    assert gt.is_whole(residence, lot) is whole


def _zones(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"school": s, "ward": "中央区", "town": t, "residence": r, "lot": lot,
                          "kind": "primary"} for s, t, r, lot in rows])


def test_town_claims_flags_towns_claimed_by_several_schools() -> None:
    zones = _zones([
        ("壺川小", "内坪井町", "全域", ""),
        ("壺川小", "坪井1丁目", "1番、4番、5番、7番～9番", ""),
        ("碩台小", "坪井1丁目", "2番～3番、6番", ""),
    ])
    zones.loc[len(zones)] = {"school": "壺川中", "ward": "中央区", "town": "内坪井町",
                             "residence": "全域", "lot": "", "kind": "secondary"}
    claims = gt.town_claims(zones).set_index(["school", "key"])
    assert not claims.loc[("壺川小", "内坪井町"), "split"]
    assert claims.loc[("壺川小", "坪井1丁目"), "split"]
    assert claims.loc[("碩台小", "坪井1丁目"), "split"]
    assert "壺川中" not in claims.index.get_level_values("school")


def test_match_rules() -> None:
    zones = _zones([
        ("富合小", "富合町", "", "全域"),
        ("帯山小", "三郎1丁目", "1番～6番", ""),
        ("尾ノ上小", "三郎2丁目", "全域", ""),
        ("春竹小", "春竹町大字春竹", "", "全域"),
        ("向山小", "春竹町大字春竹", "", "1番地"),
        ("弓削小", "弓削1丁目～6丁目", "全域", ""),
        ("中島小", "新港1丁目", "", "全域"),
    ])
    small = pd.DataFrame({"key_code": ["1", "2", "3", "4", "5"],
                          "name": ["富合町硴江", "三郎", "春竹町大字春竹（向山）", "龍田町弓削",
                                   "新鍛冶屋町"]})
    claimed, unmatched = gt.match_small_areas(small, gt.town_claims(zones))
    assert claimed["1"] == ["富合小"]  # a 町 in the table prefixes the census 町+字
    assert claimed["2"] == ["尾ノ上小", "帯山小"]  # census 三郎 holds both 丁目 of the table
    assert claimed["3"] == ["向山小"]  # the census qualifier narrows the claim
    assert claimed["4"] == ["弓削小"]  # renamed since 2015
    assert "5" not in claimed
    assert unmatched["town"].tolist() == ["新港1丁目"]


# --- a hand-made town/school fixture with a known split -----------------------------------
#
#   y=200 +-------------------------------------------+  D: unclaimed frame (pop 10)
#         |   +------+-------------+ +-------+        |
#         |   | A S1 | B: S1 | S2  |g| C S2  |        |  A overlaps B by 1 m; g: 2 m gap
#         |   +------+-------------+ +-------+        |
#  y=-100 +-------------------------------------------+
#          x=-100   0     100  150  300 302  400     500
# S1 stands at (50, 50), S2 at (250, 50): the bisector x = 150 gives S1 a quarter of B.


@pytest.fixture
def tiny() -> gd.DistrictLayer:
    frame = box(-100, -100, 500, 200).difference(box(0, 0, 400, 100))
    small = gpd.GeoDataFrame({
        "key_code": ["A", "B", "C", "D"], "ward_code": "43101", "ward": "中央区",
        "name": ["甲町", "乙1丁目", "丙町", "丁町"],
        "name_nfkc": ["甲町", "乙1丁目", "丙町", "丁町"],
        "population": [100.0, 1000.0, 300.0, 10.0], "households": [40.0, 400.0, 120.0, 4.0],
    }, geometry=[box(0, 0, 101, 100), box(100, 0, 300, 100), box(302, 0, 400, 100), frame],
        crs=CRS)
    zones = _zones([("S1小", "甲町", "全域", ""), ("S1小", "乙１丁目", "1番～3番", ""),
                    ("S2小", "乙1丁目", "4番～9番", ""), ("S2小", "丙町", "", "全域")])
    schools = gpd.GeoDataFrame({"name": ["S1小学校", "S2小学校"], "ward": "中央区",
                                "ward_code": "43101"},
                               geometry=[Point(50, 50), Point(250, 50)], crs=CRS)
    return gd.assemble(small, zones, schools)


def test_tiny_split_population_follows_area(tiny: gd.DistrictLayer) -> None:
    pop = tiny.polygons.set_index("district_id")["population"]
    assert pop["S1小"] == pytest.approx(100 + 0.25 * 1000)
    assert pop["S2小"] == pytest.approx(0.75 * 1000 + 300 + 10)  # D borders S2 the longest
    households = tiny.polygons.set_index("district_id")["households"]
    assert households["S1小"] == pytest.approx(40 + 0.25 * 400)


def test_tiny_quality_and_reports(tiny: gd.DistrictLayer) -> None:
    quality = tiny.polygons.set_index("district_id")["quality"]
    assert quality["S1小"] == "split-approx"
    assert quality["S2小"] == "split-approx+filled"
    assert tiny.unassigned_small_areas["key_code"].tolist() == ["D"]
    assert tiny.unassigned_small_areas["district_id"].tolist() == ["S2小"]
    assert tiny.unmatched_towns.empty


def test_tiny_membership_shares(tiny: gd.DistrictLayer) -> None:
    members = tiny.membership
    assert members.groupby("key_code")["share"].sum().to_numpy() == pytest.approx(1.0)
    b = members[members["key_code"] == "B"].set_index("district_id")["share"]
    assert b["S1小"] == pytest.approx(0.25)


def test_tiny_coverage_is_clean(tiny: gd.DistrictLayer) -> None:
    geoms = tiny.polygons.geometry.to_numpy()
    assert shapely.coverage_is_valid(geoms)
    assert shapely.area(shapely.intersection(geoms[0], geoms[1])) == pytest.approx(0.0, abs=1e-6)
    union = shapely.union_all(geoms)
    assert union.area == pytest.approx(600 * 300, rel=1e-9)  # overlap resolved, gap closed
    assert shapely.get_num_interior_rings(union) == 0
    s1 = tiny.polygons.set_index("district_id").geometry["S1小"]
    assert s1.contains(Point(140, 50)) and not s1.contains(Point(160, 50))


def test_split_polygon_halves_by_bisector() -> None:
    parts = gd.split_polygon(box(0, 0, 100, 10), np.array([Point(10, 5), Point(50, 5)]))
    assert shapely.area(parts) == pytest.approx([300.0, 700.0])
    same = gd.split_polygon(box(0, 0, 1, 1), np.array([Point(0.5, 0.5), Point(0.5, 0.5)]))
    assert shapely.area(same).tolist() == [1.0, 0.0]


def test_merge_fragments_moves_small_detached_parts() -> None:
    big = shapely.union_all([box(0, 0, 100, 100), box(200, 0, 201, 1)])
    other = box(100, 0, 300, 100).difference(box(200, 0, 201, 1))
    merged = gd.merge_fragments(np.array([big, other], dtype=object), min_area_m2=10)
    assert merged[0].equals(box(0, 0, 100, 100))
    assert merged[1].area == pytest.approx(200 * 100)


def test_assemble_rejects_a_layer_without_metric_crs(tiny: gd.DistrictLayer) -> None:
    small = gpd.GeoDataFrame({"key_code": ["A"], "name": ["甲町"], "ward": "中央区",
                              "population": [1.0], "households": [1.0]},
                             geometry=[box(0, 0, 1, 1)])
    schools = gpd.GeoDataFrame({"name": ["S1小学校"], "ward": "中央区", "ward_code": "43101"},
                               geometry=[Point(0, 0)], crs=CRS)
    with pytest.raises(LayerError, match="small areas must be in EPSG:6670"):
        gd.assemble(small, _zones([("S1小", "甲町", "全域", "")]), schools)


def test_assemble_reports_a_school_without_a_point() -> None:
    small = gpd.GeoDataFrame({"key_code": ["A"], "name": ["甲町"], "ward": "中央区",
                              "population": [1.0], "households": [1.0]},
                             geometry=[box(0, 0, 1, 1)], crs=CRS)
    schools = gpd.GeoDataFrame({"name": ["S1小学校"], "ward": "中央区", "ward_code": "43101"},
                               geometry=[Point(0, 0)], crs=CRS)
    zones = _zones([("S1小", "甲町", "全域", ""), ("S9小", "甲町", "1番", "")])
    with pytest.raises(LayerError, match=r"names school\(s\) with no point .*: S9小"):
        gd.assemble(small, zones, schools)


# --- stores and the scenario engine on the fixture -----------------------------------------


def _model(keys: list[str], population: list[float], store_m: list[float]) -> AccessModel:
    n = len(keys)
    offices = pd.DataFrame({"office_id": ["w1"], "kind": ["ward_office"],
                            "counter_fy2015": [True], "counter_now": [True]})
    origins = pd.DataFrame({"key_code": keys, "name": keys, "ward_code": "43101", "ward": "中央区",
                            "population": population, "households": population,
                            "snap_m": np.zeros(n)})
    return AccessModel(
        offices=offices, origins=origins,
        office_origin_m=np.arange(1, n + 1, dtype=np.float32)[None, :] * 1000,
        store_origin_m=np.asarray(store_m, dtype=np.float32),
        office_office_m=np.zeros((1, 1), dtype=np.float32),
        office_straight_m=np.zeros((1, 1), dtype=np.float32),
        office_snap=pd.DataFrame(), store_snap=pd.DataFrame(), store_source="test",
        graph_summary="test",
    )


def test_district_membership_feeds_compare(tiny: gd.DistrictLayer) -> None:
    model = _model(["A", "B", "C", "D"], [100.0, 1000.0, 300.0, 10.0], [0, 0, 0, 0])
    members = gd.district_membership(model, tiny)
    assert list(members.columns) == list(scenarios.zone_membership(model, by="ward").columns)
    table = scenarios.compare(model, Scenario(base="now"), membership=members)
    pop = table.set_index("zone_id")["population"]
    assert pop.sum() == pytest.approx(1410.0)
    assert pop["S1小"] == pytest.approx(350.0)
    before = table.set_index("zone_id")["before_km"]
    assert before["S1小"] == pytest.approx((100 * 1 + 250 * 2) / 350)  # A at 1 km, B at 2 km


def test_store_access_weights_by_shared_population(tiny: gd.DistrictLayer) -> None:
    metres = pd.Series({"A": 400.0, "B": 1500.0, "C": np.inf, "D": 600.0})
    table = gs.store_access(metres, tiny).set_index("district_id")
    assert table.loc["S1小", "mean_store_km"] == pytest.approx((100 * 0.4 + 250 * 1.5) / 350)
    assert table.loc["S1小", "beyond_500m"] == pytest.approx(250.0)
    assert table.loc["S2小", "beyond_2km"] == pytest.approx(300.0)  # C cannot reach a store
    assert table.loc["S2小", "beyond_500m"] == pytest.approx(750 + 300 + 10)
    model = _model(["A", "B", "C", "D"], [100.0, 1000.0, 300.0, 10.0], [400, 1500, 3000, 600])
    from_model = gs.store_access(model, tiny).set_index("district_id")
    assert from_model.loc["S1小", "mean_store_km"] == pytest.approx(
        table.loc["S1小", "mean_store_km"], rel=1e-6)


def test_blank_districts_and_nearest_store(tiny: gd.DistrictLayer) -> None:
    stores = gpd.GeoDataFrame({"store_id": ["s"]}, geometry=[Point(350, 50)], crs=CRS)
    counts = gs.store_counts(tiny, stores).set_index("district_id")
    assert counts["stores"].to_dict() == {"S1小": 0, "S2小": 1}
    assert counts.loc["S1小", "nearest_store_km"] == pytest.approx(0.2)
    assert gs.blank_districts(tiny, stores)["district_id"].tolist() == ["S1小"]
    none = stores.iloc[:0]
    assert len(gs.blank_districts(tiny, none)) == 2


# --- export --------------------------------------------------------------------------------


def test_geojson_is_wgs84_with_ccw_shells(tiny: gd.DistrictLayer, tmp_path) -> None:
    moved = gd.DistrictLayer(
        polygons=tiny.polygons.set_geometry(
            shapely.transform(tiny.polygons.geometry.to_numpy(),
                              lambda xy: xy + np.array([-20000, -20000])),
            crs=CRS),
        membership=tiny.membership, unmatched_towns=tiny.unmatched_towns,
        unassigned_small_areas=tiny.unassigned_small_areas)
    path = gio.write_bytes(tmp_path / "districts.geojson", gio.to_geojson_bytes(moved.polygons))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert "crs" not in data
    assert {f["properties"]["district_id"] for f in data["features"]} == {"S1小", "S2小"}
    for feature in data["features"]:
        shell = shapely.geometry.shape(feature["geometry"])
        for polygon in getattr(shell, "geoms", [shell]):
            lon, lat = polygon.exterior.coords[0]
            assert 129 < lon < 132 and 32 < lat < 34
            assert polygon.exterior.is_ccw
    back = gpd.read_file(path)
    assert back.crs.to_epsg() == 4326


def test_geopackage_keeps_metric_crs(tiny: gd.DistrictLayer, tmp_path) -> None:
    path = gio.write_geopackage(tiny.polygons, tmp_path / "districts.gpkg", layer="districts")
    back = gpd.read_file(path, layer="districts")
    assert back.crs.to_epsg() == 6670
    assert back["population"].sum() == pytest.approx(tiny.polygons["population"].sum())


# --- the real bundle -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(bundle_dir) -> gd.DistrictLayer:
    return gd.build_districts(bundle_dir)


@pytest.mark.bundle
def test_one_district_per_primary_school(real: gd.DistrictLayer, bundle_dir) -> None:
    zones = layers.load_attendance_zones(bundle_dir)
    schools = zones.loc[zones["kind"] == "primary", "school"].unique()
    assert len(real.polygons) == len(schools)
    assert set(real.polygons["district_id"]) == set(schools)
    assert real.polygons["district_id"].is_unique


@pytest.mark.bundle
def test_population_sums_to_small_areas(real: gd.DistrictLayer, bundle_dir) -> None:
    total = layers.load_small_areas(bundle_dir)["population"].sum()
    assert real.polygons["population"].sum() == pytest.approx(total)  # split areas share out
    shares = real.membership.groupby("key_code")["share"].sum()
    assert shares.to_numpy() == pytest.approx(1.0)


@pytest.mark.bundle
def test_districts_do_not_overlap_and_leave_no_holes(real: gd.DistrictLayer) -> None:
    geoms = real.polygons.geometry.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]])).sum()
    assert overlap <= 0.001 * shapely.area(geoms).sum()
    union = shapely.union_all(geoms)
    holes = sum(shapely.get_num_interior_rings(p) for p in shapely.get_parts(union))
    assert holes == 0
    assert shapely.is_valid(geoms).all()


@pytest.mark.bundle
def test_every_district_is_populated_land(real: gd.DistrictLayer) -> None:
    polygons = real.polygons
    assert (polygons["area_km2"] > 0).all()
    assert (polygons["population"] > 0).all()
    assert set(polygons["quality"]) <= {"exact", "split-approx", "filled", "split-approx+filled"}
    assert polygons.crs.to_epsg() == 6670


@pytest.mark.bundle
def test_reports_are_small_and_consistent(real: gd.DistrictLayer, bundle_dir) -> None:
    small = layers.load_small_areas(bundle_dir)
    assert len(real.unmatched_towns) < 0.02 * len(gt.town_claims(
        layers.load_attendance_zones(bundle_dir)))
    assert real.unassigned_small_areas["population"].sum() < 0.005 * small["population"].sum()
    filled = set(real.membership.loc[real.membership["kind"] == "filled", "key_code"])
    assert filled == set(real.unassigned_small_areas["key_code"])


@pytest.mark.bundle
def test_blank_districts_per_store_source(real: gd.DistrictLayer, bundle_dir) -> None:
    counts = {}
    for source in layers.STORE_SOURCES:
        first = gs.blank_districts(real, layers.load_stores(bundle_dir, source=source))
        again = gs.blank_districts(real, layers.load_stores(bundle_dir, source=source))
        pd.testing.assert_frame_equal(first, again)
        counts[source] = len(first)
        assert 0 <= counts[source] < len(real.polygons)
    # more stores, fewer blanks: the merged layer holds both 2026 sources
    assert counts["union"] <= min(counts["osm"], counts["overture"])
    assert counts["lawson2013"] >= counts["union"]  # one chain, 13 years ago
    summary = gs.blank_summary(real, {source: layers.load_stores(bundle_dir, source=source)
                                      for source in layers.STORE_SOURCES})
    assert summary.set_index("source")["blank_districts"].to_dict() == counts
    assert (summary["reference_blank_districts"] == 12).all()


@pytest.mark.bundle
def test_store_access_on_the_engine(real: gd.DistrictLayer, engine) -> None:
    table = gs.store_access(engine.model, real)
    assert table["population"].sum() == pytest.approx(engine.model.origins["population"].sum())
    assert (table["beyond_500m"] >= table["beyond_1km"]).all()
    assert (table["beyond_1km"] >= table["beyond_2km"]).all()
    assert (table["beyond_500m"] <= table["population"] + 1e-6).all()
    again = gs.nearest_store_distances(engine, engine.stores)
    assert again.to_numpy() == pytest.approx(engine.model.store_origin_m, rel=1e-5)
    members = gd.district_membership(engine.model, real)
    compared = scenarios.compare(engine.model, Scenario(base="now"), membership=members)
    assert len(compared) == len(real.polygons)
    assert compared["population"].sum() == pytest.approx(real.polygons["population"].sum())


@pytest.mark.bundle
def test_cli_districts_and_blank_districts(bundle_dir, tmp_path) -> None:
    from geo.cli import main

    out = tmp_path / "districts.csv"
    assert main(["--data", str(bundle_dir), "districts", "--stores", "osm", "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert list(table.columns) == ["district", "ward", "population", "stores", "quality"]
    assert len(table) == table["district"].nunique()
    blank = tmp_path / "blank.csv"
    assert main(["--data", str(bundle_dir), "blank-districts", "--stores", "osm",
                 "--out", str(blank)]) == 0
    blanks = pd.read_csv(blank, encoding="utf-8-sig")
    assert list(blanks.columns) == ["district", "ward", "population", "nearest_store_km"]
    assert set(blanks["district"]) == set(table.loc[table["stores"] == 0, "district"])
    assert (blanks["nearest_store_km"] > 0).all()


def test_fragment_moved_into_a_later_multipart_district_is_kept():
    from shapely.geometry import MultiPolygon, Polygon, box

    a = MultiPolygon([box(0, 0, 100, 100), box(200, 0, 210, 10)])  # 100 m2 fragment at B
    b_main = Polygon([(210, 0), (310, 0), (310, 100), (210, 100), (210, 10)])  # noded at f
    b = MultiPolygon([b_main, box(500, 0, 600, 100)])  # two large parts
    merged = gd.merge_fragments(np.array([a, b], dtype=object), min_area_m2=2_000)
    assert merged[0].area == pytest.approx(10_000)
    assert merged[1].area == pytest.approx(20_100)
    assert merged[1].contains(box(201, 1, 209, 9))


def test_equal_sized_parts_are_neither_kept_twice_nor_lost():
    from shapely.geometry import MultiPolygon, box

    c = MultiPolygon([box(0, 0, 10, 10), box(20, 0, 30, 10)])
    d = box(10, 0, 20, 10)
    merged = gd.merge_fragments(np.array([c, d], dtype=object), min_area_m2=2_000)
    assert sum(g.area for g in merged) == pytest.approx(300)
    assert merged[0].intersection(merged[1]).area == pytest.approx(0)


def test_split_population_follows_the_mesh_when_given() -> None:
    small = gpd.GeoDataFrame({
        "key_code": ["B"], "ward_code": "43101", "ward": "中央区", "name": ["乙1丁目"],
        "name_nfkc": ["乙1丁目"], "population": [1000.0], "households": [400.0],
    }, geometry=[box(100, 0, 300, 100)], crs=CRS)
    zones = _zones([("S1小", "乙1丁目", "1番～3番", ""), ("S2小", "乙1丁目", "4番～9番", "")])
    schools = gpd.GeoDataFrame({"name": ["S1小学校", "S2小学校"], "ward": "中央区",
                                "ward_code": "43101"},
                               geometry=[Point(50, 50), Point(250, 50)], crs=CRS)
    # the mesh puts 90 % of the people west of x = 150 (S1's quarter of B)
    mesh = gpd.GeoDataFrame({"population": [900.0, 100.0], "share_65plus": [0.3, 0.3]},
                            geometry=[box(0, 0, 150, 100), box(150, 0, 400, 100)], crs=CRS)
    by_mesh = gd.assemble(small, zones, schools, mesh=mesh)
    share = by_mesh.membership.set_index("district_id")["share"]
    assert share["S1小"] == pytest.approx(900 * (50 / 150) / (900 * 50 / 150 + 100 * 150 / 250))
    population = by_mesh.polygons.set_index("district_id")["population"]
    assert population.sum() == pytest.approx(1000.0)
    empty = mesh.assign(population=0.0)
    by_area = gd.assemble(small, zones, schools, mesh=empty)
    assert by_area.membership.set_index("district_id")["share"]["S1小"] == pytest.approx(0.25)
