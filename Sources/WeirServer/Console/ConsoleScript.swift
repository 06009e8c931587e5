/// The console's script: a hash router, one function per view, live views refreshed every two
/// seconds (one request at a time, none while the tab is hidden), SVG charts drawn by hand, and
/// the write actions behind `confirm()`. DOM is built with `textContent`, never `innerHTML`, so
/// record bytes and names are shown, not interpreted.
enum ConsoleScript {
    static let js = #"""
"use strict";
const main = document.getElementById("main");
const message = document.getElementById("message");
let refresher = null, busy = false, sortState = { key: "name", asc: true };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}
function show(text, isError) {
  message.hidden = !text; message.textContent = text || "";
  message.className = isError ? "error" : "";
}
async function api(method, path, body) {
  const r = await fetch(path, { method, headers: body ? { "Content-Type": "application/json" } : {},
                                body: body ? JSON.stringify(body) : undefined });
  const data = await r.json().catch(() => ({ error: "HTTP " + r.status }));
  if (!r.ok) throw new Error(r.status + ": " + (data.error || "failed"));
  return data;
}
function bytes(n) {
  if (n === null || n === undefined) return "–";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0, v = Number(n);
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return (i ? v.toFixed(1) : v) + " " + u[i];
}
function num(n) { return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"); }
function when(ms) { return ms === null || ms === undefined ? "–" : new Date(ms).toISOString().replace("T", " ").replace("Z", ""); }
function duration(ms) {
  if (ms === null || ms === undefined || ms < 0) return "–";
  const s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return d ? d + "d " + h + "h" : h ? h + "h " + m + "m" : m ? m + "m " + (s % 60) + "s" : (s % 60) + "s";
}
function retention(ms) { return ms < 0 ? "forever" : duration(ms); }
function enc(kind, field, encoding) {
  return el("td", { class: "payload " + kind, "data-encoding": encoding },
            el("span", { class: "enc " + encoding }, encoding), el("span", { class: "text" }, encoding === "null" ? "null" : field));
}
function card(label, value, id) {
  return el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: "value", id }, value));
}
function table(headers, rows) {
  return el("div", { class: "scroll" }, el("table", {},
    el("thead", {}, el("tr", {}, headers.map(h => typeof h === "string" ? el("th", {}, h) : h))),
    el("tbody", {}, rows)));
}
function live(fn) { refresher = fn; return fn(); }

