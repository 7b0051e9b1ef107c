"""Recorded downloads re-encoded from the real Kumamoto bundle, as each source serves them.

``geo.fetch`` converts the publishers' formats (an N03 shapefile zip, the e-Stat boundary
shapefile and small-area table, the e-Stat mesh table T001101, osmnx's store features and
drive ``MultiDiGraph``) into the bundle's layers. The functions here go the other way, so a
test can run ``geo.fetch`` / ``geo prepare`` on real geography without a network.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import shapely

from geo import layers
from geo.fetch import _MESH_COLUMNS

ESTAT_TABLE_HEADER = ("KEY_CODE,HYOSYO,CITYNAME,NAME,HTKSYORI,HTKSAKI,GASSAN,"
                      "T000848001,T000848002,T000848003,T000848004")


def zip_shapefile(frame: gpd.GeoDataFrame, member: str) -> bytes:
    """A zipped shapefile as the government publishes it: CP932 attributes, no ``.cpg``."""
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as folder:
        shp = Path(folder) / f"{Path(member).name}.shp"
        frame.to_file(shp, driver="ESRI Shapefile", encoding="cp932")
        shp.with_suffix(".cpg").unlink(missing_ok=True)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for suffix in (".shp", ".shx", ".dbf", ".prj"):
                archive.write(shp.with_suffix(suffix), f"{member}{suffix}")
    return buffer.getvalue()


def _zip_text(name: str, lines: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, ("\r\n".join(lines) + "\r\n").encode("cp932"))
    return buffer.getvalue()


def n03_zip(bundle: Path) -> bytes:
    """The bundle's wards as the N03 zip of Kumamoto Prefecture (JGD2011, CP932 names)."""
    wards = gpd.read_file(bundle / layers.BUNDLE_FILES["wards"].relpath)
    frame = gpd.GeoDataFrame({
        "N03_001": "熊本県", "N03_002": None, "N03_003": "熊本市",
        "N03_004": wards["ward"], "N03_007": wards["ward_code"],
    }, geometry=wards.geometry.to_numpy(), crs=wards.crs).to_crs("EPSG:6668")
    return zip_shapefile(frame, "N03-20200101_43_GML/N03-20_43_200101")


def estat_zips(bundle: Path) -> tuple[bytes, bytes]:
    """The bundle's 2015 small areas as the e-Stat boundary zip and table T000848 zip.

    A small area without population in the bundle is suppressed (``-``) in the table.
    """
    areas = gpd.read_file(bundle / layers.BUNDLE_FILES["small_areas"].relpath)
    boundaries = gpd.GeoDataFrame({
        "KEY_CODE": areas["key_code_2015"], "PREF": "43",
        "CITY": areas["ward_code"].str[2:], "S_AREA": areas["key_code_2015"].str[5:],
        "S_NAME": areas["name"], "HCODE": 8101,
    }, geometry=areas.geometry.to_numpy(), crs=areas.crs).to_crs("EPSG:4612")
    rows = [ESTAT_TABLE_HEADER, ",,,,,,,人口総数,男,女,世帯総数"]
    for area in areas.itertuples():
        population, households = (("-", "-") if pd.isna(area.population_2015) else
                                  (str(int(area.population_2015)), str(int(area.households_2015))))
        rows.append(f"{area.key_code_2015},2,熊本市{area.ward},{area.name},0,,,"
                    f"{population},,,{households}")
    return (zip_shapefile(boundaries, "A002005212015DDSWC43/h27ka43"),
            _zip_text("tblT000848C43.txt", rows))


def mesh_zips(bundle: Path) -> dict[str, bytes]:
    """The bundle's 2020 mesh as T001101 table zips, by first-level mesh code.

    Suppressed items become ``*`` as e-Stat writes them; items the bundle lacks are 0.
    Every first-level mesh over the wards gets a table: the bundle has no mesh of 4830
    (the city's southern tip reaches into it), so 4830's table holds one inhabited mesh far
    outside the city, which ``geo.fetch`` must drop.
    """
    mesh = gpd.read_file(bundle / layers.BUNDLE_FILES["mesh"].relpath)
    items = dict(zip(_MESH_COLUMNS.values(), _MESH_COLUMNS, strict=True))
    header = ["KEY_CODE,HTKSYORI,HTKSAKI,GASSAN," + ",".join(f"T001101{n:03d}"
                                                            for n in range(1, 51)),
              ",,,," + ",".join("x" for _ in range(50))]
    outside = ",".join(["483000011", "0", "", "", "5", *["0"] * 49])
    tables: dict[str, list[str]] = {"4830": [*header, outside]}
    for row in mesh.itertuples():
        values = []
        for n in range(1, 51):
            column = items.get(f"{n:03d}")
            value = getattr(row, column) if column else 0
            values.append("*" if pd.isna(value) else str(int(value)))
        merged = ["" if pd.isna(v) else v for v in (row.merged_into, row.merged_from)]
        line = ",".join([row.mesh_code_500m, str(row.suppress_flag), *merged, *values])
        tables.setdefault(row.mesh_code_500m[:4], list(header)).append(line)
    return {code: _zip_text(f"tblT001101H{code}.txt", lines) for code, lines in tables.items()}


def osm_store_features(bundle: Path) -> gpd.GeoDataFrame:
    """The bundle's OSM stores as osmnx ``features_from_place`` returns them.

    The branch is what the bundle's ``name_repo`` adds to the OSM name.
    """
    stores = gpd.read_file(bundle / layers.BUNDLE_FILES["stores_osm"].relpath)
    names = stores["name_raw_osm"].fillna("")
    branch = [repo[len(raw):].strip() if raw and repo.startswith(raw) else ""
              for raw, repo in zip(names, stores["name_repo"], strict=True)]
    return gpd.GeoDataFrame({
        "element": stores["osm_type"], "id": stores["osm_id"], "shop": "convenience",
        "name": stores["name_raw_osm"], "brand": stores["brand"].where(names != ""),
        "branch": [b or None for b in branch],
    }, geometry=stores.geometry.to_numpy(), crs=stores.crs).set_index(["element", "id"])


def drive_graph(bundle: Path) -> nx.MultiDiGraph:
    """The bundle's city drive network as the osmnx ``MultiDiGraph`` it was made from.

    Node ids are the bundle's node numbers; edges carry ``length`` and ``geometry``.
    """
    network = layers.osm_network_files(bundle)
    assert network is not None, "the bundle has no city drive network"
    nodes, edges = (pd.read_csv(path) for path in network)
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    graph.add_nodes_from((int(n), {"x": x, "y": y})
                         for n, x, y in nodes[["node", "lon", "lat"]].itertuples(index=False))
    lines = shapely.from_wkt(edges["geometry_wkt"].to_numpy())
    graph.add_edges_from(
        (int(u), int(v), int(k), {"length": length, "geometry": line})
        for (u, v, k, length), line in zip(
            edges[["u", "v", "key", "length_m"]].itertuples(index=False), lines, strict=True))
    return graph
