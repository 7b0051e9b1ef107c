"""The instant map's payload: everything a browser needs to evaluate closures by itself.

``geo.study.evaluate`` takes array minima over precomputed distances; the dashboard's map
reproduces that arithmetic in JavaScript (``dashboard/instant_map/evaluator.js``) so that a
click on an office recolours the zones at once, and the server's ``evaluate`` confirms it.
``browser_payload`` gathers, once per study, what that evaluation reads: the office x origin
distances (or, in transit mode, the minutes per departure), the nearest-store distances of
every store source, each origin's population and share aged 65+, how origins belong to each
zone layer (with the population share of a small area split between school districts), the
office register's base sets and kinds, and the display shapes. Numeric arrays travel as
base64 of their little-endian bytes, so the browser reads the very float32 values the
server computes with.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd

from . import cartography, scenarios
from .study import Study

PAYLOAD_FORMAT = "madoguchi-instant-map"
PAYLOAD_VERSION = 1


def encode_array(values: np.ndarray, dtype: str) -> dict[str, Any]:
    """An array as ``{"dtype", "shape", "base64"}`` of its little-endian bytes.

    Parameters
    ----------
    values
        Any array; it is converted to ``dtype`` (C order).
    dtype
        ``float32``, ``float64``, ``int32`` or ``uint8``.

    Returns
    -------
    dict
        JSON-ready; ``evaluator.js`` ``decodeArray`` reads it into a typed array.
    """
    array = np.ascontiguousarray(values, dtype=np.dtype(dtype).newbyteorder("<"))
    return {"dtype": dtype, "shape": list(array.shape),
            "base64": base64.b64encode(array.tobytes()).decode("ascii")}


def _zone_layer(members: pd.DataFrame) -> dict[str, Any]:
    """One zone layer's membership in ``geo.scenarios.zone_table``'s zone order."""
    zone, zone_ids = pd.factorize(members["zone_id"])
    first = np.unique(zone, return_index=True)[1]
    return {
        "ids": [str(z) for z in zone_ids],
        "names": [str(n) for n in members["zone_name"].to_numpy()[first]],
        "wards": [str(w) for w in members["ward"].to_numpy()[first]],
        "member_zone": encode_array(zone, "int32"),
        "member_origin": encode_array(members["origin"].to_numpy(), "int32"),
        "member_population": encode_array(members["population"].to_numpy(dtype=float),
                                          "float64"),
    }


def _shapes(study: Study, kind: str) -> dict[str, Any]:
    polygons = study.zones[kind].polygons
    shown = ["zone_id"] + (["quality"] if "quality" in polygons.columns else [])
    return cartography.to_display_features(polygons, shown)


def _stores(study: Study) -> dict[str, dict[str, list[Any]]]:
    """Per store source: WGS84 ``lat``, ``lon`` and a label (brand and name, or the id)."""
    shown: dict[str, dict[str, list[Any]]] = {}
    for source, frame in study.stores.items():
        points = cartography.to_display_points(frame)
        labels = [" ".join(str(p) for p in (brand, name) if isinstance(p, str) and p)
                  or str(store) for store, brand, name in
                  zip(points["store_id"], points["brand"], points["name"], strict=True)]
        shown[source] = {"lat": points["lat"].astype(float).tolist(),
                         "lon": points["lon"].astype(float).tolist(), "label": labels}
    return shown


def browser_payload(study: Study) -> dict[str, Any]:
    """What the instant map evaluates closures from, for one study (data, network, mode).

    Parameters
    ----------
    study
        ``geo.study.build_study`` on any network and travel mode.

    Returns
    -------
    dict
        JSON-ready: ``format``, ``version``, ``mode``, ``network``; ``offices`` (id, kind,
        ward, whether in each base set, whether a full counter), ``office_origin_m``
        (offices x origins float32 metres), ``store_origin_m`` (per store source, origins
        float32 metres), ``population`` and ``share_65plus`` (origins, float64; the share
        is null when some origin lacks it, as ``geo.scenarios.compare`` then drops the 65+
        columns), ``zones`` (per zone layer: zone ids, names and wards in the zone table's
        order, and one row per membership: zone index, origin, population),
        ``thresholds_m``, ``slow_walk_kmh``, ``transit`` (null outside transit mode;
        else ``minutes`` departures x counters x origins float32, ``direct_ride``
        counters x origins uint8, ``counter_rows`` (the office row of each counter) and
        ``thresholds_min``), and the display layers ``shapes`` (per zone layer, WGS84
        GeoJSON), ``wards``, ``ward_labels`` and ``stores``.
    """
    model = study.engine.model
    offices = model.offices
    share = model.origins.get("share_65plus")
    share_65plus = None if share is None else share.to_numpy(dtype=float)
    if share_65plus is not None and not np.isfinite(share_65plus).all():
        share_65plus = None
    transit: dict[str, Any] | None = None
    if study.transit is not None:
        access = study.transit
        transit = {
            "minutes": encode_array(access.minutes, "float32"),
            "direct_ride": encode_array(access.direct_ride, "uint8"),
            "counter_rows": [int(model.office_index([oid])[0]) for oid in access.counter_ids],
            "thresholds_min": list(scenarios.DEFAULT_THRESHOLDS_MIN),
        }
    engine = study.engine
    labels = cartography.to_display_points(
        cartography.label_points(engine.wards[["ward", "geometry"]], engine.offices))
    return {
        "format": PAYLOAD_FORMAT, "version": PAYLOAD_VERSION,
        "mode": study.mode, "network": study.network,
        "offices": [
            {"id": str(row.office_id), "kind": str(row.kind), "ward": str(row.ward),
             "in_base": {base: bool(getattr(row, column))
                         for base, column in scenarios.BASE_COLUMNS.items()},
             "full_counter": str(row.kind) in scenarios.FULL_COUNTER_KINDS}
            for row in offices.itertuples()],
        "office_origin_m": encode_array(model.office_origin_m, "float32"),
        "store_origin_m": {source: encode_array(metres, "float32")
                           for source, metres in study.store_origin_m.items()},
        "population": encode_array(model.origins["population"].to_numpy(dtype=float),
                                   "float64"),
        "share_65plus": None if share_65plus is None else encode_array(share_65plus,
                                                                       "float64"),
        "zones": {kind: _zone_layer(layer.membership) for kind, layer in study.zones.items()},
        "thresholds_m": list(scenarios.DEFAULT_THRESHOLDS_M),
        "slow_walk_kmh": scenarios.SLOW_WALK_KMH,
        "transit": transit,
        "shapes": {kind: _shapes(study, kind) for kind in study.zones},
        "wards": cartography.to_display_features(
            engine.wards.rename(columns={"ward_code": "zone_id"}), ["zone_id", "ward"]),
        "ward_labels": [{"ward": str(row["ward"]), "lat": float(row["lat"]),
                         "lon": float(row["lon"])} for row in labels.to_dict("records")],
        "stores": _stores(study),
    }


def payload_bytes(payload: dict[str, Any]) -> tuple[bytes, str]:
    """The payload as compact UTF-8 JSON and the SHA-256 of those bytes (a file name that
    changes whenever the content does).

    Returns
    -------
    data, digest : bytes, str
    """
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")
    return data, hashlib.sha256(data).hexdigest()