// A line chart of two series over time: polyline per series, the maximum on the y axis.
function chart(title, points, a, b, fmt) {
  const w = 600, h = 140, pad = 4;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`); svg.setAttribute("preserveAspectRatio", "none");
  const max = Math.max(1e-9, ...points.map(p => Math.max(p[a.key], p[b.key])));
  const t0 = points.length ? points[0].time_ms : 0, t1 = points.length ? points[points.length - 1].time_ms : 1;
  for (const [s, color] of [[a, "var(--accent)"], [b, "var(--accent2)"]]) {
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("fill", "none"); line.setAttribute("stroke", color); line.setAttribute("stroke-width", "2");
    line.setAttribute("vector-effect", "non-scaling-stroke");
    line.setAttribute("points", points.map(p => {
      const x = t1 > t0 ? (p.time_ms - t0) / (t1 - t0) * w : 0;
      return x.toFixed(1) + "," + (h - pad - p[s.key] / max * (h - 2 * pad)).toFixed(1);
    }).join(" "));
    svg.append(line);
  }
  const last = points[points.length - 1] || {};
  return el("div", { class: "chart" }, el("strong", {}, title),
    el("div", { class: "legend" }, el("span", { class: "k1" }, a.label + " " + fmt(last[a.key] || 0)),
       el("span", { class: "k2" }, b.label + " " + fmt(last[b.key] || 0)),
       el("span", {}, "peak " + fmt(points.length ? max : 0) + ", last " + Math.round((t1 - t0) / 1000) + " s")),
    svg);
}

async function overview() {
  main.replaceChildren(el("h1", {}, "Overview"), el("div", { id: "live" }));
  return live(async () => {
    const b = await api("GET", "/v1/broker");
    const last = b.retention.last_pass;
    const rate = v => num(Math.round(v)) + "/s", mb = v => (v / 1048576).toFixed(2) + " MB/s";
    document.getElementById("live").replaceChildren(
      el("div", { class: "cards" },
        card("Broker", b.broker_id, "broker-id"), card("Version", b.version), card("Uptime", duration(b.uptime_ms)),
        card("Topics", num(b.topics), "topic-count"), card("Partitions", num(b.partitions)),
        card("Bytes on disk", bytes(b.bytes_on_disk)), card("Memtables", bytes(b.rocksdb.memtable_bytes)),
        card("Block cache", bytes(b.rocksdb.block_cache_bytes)),
        card("Pending compaction", bytes(b.rocksdb.pending_compaction_bytes)),
        card("Retention/compaction", last ? when(last.ended_at_ms) : "not run yet"),
        card("Last pass", last ? `${last.duration_ms} ms, −${num(last.deleted_batches)} batches, −${num(last.compacted_records)} compacted` : "–"),
        card("Console", b.writable ? "writable" : "read-only")),
      el("div", { class: "charts" },
        chart("Records/s", b.rates, { key: "produce_records_per_sec", label: "produce" },
              { key: "fetch_records_per_sec", label: "fetch" }, rate),
        chart("MB/s", b.rates, { key: "produce_bytes_per_sec", label: "produce" },
              { key: "fetch_bytes_per_sec", label: "fetch" }, mb)));
  });
}

async function topics() {
  const form = el("form", { class: "inline", id: "create-topic" },
    el("label", {}, "Name", el("input", { name: "name", required: "", pattern: "[A-Za-z0-9._-]+" })),
    el("label", {}, "Partitions", el("input", { name: "partitions", type: "number", min: "1", value: "1" })),
    el("button", { type: "submit" }, "Create topic"));
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    const name = form.elements.name.value, partitions = Number(form.elements.partitions.value);
    if (!confirm(`Create topic ${name} with ${partitions} partition(s)?`)) return;
    try { await api("POST", "/v1/topics", { name, partitions }); show(`Created topic ${name}.`); refresher(); }
    catch (e) { show(e.message, true); }
  });
  main.replaceChildren(el("h1", {}, "Topics"), el("div", { id: "live" }), el("h2", {}, "New topic"), form);
  const cols = [["name", "Topic"], ["partitions", "Partitions"], ["records", "Records"], ["bytes", "Bytes"],
                ["retention_ms", "Retention"], ["cleanup_policy", "Cleanup policy"]];
  return live(async () => {
    const list = (await api("GET", "/v1/topics")).topics;
    const { key, asc } = sortState;
    list.sort((x, y) => (x[key] < y[key] ? -1 : x[key] > y[key] ? 1 : 0) * (asc ? 1 : -1));
    const heads = cols.map(([k, label]) => el("th", {
      class: "sortable" + (k === key ? (asc ? " sorted-asc" : " sorted-desc") : "") + (k === "name" || k === "cleanup_policy" ? "" : " num"),
      "data-sort": k, onclick: () => { sortState = { key: k, asc: k === key ? !asc : true }; refresher(); } }, label));
    document.getElementById("live").replaceChildren(list.length ? table(heads, list.map(t => el("tr", { "data-topic": t.name },
      el("td", {}, el("a", { href: "#/topics/" + encodeURIComponent(t.name) }, t.name)),
      el("td", { class: "num" }, num(t.partitions)), el("td", { class: "num", "data-field": "records" }, num(t.records)),
      el("td", { class: "num" }, bytes(t.bytes)),
      el("td", { class: "num" }, retention(t.retention_ms) + (t.retention_bytes >= 0 ? " / " + bytes(t.retention_bytes) : "")),
      el("td", {}, t.cleanup_policy)))) : el("p", { class: "muted" }, "No topics yet."));
  });
}

async function topic(name) {
  const del = el("button", { class: "danger", id: "delete-topic", onclick: async () => {
    if (!confirm(`Delete topic ${name} and all its records? This cannot be undone.`)) return;
    try { await api("DELETE", "/v1/topics/" + encodeURIComponent(name)); show(`Deleted topic ${name}.`); location.hash = "#/topics"; }
    catch (e) { show(e.message, true); }
  } }, "Delete topic");
  main.replaceChildren(el("h1", {}, "Topic ", name), el("div", { id: "live" }), el("h2", {}, "Actions"), del);
  return live(async () => {
    const t = await api("GET", "/v1/topics/" + encodeURIComponent(name));
    document.getElementById("live").replaceChildren(
      el("div", { class: "cards" }, card("Partitions", num(t.partitions)), card("Records", num(t.records)),
         card("Bytes", bytes(t.bytes)), card("Cleanup policy", t.cleanup_policy), card("Topic id", t.topic_id)),
      el("h2", {}, "Partitions"),
      table(["Partition", "Log start", "Log end", "Records", "Bytes", "First timestamp", "Last timestamp", "Leader", "Replicas", "ISR", ""],
        t.partition_details.map(p => el("tr", { "data-partition": p.partition },
          el("td", { class: "num" }, p.partition),
          el("td", { class: "num", "data-field": "log_start_offset" }, p.log_start_offset),
          el("td", { class: "num", "data-field": "log_end_offset" }, p.log_end_offset),
          el("td", { class: "num" }, num(p.records)), el("td", { class: "num" }, bytes(p.bytes)),
          el("td", {}, when(p.first_timestamp)), el("td", {}, when(p.last_timestamp)),
          el("td", { class: "num" }, p.leader), el("td", {}, p.replicas.join(",")), el("td", {}, p.isr.join(",")),
          el("td", {}, el("a", { href: `#/topics/${encodeURIComponent(name)}/partitions/${p.partition}/records` }, "records"))))),
      el("h2", {}, "Configs"),
      table(["Name", "Value", "Source"], t.configs.map(c => el("tr", { "data-config": c.name },
        el("td", {}, c.name), el("td", {}, c.value), el("td", { title: c.note || "" }, c.source)))));
  });
}

