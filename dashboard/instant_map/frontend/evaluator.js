/*
 * The instant map's evaluator: geo.study.evaluate's arithmetic on geo.instant's payload.
 *
 * One file for the map component (a <script> in index.html: window.MadoguchiEvaluator) and
 * for the golden test (Node: require). Every figure is computed as geo.scenarios computes
 * it: the minimum over the open counters of each origin's float32 distance (with the
 * nearest store under the certificate measure), then population-weighted sums per zone in
 * the membership's order (np.bincount's order), the city figures from the small areas
 * (geo.scenarios.summary), walking minutes from the mean km, and in transit mode the
 * median over departures of the minimum over open counters (numpy's linear percentile, in
 * float32 steps).
 */
(function (root, factory) {
  "use strict";
  const api = factory();
  if (typeof module === "object" && module.exports) {
    module.exports = api;
  } else {
    root.MadoguchiEvaluator = api;
  }
}(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  const NO_FACILITY = "no facility reachable";
  const UNREACHABLE_COLOUR = "#2b2b2b";
  const NO_PEOPLE_COLOUR = "#ffffff";
  const TYPED = {float32: Float32Array, float64: Float64Array, int32: Int32Array,
                 uint8: Uint8Array};

  function base64Bytes(text) {
    if (typeof Buffer !== "undefined") {
      const buffer = Buffer.from(text, "base64");
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).slice();
    }
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  /** geo.instant.encode_array's {dtype, shape, base64} as a typed array (little-endian). */
  function decodeArray(spec) {
    const Kind = TYPED[spec.dtype];
    if (!Kind) throw new Error("unknown dtype " + spec.dtype);
    const bytes = base64Bytes(spec.base64);
    return new Kind(bytes.buffer, bytes.byteOffset, bytes.byteLength / Kind.BYTES_PER_ELEMENT);
  }

  /** geo.instant.browser_payload's JSON as typed arrays, ready for evaluate. */
  function decodePayload(raw) {
    const offices = raw.offices;
    const matrix = decodeArray(raw.office_origin_m);
    const nOrigins = raw.office_origin_m.shape[1];
    const zones = {};
    for (const [kind, layer] of Object.entries(raw.zones)) {
      zones[kind] = {ids: layer.ids, names: layer.names, wards: layer.wards,
                     memberZone: decodeArray(layer.member_zone),
                     memberOrigin: decodeArray(layer.member_origin),
                     memberPopulation: decodeArray(layer.member_population)};
    }
    const stores = {};
    for (const [source, spec] of Object.entries(raw.store_origin_m)) {
      stores[source] = decodeArray(spec);
    }
    let transit = null;
    if (raw.transit) {
      const shape = raw.transit.minutes.shape;
      transit = {minutes: decodeArray(raw.transit.minutes), nDepartures: shape[0],
                 nCounters: shape[1], directRide: decodeArray(raw.transit.direct_ride),
                 counterRows: raw.transit.counter_rows,
                 thresholdsMin: raw.transit.thresholds_min};
    }
    return {
      mode: raw.mode, network: raw.network, offices,
      officeIndex: new Map(offices.map((office, row) => [office.id, row])),
      nOffices: offices.length, nOrigins, officeOriginM: matrix, storeOriginM: stores,
      population: decodeArray(raw.population),
      share65: raw.share_65plus ? decodeArray(raw.share_65plus) : null,
      zones, thresholdsM: raw.thresholds_m, slowWalkKmh: raw.slow_walk_kmh, transit,
    };
  }

  /** geo.scenarios.open_mask: offices serving `measure` with `closed` / `downgraded`. */
  function openMask(bundle, base, closed, downgraded, measure) {
    const mask = new Uint8Array(bundle.nOffices);
    const shut = new Set(closed);
    const corner = new Set(downgraded);
    bundle.offices.forEach((office, row) => {
      let open = office.in_base[base] && !shut.has(office.id);
      if (measure === "counter") open = open && office.full_counter && !corner.has(office.id);
      mask[row] = open ? 1 : 0;
    });
    return mask;
  }

  /** geo.scenarios.origin_distances: metres to the nearest open facility (Infinity if none). */
  function originDistances(bundle, mask, measure, storeSource) {
    const n = bundle.nOrigins;
    const best = new Float64Array(n).fill(Infinity);
    for (let row = 0; row < bundle.nOffices; row++) {
      if (!mask[row]) continue;
      const offset = row * n;
      for (let o = 0; o < n; o++) {
        const metres = bundle.officeOriginM[offset + o];
        if (metres < best[o]) best[o] = metres;
      }
    }
    if (measure === "certificate") {
      const stores = bundle.storeOriginM[storeSource];
      if (!stores) throw new Error("no store distances for " + storeSource);
      for (let o = 0; o < n; o++) if (stores[o] < best[o]) best[o] = stores[o];
    }
    return best;
  }

  function bincount(zone, nZones, weights) {
    const sums = new Float64Array(nZones);
    for (let i = 0; i < zone.length; i++) sums[zone[i]] += weights[i];
    return sums;
  }

  /** geo.scenarios._per_zone: population-weighted mean and maximum per zone, km. */
  function perZone(zone, nZones, population, dist) {
    const zonePeople = bincount(zone, nZones, population);
    const m = zone.length;
    const weight = new Float64Array(m);
    const weighted = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const reachable = Number.isFinite(dist[i]);
      const w = zonePeople[zone[i]] > 0 ? population[i] : 1.0;
      weight[i] = reachable ? w : 0.0;
      weighted[i] = weight[i] * (reachable ? dist[i] : 0.0);
    }
    const people = bincount(zone, nZones, weight);
    const total = bincount(zone, nZones, weighted);
    const peak = new Float64Array(nZones).fill(-Infinity);
    for (let i = 0; i < m; i++) {
      if (weight[i] > 0 && dist[i] > peak[zone[i]]) peak[zone[i]] = dist[i];
    }
    const mean = new Float64Array(nZones);
    const maximum = new Float64Array(nZones);
    for (let z = 0; z < nZones; z++) {
      mean[z] = (people[z] > 0 ? total[z] / people[z] : NaN) / 1000.0;
      maximum[z] = Number.isFinite(peak[z]) ? peak[z] / 1000.0 : NaN;
    }
    return [mean, maximum];
  }

  function thresholdLabel(metres) {
    return String(metres / 1000) + "km";
  }

  /** Per member: the zone index, the member's population and the origin's value. */
  function gather(values, origin) {
    const out = new Float64Array(origin.length);
    for (let i = 0; i < origin.length; i++) out[i] = values[origin[i]];
    return out;
  }

  /** geo.scenarios.zone_table: per-origin metres before / after, aggregated to `kind`. */
  function zoneTable(bundle, kind, beforeM, afterM) {
    const layer = bundle.zones[kind];
    const zone = layer.memberZone;
    const nZones = layer.ids.length;
    const population = layer.memberPopulation;
    const before = gather(beforeM, layer.memberOrigin);
    const after = gather(afterM, layer.memberOrigin);
    const m = zone.length;
    const table = {zone_id: layer.ids, zone_name: layer.names, ward: layer.wards,
                   population: bincount(zone, nZones, population)};
    [table.before_km, table.before_max_km] = perZone(zone, nZones, population, before);
    [table.after_km, table.after_max_km] = perZone(zone, nZones, population, after);
    table.delta_km = table.after_km.map((a, z) => a - table.before_km[z]);
    const farther = new Float64Array(m);
    for (let i = 0; i < m; i++) farther[i] = population[i] * (after[i] > before[i] + 1.0 ? 1 : 0);
    table.people_farther = bincount(zone, nZones, farther);
    const beyond = (weights, dist, limit) => {
      const w = new Float64Array(m);
      for (let i = 0; i < m; i++) w[i] = weights[i] * (dist[i] > limit ? 1 : 0);
      return bincount(zone, nZones, w);
    };
    for (const limit of bundle.thresholdsM) {
      table[`beyond_${thresholdLabel(limit)}_before`] = beyond(population, before, limit);
      table[`beyond_${thresholdLabel(limit)}_after`] = beyond(population, after, limit);
    }
    if (bundle.share65) {
      const elderly = new Float64Array(m);
      for (let i = 0; i < m; i++) elderly[i] = population[i] * bundle.share65[layer.memberOrigin[i]];
      table.population_65plus = bincount(zone, nZones, elderly);
      for (const limit of bundle.thresholdsM) {
        for (const [when, dist] of [["before", before], ["after", after]]) {
          table[`beyond_${thresholdLabel(limit)}_${when}_65plus`] = beyond(elderly, dist, limit);
        }
      }
    }
    const stranded = new Float64Array(m);
    for (let i = 0; i < m; i++) stranded[i] = population[i] * (Number.isFinite(after[i]) ? 0 : 1);
    const unreachable = bincount(zone, nZones, stranded);
    table.status = Array.from(unreachable, (people) => (people > 0 ? NO_FACILITY : "ok"));
    return table;
  }

  function sum(values) {
    let total = 0;
    for (const value of values) total += value;
    return total;
  }

  /** geo.scenarios.summary: city-wide figures from the small-area table. */
  function summary(table) {
    const population = table.population;
    const city = {population: sum(population)};
    if (table.population_65plus) city.population_65plus = sum(table.population_65plus);
    const meanKm = {};
    for (const when of ["before", "after"]) {
      let weight = 0;
      let total = 0;
      let peak = NaN;
      table[`${when}_km`].forEach((km, z) => {
        if (!Number.isNaN(km)) {
          weight += population[z];
          total += km * population[z];
        }
      });
      for (const km of table[`${when}_max_km`]) {
        if (!Number.isNaN(km) && (Number.isNaN(peak) || km > peak)) peak = km;
      }
      meanKm[when] = weight > 0 ? total / weight : NaN;
      city[`${when}_km`] = meanKm[when];
      city[`${when}_max_km`] = peak;
    }
    city.delta_km = meanKm.after - meanKm.before;
    city.people_farther = sum(table.people_farther);
    for (const column of Object.keys(table)) {
      if (column.startsWith("beyond_")) city[column] = sum(table[column]);
    }
    city.status = table.status.includes(NO_FACILITY) ? NO_FACILITY : "ok";
    return city;
  }

  /** geo.scenarios.with_walking_minutes on a table (arrays) or the city (numbers). */
  function addWalkingMinutes(figures, speedKmh, slowKmh) {
    for (const when of ["before", "after"]) {
      const km = figures[`${when}_km`];
      const at = (speed) => (typeof km === "number" ? km / speed * 60.0
        : km.map((value) => value / speed * 60.0));
      figures[`${when}_min`] = at(speedKmh);
      figures[`${when}_min_slow`] = at(slowKmh);
    }
  }

  /** geo.transit.scenario_minutes' median: per origin, the median over departures of the
   * minutes to the nearest open counter (numpy's linear percentile in float32 steps). */
  function transitMedian(transit, nOrigins, openCounters) {
    const median = new Float64Array(nOrigins);
    if (!openCounters.some(Boolean)) return median.fill(Infinity);
    const {minutes, nDepartures, nCounters} = transit;
    const nearest = new Float32Array(nDepartures * nOrigins).fill(Infinity);
    for (let d = 0; d < nDepartures; d++) {
      for (let c = 0; c < nCounters; c++) {
        if (!openCounters[c]) continue;
        const offset = (d * nCounters + c) * nOrigins;
        const row = d * nOrigins;
        for (let o = 0; o < nOrigins; o++) {
          const value = minutes[offset + o];
          if (value < nearest[row + o] || Number.isNaN(value)) nearest[row + o] = value;
        }
      }
    }
    const index = (nDepartures - 1) * 0.5;
    const lower = Math.floor(index);
    const upper = Math.min(lower + 1, nDepartures - 1);
    const gamma = Math.fround(index - lower);
    const column = new Float32Array(nDepartures);
    for (let o = 0; o < nOrigins; o++) {
      for (let d = 0; d < nDepartures; d++) column[d] = nearest[d * nOrigins + o];
      column.sort();
      const a = column[lower];
      const b = column[upper];
      const diff = Math.fround(b - a);
      median[o] = gamma >= 0.5 ? Math.fround(b - Math.fround(diff * Math.fround(1 - gamma)))
        : Math.fround(a + Math.fround(diff * gamma));
    }
    return median;
  }

  /** geo.transit.lost_direct_ride: a direct ride to an open counter before, none after. */
  function lostDirectRide(transit, nOrigins, openBefore, openAfter) {
    const reach = (open) => {
      const any = new Uint8Array(nOrigins);
      for (let c = 0; c < transit.nCounters; c++) {
        if (!open[c]) continue;
        for (let o = 0; o < nOrigins; o++) if (transit.directRide[c * nOrigins + o]) any[o] = 1;
      }
      return any;
    };
    const before = reach(openBefore);
    const after = reach(openAfter);
    return before.map((had, o) => (had && !after[o] ? 1 : 0));
  }

  /** geo.scenarios.with_zone_minutes with the transit_ prefix, on a zone table in place. */
  function addZoneMinutes(table, bundle, kind, beforeMin, afterMin) {
    const layer = bundle.zones[kind];
    const zone = layer.memberZone;
    const nZones = layer.ids.length;
    const population = layer.memberPopulation;
    const m = zone.length;
    const elderly = bundle.share65 ? new Float64Array(m) : null;
    if (elderly) {
      for (let i = 0; i < m; i++) elderly[i] = population[i] * bundle.share65[layer.memberOrigin[i]];
    }
    for (const [when, values] of [["before", beforeMin], ["after", afterMin]]) {
      const minutes = gather(values, layer.memberOrigin);
      table[`transit_${when}_min`] = perZone(zone, nZones, population,
                                             minutes.map((value) => value * 1000.0))[0];
      for (const limit of bundle.transit.thresholdsMin) {
        const people = new Float64Array(m);
        const old = elderly ? new Float64Array(m) : null;
        for (let i = 0; i < m; i++) {
          const beyond = minutes[i] > limit ? 1 : 0;
          people[i] = population[i] * beyond;
          if (old) old[i] = elderly[i] * beyond;
        }
        table[`transit_beyond_${limit}min_${when}`] = bincount(zone, nZones, people);
        if (old) table[`transit_beyond_${limit}min_${when}_65plus`] = bincount(zone, nZones, old);
      }
    }
  }

  /** geo.study._with_transit: the transit columns of the zone table and the city. */
  function addTransit(bundle, question, table, smallAreas, city) {
    const transit = bundle.transit;
    const counterMask = (closed, downgraded) => {
      const mask = openMask(bundle, question.base, closed, downgraded, "counter");
      return transit.counterRows.map((row) => mask[row]);
    };
    const openBefore = counterMask([], []);
    const openAfter = counterMask(question.closed, question.downgraded);
    const before = transitMedian(transit, bundle.nOrigins, openBefore);
    const after = transitMedian(transit, bundle.nOrigins, openAfter);
    const lost = lostDirectRide(transit, bundle.nOrigins, openBefore, openAfter);
    addZoneMinutes(table, bundle, question.zones, before, after);
    const layer = bundle.zones[question.zones];
    const lostPeople = new Float64Array(layer.memberZone.length);
    layer.memberZone.forEach((z, i) => {
      lostPeople[i] = layer.memberPopulation[i] * lost[layer.memberOrigin[i]];
    });
    table.transit_lost_direct_ride_people = bincount(layer.memberZone, layer.ids.length,
                                                     lostPeople);
    const cityTable = {population: smallAreas.population};
    addZoneMinutes(cityTable, bundle, "small-area", before, after);
    for (const column of Object.keys(cityTable)) {
      if (column.startsWith("transit_beyond_")) city[column] = sum(cityTable[column]);
    }
    for (const when of ["before", "after"]) {
      let people = 0;
      let total = 0;
      cityTable[`transit_${when}_min`].forEach((value, z) => {
        const weight = cityTable.population[z];
        if (Number.isFinite(value) && weight > 0) {
          people += weight;
          total += value * weight;
        }
      });
      city[`transit_${when}_min`] = people > 0 ? total / people : NaN;
    }
    let lostCity = 0;
    lost.forEach((flag, o) => { lostCity += bundle.population[o] * flag; });
    city.transit_lost_direct_ride_people = lostCity;
  }

  /**
   * geo.study.evaluate's zone table, city figures and reachability for a question:
   * {base, closed, downgraded, measure, zones, store_source, walk_kmh}.
   */
  function evaluate(bundle, question) {
    const closed = question.closed;
    const downgraded = question.downgraded.filter((id) => !closed.includes(id));
    const before = originDistances(
      bundle, openMask(bundle, question.base, [], [], question.measure), question.measure,
      question.store_source);
    const after = originDistances(
      bundle, openMask(bundle, question.base, closed, downgraded, question.measure),
      question.measure, question.store_source);
    const table = zoneTable(bundle, question.zones, before, after);
    const smallAreas = question.zones === "small-area" ? table
      : zoneTable(bundle, "small-area", before, after);
    const city = summary(smallAreas);
    if (bundle.mode === "walk" || bundle.mode === "transit") {
      addWalkingMinutes(table, question.walk_kmh, bundle.slowWalkKmh);
      addWalkingMinutes(city, question.walk_kmh, bundle.slowWalkKmh);
    }
    if (bundle.transit) {
      addTransit(bundle, {...question, closed, downgraded}, table, smallAreas, city);
    }
    let populated = 0;
    let reachable = 0;
    smallAreas.population.forEach((people, z) => {
      if (people > 0) {
        populated += 1;
        if (smallAreas.status[z] !== NO_FACILITY) reachable += 1;
      }
    });
    const unreachable = reachable === populated ? "none" : (reachable > 0 ? "some" : "all");
    return {zoneTable: table, city, unreachable};
  }

  /**
   * The office set after a click, by dashboard.state's rules: "close" closes an open
   * office of the base set or reopens a closed one (a downgraded office it closes is no
   * longer downgraded); "downgrade" turns a counter into a service corner or back (a
   * closed office it downgrades is reopened as a corner). Returns null when the click
   * changes nothing: an office outside the base set, or a service corner downgraded.
   */
  function toggle(bundle, question, officeId, action) {
    const row = bundle.officeIndex.get(officeId);
    if (row === undefined) return null;
    const office = bundle.offices[row];
    if (!office.in_base[question.base]) return null;
    const closed = new Set(question.closed);
    const downgraded = new Set(question.downgraded);
    if (action === "close") {
      if (closed.has(officeId)) closed.delete(officeId); else closed.add(officeId);
      downgraded.delete(officeId);
    } else if (action === "downgrade") {
      if (office.kind === "service_corner") return null;
      if (downgraded.has(officeId)) downgraded.delete(officeId); else downgraded.add(officeId);
      closed.delete(officeId);
    } else {
      throw new Error("unknown click action " + action);
    }
    return {closed: Array.from(closed).sort(), downgraded: Array.from(downgraded).sort()};
  }

  /** An office's state under a question (geo.scenarios.office_status). */
  function officeState(question, office) {
    if (!office.in_base[question.base]) return "not in base";
    if (question.closed.includes(office.id)) return "closed";
    if (question.downgraded.includes(office.id)) return "downgraded";
    return "open";
  }

  /** geo.colours.ColourScale.colour: {edges, colours, zero_colour}. */
  function scaleColour(scale, value) {
    if (!Number.isFinite(value)) return UNREACHABLE_COLOUR;
    if (scale.zero_colour && Math.abs(value) < 1e-9) return scale.zero_colour;
    let index = 0;
    while (index < scale.edges.length && scale.edges[index] < value) index++;
    return scale.colours[index];
  }

  /**
   * Each zone's fill, as dashboard.mapview.zone_group draws it from
   * geo.colours.zone_colouring: the travel column (transit minutes when the table has
   * them, else km), its increase (decreases drawn as zero) or the share beyond the
   * threshold; white for a zone without residents, dark grey where some reach no counter.
   */
  function zoneFills(table, colourBy, thresholdKm, thresholdMin, scale) {
    const transit = "transit_after_min" in table;
    const before = transit ? table.transit_before_min : table.before_km;
    const after = transit ? table.transit_after_min : table.after_km;
    const beyond = transit ? table[`transit_beyond_${thresholdMin}min_after`]
      : table[`beyond_${thresholdKm}km_after`];
    return table.zone_id.map((zoneId, z) => {
      const people = table.population[z];
      if (people <= 0) return NO_PEOPLE_COLOUR;
      if (!Number.isFinite(after[z])) return UNREACHABLE_COLOUR;
      let value;
      if (colourBy === "before") value = before[z];
      else if (colourBy === "after") value = after[z];
      else if (colourBy === "change") value = Math.max(after[z] - before[z], 0);
      else value = 100.0 * beyond[z] / people;
      return scaleColour(scale, value);
    });
  }

  return {NO_FACILITY, UNREACHABLE_COLOUR, NO_PEOPLE_COLOUR,
          decodeArray, decodePayload, openMask, originDistances, zoneTable, summary,
          transitMedian, evaluate, toggle, officeState, scaleColour, zoneFills};
}));
