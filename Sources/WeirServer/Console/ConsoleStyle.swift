/// The console's stylesheet: system fonts, one accent colour, tables that scroll sideways on a
/// phone rather than squeeze, cards in a grid that wraps from four columns down to one.
enum ConsoleStyle {
    static let css = #"""
:root { --fg: #1d2430; --muted: #5f6b7a; --line: #dde3ea; --bg: #f6f8fa; --card: #fff;
        --accent: #1f6feb; --accent2: #d9480f; --bad: #c92a2a; --ok: #2b8a3e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 20px; padding: 10px 20px; background: #0d1b2a; color: #fff; }
header a { color: #cfe3ff; text-decoration: none; }
header .brand { font-weight: 700; font-size: 18px; color: #fff; }
nav { display: flex; gap: 14px; flex-wrap: wrap; }
nav a.active { color: #fff; border-bottom: 2px solid #fff; }
#broker-line { margin-left: auto; color: #9fb3c8; font-size: 12px; }
main { padding: 16px 20px 40px; max-width: 1200px; margin: 0 auto; }
h1 { font-size: 20px; margin: 4px 0 12px; word-break: break-all; }
h2 { font-size: 16px; margin: 22px 0 8px; }
a { color: var(--accent); }
#message { margin: 10px 20px 0; padding: 8px 12px; border-radius: 6px; background: #e7f5ff; border: 1px solid #a5d8ff; }
#message.error { background: #fff5f5; border-color: #ffa8a8; color: var(--bad); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 10px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 20px; font-weight: 600; word-break: break-all; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 10px; margin-top: 10px; }
.chart { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.chart svg { width: 100%; height: 140px; display: block; }
.legend { font-size: 12px; color: var(--muted); display: flex; gap: 12px; flex-wrap: wrap; }
.legend .k1::before, .legend .k2::before { content: ""; display: inline-block; width: 10px; height: 3px; margin-right: 4px; vertical-align: middle; }
.legend .k1::before { background: var(--accent); }
.legend .k2::before { background: var(--accent2); }
.scroll { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; white-space: nowrap; }
th { background: #eef2f6; font-weight: 600; font-size: 12px; color: var(--muted); }
th.sortable { cursor: pointer; user-select: none; }
th.sorted-asc::after { content: " ▲"; }
th.sorted-desc::after { content: " ▼"; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.payload { white-space: pre-wrap; word-break: break-all; max-width: 420px; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.enc { display: inline-block; font-size: 10px; padding: 0 5px; margin-right: 6px; border-radius: 8px; background: #e9ecef; color: var(--muted); font-family: system-ui, sans-serif; }
.enc.hex { background: #fff3bf; color: #8f5a00; }
.enc.null { background: #f1f3f5; color: #868e96; }
.bar { display: inline-block; width: 120px; height: 10px; background: #e9ecef; border-radius: 5px; overflow: hidden; vertical-align: middle; margin-right: 6px; }
.bar span { display: block; height: 100%; background: var(--accent2); }
.bar span.zero { background: var(--ok); }
form.inline { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin: 8px 0; }
form.inline label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
input, select, button { font: inherit; padding: 5px 8px; border: 1px solid #c5ced8; border-radius: 6px; background: #fff; }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
button.danger { background: var(--bad); border-color: var(--bad); }
button.plain { background: #fff; color: var(--accent); }
.muted { color: var(--muted); }
.pager { display: flex; gap: 8px; margin: 8px 0; }
.noscript { padding: 20px; }
@media (max-width: 640px) {
  header { padding: 10px 12px; }
  main { padding: 12px 10px 30px; }
  #broker-line { margin-left: 0; width: 100%; }
  .cards { grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; }
  .card .value { font-size: 17px; }
  th, td { padding: 5px 7px; }
}
"""#
}
