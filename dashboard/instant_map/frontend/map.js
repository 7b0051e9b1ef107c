/*
 * The instant map (dashboard.instant_map): Leaflet map, click -> evaluate in the browser ->
 * recolour and cards at once -> report the office set -> the server's figures confirm.
 *
 * Streamlit's component protocol (v1) is spoken directly: "streamlit:render" brings the
 * arguments of each run; "streamlit:setComponentValue" reports {seq, closed, downgraded}.
 * Performance marks (read by dashboard/bench.py and the browser test):
 *   click-N, zones-N, cards-N, confirmed-N   for the N-th click of this map
 *   payload-loaded, map-drawn                  once per frame
 * Each mark is also kept, as epoch milliseconds, in the page's window.instantMapMarks, which
 * outlives a frame that Streamlit replaces (the counts of map-drawn tell how often).
 */
(function () {
  "use strict";
  const E = window.MadoguchiEvaluator;
  const OFFICE_STATES = ["open", "closed", "downgraded"];
  const TOLERANCE = 1e-6;
  const view = {
    args: null, bundle: null, raw: null, bundleUrl: null, map: null,
    base: null, zoneKind: null, storeSource: null, blankKey: null, tiles: null,
    layers: {}, zoneById: new Map(), markers: new Map(), control: null,
    local: null, seq: 0, result: null, fills: null, confirmedSeq: -1, status: "loading",
  };

  // -- Streamlit's component protocol --------------------------------------------------------

  function post(type, data) {
    window.parent.postMessage(Object.assign({isStreamlitMessage: true, type}, data), "*");
  }

  function setFrameHeight() {
    post("streamlit:setFrameHeight", {height: document.body.scrollHeight});
  }

  const REPORT_AGAIN_MS = 3000;

  /** Report the office set after the latest click, and again every few seconds until the
   * server has applied it: Streamlit drops a component's value while it counts the app as
   * disconnected (a loaded server can miss its pings), and the click would then be lost. */
  function reportOffices() {
    post("streamlit:setComponentValue", {
      dataType: "json",
      value: {seq: view.seq, closed: view.local.closed, downgraded: view.local.downgraded},
    });
    clearTimeout(view.reportAgain);
    view.reportAgain = setTimeout(() => {
      if (view.args.applied_seq < view.seq) reportOffices();
    }, REPORT_AGAIN_MS);
  }

  // -- small helpers -------------------------------------------------------------------------

  function mark(name) {
    const entry = performance.mark(name);
    try {
      const marks = window.parent.instantMapMarks || (window.parent.instantMapMarks = {});
      const time = performance.timeOrigin + entry.startTime;
      marks[name] = name === "map-drawn" ? [...(marks[name] || []), time] : time;
    } catch (error) {  // a page of another origin: the frame's own marks only
      console.debug(error);
    }
  }

  function label(key, values) {
    let text = view.args.labels[key] || key;
    for (const [name, value] of Object.entries(values || {})) {
      text = text.split(`{${name}}`).join(value);
    }
    return text;
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  function cssId(text) {
    return String(text).replace(/[^A-Za-z0-9_-]/g, "_");
  }

  function questionKey(question) {
    return JSON.stringify([question.base, [...question.closed].sort(),
      [...question.downgraded].sort(), question.measure, question.zones,
      question.store_source, question.walk_kmh, question.mode]);
  }

  function sameFigure(browser, server) {
    const missing = (value) => value === null || value === undefined || !Number.isFinite(value);
    if (typeof server === "string" || typeof browser === "string") return browser === server;
    if (missing(server) || missing(browser)) return missing(server) && missing(browser);
    return Math.abs(browser - server) <= TOLERANCE + TOLERANCE * Math.abs(server);
  }

  // -- figures as the page's cards write them (dashboard.components.card_text) --------------

  function grouped(value) {
    return value.toLocaleString("en-US", {maximumFractionDigits: 0});
  }

  function people(value) {
    return Number.isFinite(value) ? `${grouped(value)} ${label("people")}` : "—";
  }

  function minutes(value) {
    return Number.isFinite(value) ? `${value.toFixed(0)} ${label("minutes")}` : "—";
  }

  function walk(city, when) {
    const km = city[`${when}_km`];
    return Number.isFinite(km)
      ? `${city[`${when}_min`].toFixed(0)} ${label("minutes")} (${km.toFixed(2)} km)` : "—";
  }

  function signed(value, digits) {
    const text = digits === 0 ? grouped(Math.abs(value)) : Math.abs(value).toFixed(digits);
    return (value < 0 ? "-" : "+") + text;
  }

  function cardText(card, city) {
    const after = city[card.after];
    const before = city[card.before];
    if (card.kind === "farther") return {value: people(after), delta: null, help: null};
    if (card.kind === "km" || card.kind === "walk") {
      let delta = Number.isFinite(after) && Number.isFinite(before) ? after - before : null;
      if (delta !== null && Math.abs(delta) < 0.005) delta = null;
      if (card.kind === "km") {
        const km = (value) => (Number.isFinite(value) ? `${value.toFixed(2)} km` : "—");
        return {value: km(after), delta: delta === null ? null : `${signed(delta, 2)} km`,
                help: label("metric_before", {value: km(before)})};
      }
      const change = delta === null ? null : city.after_min - city.before_min;
      return {value: walk(city, "after"),
              delta: change === null ? null : `${signed(change, 1)} ${label("minutes")}`,
              help: label("metric_before", {value: walk(city, "before")})};
    }
    if (card.kind === "transit") {
      const change = after - before;
      return {value: minutes(after),
              delta: Math.abs(change) >= 0.05 ? `${signed(change, 1)} ${label("minutes")}` : null,
              help: label("metric_before", {value: minutes(before)})};
    }
    return {value: people(after),
            delta: Math.abs(after - before) >= 0.5 ? signed(after - before, 0) : null,
            help: label(card.help_key, {value: people(before)})};
  }

  function paintCards(texts) {
    const row = document.getElementById("cards");
    row.replaceChildren(...view.args.cards.map((card, index) => {
      const box = element("div", undefined, "card");
      box.title = texts[index].help || "";
      box.append(element("div", card.label, "label"), element("div", texts[index].value, "value"),
                 element("div", texts[index].delta || "", "delta"));
      return box;
    }));
  }

  function showStatus(status) {
    view.status = status;
    const box = document.getElementById("confirmation");
    box.dataset.state = status;
    const key = {loading: "map_loading", unconfirmed: "map_unconfirmed",
                 confirmed: "map_confirmed", mismatch: "map_mismatch"}[status];
    box.textContent = label(key);
    box.title = status === "unconfirmed" ? label("map_unconfirmed_help") : "";
    document.getElementById("cards").dataset.state = status;
  }

  // -- the map's layers ----------------------------------------------------------------------

  function zoneTooltip(zoneId) {
    const table = view.result.zoneTable;
    const z = table.zone_id.indexOf(zoneId);
    const box = element("div");
    if (z < 0) return box;
    const transit = "transit_after_min" in table;
    const before = transit ? table.transit_before_min[z] : table.before_km[z];
    const after = transit ? table.transit_after_min[z] : table.after_km[z];
    const digits = transit ? 1 : 2;
    const number = (value) => (Number.isFinite(value) ? value.toFixed(digits) : "—");
    const unit = transit ? label("minutes") : "km";
    const lines = [
      [label("tooltip_zone"), `${table.zone_name[z]}（${table.ward[z]}）`],
      [label("tooltip_people"), grouped(table.population[z])],
      [`${unit}`, `${number(before)} → ${Number.isFinite(after) ? number(after)
        : label("legend_unreachable")}`],
      [label("tooltip_farther"), grouped(table.people_farther[z])],
    ];
    for (const [name, value] of lines) {
      const line = element("div");
      line.append(element("b", `${name}: `), document.createTextNode(value));
      box.append(line);
    }
    return box;
  }

  function drawZones() {
    const {map, layers, raw, args} = view;
    if (layers.zones) map.removeLayer(layers.zones);
    view.zoneById = new Map();
    layers.zones = L.geoJSON(raw.shapes[args.question.zones], {
      style: () => ({fillColor: "#eeeeee", fillOpacity: 0.72, color: "#555555", weight: 0.6}),
      onEachFeature: (feature, layer) => {
        const zoneId = String(feature.properties.zone_id);
        view.zoneById.set(zoneId, layer);
        layer.bindTooltip(() => zoneTooltip(zoneId), {sticky: true});
        layer.on("add", () => {
          const path = layer.getElement();
          path.setAttribute("data-zone-id", zoneId);
          // Leaflet makes a path with a tooltip a tab stop: the keyboard would cross every
          // zone (932 small areas) before an office; the zone figures are in the tables
          path.setAttribute("tabindex", "-1");
        });
        layer.on("mouseover", () => layer.setStyle({weight: 2.5, color: "#000000"}));
        layer.on("mouseout", () => layer.setStyle({weight: 0.6, color: "#555555"}));
      },
    }).addTo(map);
    layers.zones.bringToBack();
    view.zoneKind = args.question.zones;
  }

  function drawBlank() {
    const {map, layers, raw, args} = view;
    if (layers.blank) map.removeLayer(layers.blank);
    const blank = new Set(args.blank_ids);
    const features = raw.shapes[args.question.zones].features.filter(
      (feature) => blank.has(String(feature.properties.zone_id)));
    layers.blank = L.geoJSON({type: "FeatureCollection", features}, {
      interactive: false,
      style: () => ({fill: false, color: "#d7191c", weight: 3, dashArray: "6 4"}),
    }).addTo(map);
    view.blankKey = JSON.stringify([args.question.zones, args.blank_ids]);
  }

  function drawStores() {
    const {map, layers, raw, args} = view;
    if (layers.stores) map.removeLayer(layers.stores);
    const stores = raw.stores[args.question.store_source] || {lat: [], lon: [], label: []};
    const cluster = L.markerClusterGroup({showCoverageOnHover: false, maxClusterRadius: 40,
                                          disableClusteringAtZoom: 16});
    stores.lat.forEach((lat, index) => {
      const icon = L.divIcon({html: args.labels.store_dot, iconSize: [7, 7], iconAnchor: [4, 4],
                              className: "store-dot"});
      cluster.addLayer(L.marker([lat, stores.lon[index]], {icon, keyboard: false})
        .bindTooltip(element("span", stores.label[index])));
    });
    layers.stores = cluster.addTo(map);
    view.storeSource = args.question.store_source;
  }

  function officeName(office, state) {
    const action = label(view.args.view.click_action === "close" ? "click_close" : "click_downgrade");
    return `${office.name}（${office.kind_label}・${label(`state_${state}`)}） `
      + label("map_key_hint", {action});
  }

  function officeTooltip(office) {
    const state = E.officeState(view.local, view.bundle.offices[view.bundle.officeIndex.get(office.id)]);
    const box = element("div");
    box.append(element("b", office.name), element("br"),
               document.createTextNode(`${label("popup_kind")}: ${office.kind_label}`),
               element("br"), document.createTextNode(`${label("popup_ward")}: ${office.ward}`),
               element("br"),
               document.createTextNode(`${label("popup_address")}: ${office.address}`),
               element("br"),
               document.createTextNode(`${label("popup_state")}: ${label(`state_${state}`)}`));
    return box;
  }

  function drawOffices() {
    const {map, layers, args, bundle} = view;
    if (layers.offices) map.removeLayer(layers.offices);
    view.markers = new Map();
    layers.offices = L.layerGroup();
    for (const office of args.offices) {
      const row = bundle.officeIndex.get(office.id);
      if (row === undefined || !bundle.offices[row].in_base[args.question.base]) continue;
      const icon = L.divIcon({
        html: args.symbols[office.kind].open, iconSize: [office.size, office.size],
        iconAnchor: [office.size / 2 - office.dx, office.size / 2 - office.dy],
        className: `office-marker office-open office-id-${cssId(office.id)}`,
      });
      const marker = L.marker([office.lat, office.lon], {icon, keyboard: true,
                                                         zIndexOffset: office.z});
      marker.bindTooltip(() => officeTooltip(office));
      marker.on("click", () => toggleOffice(office.id));
      marker.on("add", () => {
        const node = marker.getElement();
        node.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            event.stopPropagation();
            toggleOffice(office.id);
          }
        });
      });
      marker.office = office;
      view.markers.set(office.id, marker);
      layers.offices.addLayer(marker);
    }
    layers.offices.addTo(map);
    view.base = args.question.base;
  }

  function paintOffices() {
    for (const [officeId, marker] of view.markers) {
      const node = marker.getElement();
      if (!node) continue;
      const row = view.bundle.officeIndex.get(officeId);
      const state = E.officeState(view.local, view.bundle.offices[row]);
      if (!node.classList.contains(`office-${state}`)) {
        node.classList.remove(...OFFICE_STATES.map((name) => `office-${name}`));
        node.classList.add(`office-${state}`);
        node.innerHTML = view.args.symbols[marker.office.kind][state];
      }
      const name = officeName(marker.office, state);
      node.setAttribute("aria-label", name);
      node.title = name;
    }
  }

  function drawControl() {
    const {map, layers, args} = view;
    if (view.control) view.control.remove();
    if (layers.tiles && !args.view.show_tiles) {
      map.removeLayer(layers.tiles);
      delete layers.tiles;
    } else if (!layers.tiles && args.view.show_tiles) {
      layers.tiles = L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
        attribution: "&copy; OpenStreetMap contributors", maxZoom: 18}).addTo(map);
      layers.tiles.bringToBack();
    }
    view.tiles = args.view.show_tiles;
    const overlays = {};
    if (layers.tiles) overlays[label("layer_tiles")] = layers.tiles;
    overlays[label("layer_wards")] = layers.wards;
    overlays[label("layer_zones")] = layers.zones;
    overlays[label("layer_blank")] = layers.blank;
    overlays[label("layer_offices")] = layers.offices;
    overlays[label("layer_stores")] = layers.stores;
    view.control = L.control.layers(null, overlays, {collapsed: true}).addTo(map);
  }

  function drawMap() {
    const {raw, args} = view;
    const box = document.getElementById("map");
    box.style.height = `${args.view.height}px`;
    // Leaflet focuses the map on its first mousedown; the page would then scroll the frame
    // into view, move the marker from under the pointer and lose that first click
    const focusElement = box.focus.bind(box);
    box.focus = (options) => focusElement(Object.assign({preventScroll: true}, options));
    const map = L.map(box, {minZoom: 9, maxZoom: 18, zoomControl: true});
    view.map = map;
    L.control.scale().addTo(map);
    map.attributionControl.setPrefix("Leaflet");
    const wards = L.geoJSON(raw.wards, {
      interactive: false, style: () => ({fill: false, color: "#222222", weight: 2.2})});
    const labels = raw.ward_labels.map((ward) => {
      const html = element("div", ward.ward);
      return L.marker([ward.lat, ward.lon], {interactive: false, keyboard: false,
        icon: L.divIcon({html: html.outerHTML, iconSize: [0, 0], className: "ward-label"})});
    });
    view.layers.wards = L.layerGroup([wards, ...labels]).addTo(map);
    map.fitBounds(wards.getBounds());
  }

  function ensureLayers() {
    const {args} = view;
    if (!view.map) drawMap();
    if (view.zoneKind !== args.question.zones) drawZones();
    const blankKey = JSON.stringify([args.question.zones, args.blank_ids]);
    let changed = false;
    if (view.blankKey !== blankKey) { drawBlank(); changed = true; }
    if (view.storeSource !== args.question.store_source) { drawStores(); changed = true; }
    if (view.base !== args.question.base || view.markers.size === 0
        || view.officeNames !== JSON.stringify(args.offices)) {
      drawOffices();
      view.officeNames = JSON.stringify(args.offices);
      changed = true;
    }
    if (changed || !view.control || view.tiles !== args.view.show_tiles
        || view.controlLanguage !== args.labels.layer_zones) {
      drawControl();
      view.controlLanguage = args.labels.layer_zones;
    }
  }

  // -- evaluate, paint, confirm ------------------------------------------------------------

  function evaluateAndPaint(seq) {
    const {args, bundle} = view;
    view.result = E.evaluate(bundle, view.local);
    view.fills = E.zoneFills(view.result.zoneTable, args.view.colour_by, args.view.threshold_km,
                             args.view.threshold_min, args.scale);
    paintZones(view.fills);
    if (seq !== null) mark(`zones-${seq}`);
    paintCards(args.cards.map((card) => cardText(card, view.result.city)));
    if (seq !== null) mark(`cards-${seq}`);
    paintOffices();
  }

  function paintZones(fills) {
    const ids = view.result.zoneTable.zone_id;
    ids.forEach((zoneId, z) => {
      const layer = view.zoneById.get(String(zoneId));
      if (layer) layer.setStyle({fillColor: fills[z]});
    });
  }

  function confirm() {
    const {args} = view;
    const confirmed = args.confirmed;
    if (args.applied_seq < view.seq
        || questionKey(confirmed.question) !== questionKey(view.local)) {
      showStatus("unconfirmed");
      return;
    }
    const city = view.result.city;
    const differing = Object.keys(confirmed.city).filter(
      (name) => !sameFigure(city[name], confirmed.city[name]));
    const ids = view.result.zoneTable.zone_id;
    const serverFills = ids.map((zoneId, z) => confirmed.fills[String(zoneId)] || view.fills[z]);
    const recoloured = serverFills.filter((fill, z) => fill !== view.fills[z]).length;
    paintZones(serverFills);  // the server's figures win
    paintCards(confirmed.cards);
    if (differing.length || recoloured) {
      console.warn("instant map: the server's figures differ", differing, recoloured);
      showStatus("mismatch");
    } else {
      showStatus("confirmed");
    }
    if (view.confirmedSeq !== view.seq) {
      mark(`confirmed-${view.seq}`);
      view.confirmedSeq = view.seq;
    }
  }

  function toggleOffice(officeId) {
    if (!view.bundle || !view.local) return;
    const next = E.toggle(view.bundle, view.local, officeId, view.args.view.click_action);
    if (next === null) return;
    view.seq += 1;
    mark(`click-${view.seq}`);
    view.local = Object.assign({}, view.local, next);
    evaluateAndPaint(view.seq);
    showStatus("unconfirmed");
    reportOffices();
  }

  function render() {
    const {args} = view;
    const caughtUp = view.local === null || args.applied_seq >= view.seq;
    const offices = caughtUp ? args.question
      : {closed: view.local.closed, downgraded: view.local.downgraded};
    view.local = Object.assign({}, args.question,
                               {closed: offices.closed, downgraded: offices.downgraded});
    view.seq = Math.max(view.seq, args.applied_seq);
    ensureLayers();
    evaluateAndPaint(null);
    confirm();
    if (!view.drawn) {
      view.drawn = true;
      mark("map-drawn");
    }
    setFrameHeight();
  }

  async function load(url) {
    view.bundleUrl = url;
    const response = await fetch(url);
    if (!response.ok) throw new Error(`the map data could not be read (${response.status})`);
    const raw = await response.json();
    if (view.bundleUrl !== url) return;
    view.raw = raw;
    view.bundle = E.decodePayload(raw);
    mark("payload-loaded");
    if (view.map) {  // another study: its shapes and offices
      view.zoneKind = null;
      view.storeSource = null;
      view.blankKey = null;
      view.markers = new Map();
    }
    render();
  }

  window.addEventListener("message", (event) => {
    if (!event.data || event.data.type !== "streamlit:render") return;
    view.args = event.data.args;
    document.documentElement.lang = view.args.lang;  // a screen reader's voice follows it
    if (view.bundleUrl !== view.args.payload.url) {
      showStatus("loading");
      setFrameHeight();
      load(view.args.payload.url).catch((error) => {
        console.error(error);
        document.getElementById("confirmation").textContent = String(error);
      });
    } else if (view.bundle) {
      render();
    }
  });
  window.instantMap = view;  // for the browser test and the benchmark
  post("streamlit:componentReady", {apiVersion: 1});
}());