async function records(name, partition, query) {
  const form = el("form", { class: "inline", id: "records-form" },
    el("label", {}, "From offset (empty: newest)", el("input", { name: "offset", type: "number", min: "0", value: query.get("offset") || "" })),
    el("label", {}, "Max records", el("input", { name: "max", type: "number", min: "1", max: "500", value: query.get("max") || "50" })),
    el("button", { type: "submit" }, "Show"));
  const base = `#/topics/${encodeURIComponent(name)}/partitions/${partition}/records`;
  form.addEventListener("submit", ev => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (form.elements.offset.value !== "") q.set("offset", form.elements.offset.value);
    q.set("max", form.elements.max.value);
    location.hash = base + "?" + q;
  });
  main.replaceChildren(el("h1", {}, `Records of ${name}-${partition}`), form, el("div", { id: "live" }, "Loading…"));
  const q = new URLSearchParams();
  if (query.get("offset")) q.set("offset", query.get("offset"));
  q.set("max", query.get("max") || "50");
  const page = await api("GET", `/v1/topics/${encodeURIComponent(name)}/partitions/${partition}/records?${q}`);
  const next = new URLSearchParams({ offset: page.next_offset, max: q.get("max") });
  document.getElementById("live").replaceChildren(
    el("p", { class: "muted" }, `log start ${page.log_start_offset}, log end ${page.log_end_offset}, ${page.records.length} record(s), next offset ${page.next_offset}`),
    page.records.length ? table(["Offset", "Timestamp", "Key", "Value", "Headers"], page.records.map(r => el("tr", { "data-offset": r.offset },
      el("td", { class: "num" }, r.offset), el("td", {}, when(r.timestamp)),
      enc("key", r.key, r.key_encoding), enc("value", r.value, r.value_encoding),
      el("td", { class: "payload" }, r.headers.map(h => h.key + ": " + (h.value === null ? "null" : h.value)).join("\n"))))) :
      el("p", { class: "muted" }, "No records here."),
    el("div", { class: "pager" },
      page.next_offset < page.high_watermark ? el("a", { href: base + "?" + next, id: "next-page" }, "Next page →") : null,
      el("a", { href: `#/topics/${encodeURIComponent(name)}` }, "Back to topic")));
}

function lagBar(lag, max) {
  const pct = max > 0 ? Math.max(2, Math.round(lag / max * 100)) : 0;
  return el("span", { class: "bar" }, el("span", { class: lag ? "" : "zero", style: `width:${lag ? pct : 100}%` }));
}

async function groups() {
  main.replaceChildren(el("h1", {}, "Consumer groups"), el("div", { id: "live" }));
  return live(async () => {
    const list = (await api("GET", "/v1/groups")).groups;
    const max = Math.max(0, ...list.map(g => g.lag));
    document.getElementById("live").replaceChildren(list.length ? table(["Group", "State", "Protocol", "Members", "Partitions", "Lag"],
      list.map(g => el("tr", { "data-group": g.group_id },
        el("td", {}, el("a", { href: "#/groups/" + encodeURIComponent(g.group_id) }, g.group_id)), el("td", {}, g.state),
        el("td", {}, g.protocol || g.protocol_type || "–"), el("td", { class: "num" }, g.members),
        el("td", { class: "num" }, g.partitions),
        el("td", { "data-field": "lag" }, lagBar(g.lag, max), num(g.lag))))) : el("p", { class: "muted" }, "No groups yet."));
  });
}

async function group(id) {
  const form = el("form", { class: "inline", id: "reset-offsets" },
    el("label", {}, "Topic", el("input", { name: "topic", required: "" })),
    el("label", {}, "To", el("select", { name: "to" }, el("option", { value: "earliest" }, "earliest"),
       el("option", { value: "latest" }, "latest"), el("option", { value: "offset" }, "offset…"))),
    el("label", {}, "Offset", el("input", { name: "offset", type: "number", min: "0" })),
    el("button", { type: "submit", class: "danger" }, "Reset offsets"));
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    const topic = form.elements.topic.value, sel = form.elements.to.value;
    const to = sel === "offset" ? Number(form.elements.offset.value) : sel;
    if (!confirm(`Reset group ${id}'s offsets on ${topic} to ${to}?`)) return;
    try { await api("POST", `/v1/groups/${encodeURIComponent(id)}/reset-offsets`, { topic, to }); show(`Reset ${id} on ${topic}.`); refresher(); }
    catch (e) { show(e.message, true); }
  });
  main.replaceChildren(el("h1", {}, "Group ", id), el("div", { id: "live" }), el("h2", {}, "Reset offsets (group must be empty)"), form);
  return live(async () => {
    const g = await api("GET", "/v1/groups/" + encodeURIComponent(id));
    const max = Math.max(0, ...g.offsets.map(o => o.lag || 0));
    document.getElementById("live").replaceChildren(
      el("div", { class: "cards" }, card("State", g.state, "group-state"), card("Protocol", g.protocol || g.protocol_type || "–"),
         card("Members", g.members.length), card("Total lag", num(g.lag), "group-lag")),
      el("h2", {}, "Members"),
      g.members.length ? table(["Member", "Client", "Host", "Assignment"], g.members.map(m => el("tr", {},
        el("td", {}, m.member_id), el("td", {}, m.client_id), el("td", {}, m.client_host),
        el("td", {}, m.assignment.map(a => a.topic + ": " + a.partitions.join(",")).join("; ") || "–")))) :
        el("p", { class: "muted" }, "No members."),
      el("h2", {}, "Offsets"),
      table(["Topic", "Partition", "Committed", "Log end", "Lag"], g.offsets.map(o =>
        el("tr", { "data-topic": o.topic, "data-partition": o.partition },
          el("td", {}, o.topic), el("td", { class: "num" }, o.partition),
          el("td", { class: "num", "data-field": "committed_offset" }, o.committed_offset ?? "–"),
          el("td", { class: "num", "data-field": "log_end_offset" }, o.log_end_offset ?? "–"),
          el("td", { "data-field": "lag", "data-lag": o.lag ?? "" }, lagBar(o.lag || 0, max), o.lag ?? "–")))));
  });
}

async function snapshots() {
  const form = el("form", { class: "inline", id: "take-snapshot" },
    el("label", {}, "Directory (must not exist)", el("input", { name: "path", required: "", size: "40" })),
    el("button", { type: "submit" }, "Take snapshot"));
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    try { const s = await api("POST", "/v1/snapshots", { path: form.elements.path.value }); show(`Snapshot taken in ${s.path}.`); refresher(); }
    catch (e) { show(e.message, true); }
  });
  main.replaceChildren(el("h1", {}, "Snapshots"), el("div", { id: "live" }), el("h2", {}, "Take a snapshot"), form);
  return live(async () => {
    const list = (await api("GET", "/v1/snapshots")).snapshots.slice().reverse();
    document.getElementById("live").replaceChildren(list.length ? table(["Taken", "Path", "Partitions", "Records (log end)"],
      list.map(s => el("tr", {}, el("td", {}, when(s.created_at_ms)), el("td", {}, s.path),
        el("td", { class: "num" }, s.partitions.length),
        el("td", { class: "num" }, num(s.partitions.reduce((n, p) => n + p.log_end_offset - p.log_start_offset, 0)))))) :
      el("p", { class: "muted" }, "No snapshots taken yet."));
  });
}

async function route() {
  refresher = null;
  const [path, qs] = location.hash.replace(/^#/, "").split("?");
  const parts = (path || "/").split("/").filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(qs || "");
  const view = parts[0] || "overview";
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.nav === view);
  try {
    if (view === "topics" && parts.length === 5 && parts[2] === "partitions") await records(parts[1], parts[3], query);
    else if (view === "topics" && parts.length === 2) await topic(parts[1]);
    else if (view === "topics") await topics();
    else if (view === "groups" && parts.length === 2) await group(parts[1]);
    else if (view === "groups") await groups();
    else if (view === "snapshots") await snapshots();
    else await overview();
  } catch (e) {
    main.replaceChildren(el("h1", {}, "Error"), el("p", { id: "error" }, e.message));
  }
}

async function tick() {
  if (!refresher || busy || document.hidden) return;
  busy = true;
  try { await refresher(); } catch (e) { show(e.message, true); } finally { busy = false; }
}

window.addEventListener("hashchange", () => { show(""); route(); });
setInterval(tick, 2000);
api("GET", "/v1/broker").then(b => {
  document.getElementById("broker-line").textContent = `broker ${b.broker_id} · weir ${b.version} · ${b.writable ? "writable" : "read-only"}`;
}).catch(() => {});
route();
"""#
}
