import { algorithmColor } from './svg-charts.js';

/** Per-algorithm color classes (`.algo-0` ...): the page uses classes, not inline styles, to keep its CSP strict. */
function algorithmRules(count: number): string {
  const rules: string[] = [];
  for (let index = 0; index < count; index++) {
    const color = algorithmColor(index);
    rules.push(
      `.algo-${index}{--algo:${color}}`,
      `body.hide-algo-${index} .series.algo-${index},body.hide-algo-${index} .bar-group.algo-${index}{display:none}`,
      `body.hide-algo-${index} .legend-item.algo-${index}{opacity:.4;text-decoration:line-through}`,
    );
  }
  return rules.join('\n');
}

/** The page's stylesheet: light and dark themes, cards, charts, tree viewer. */
export function reportStyles(algorithmCount: number): string {
  return `
:root{--bg:#f6f7fb;--panel:#fff;--ink:#1d2433;--muted:#5f6b7d;--faint:#e7eaf1;--grid:#eceff5;--accent:#4263eb;
--code:#f1f3f8;--shadow:0 1px 2px rgba(16,24,40,.06),0 4px 16px rgba(16,24,40,.06);--tool:#ae3ec9;--fork:#f08c00;
color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0f131a;--panel:#171c25;--ink:#e6e9ef;--muted:#97a1b3;--faint:#262d3a;
--grid:#222937;--code:#11161e;--shadow:0 1px 2px rgba(0,0,0,.4);--tool:#da77f2;--fork:#ffa94d}}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:28px 24px 64px}
header.page{display:flex;flex-direction:column;gap:10px;margin-bottom:26px}
.brand{font-size:12px;letter-spacing:.12em;text-transform:uppercase;color:var(--muted);font-weight:600}
h1{font-size:28px;line-height:1.2;margin:0;font-weight:700;letter-spacing:-.01em}
h2{font-size:19px;margin:0 0 4px;font-weight:650}
.section-note{color:var(--muted);font-size:13.5px;margin:0 0 14px}
section{margin-top:30px}
.command{font:13px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--panel);border:1px solid var(--faint);
border-radius:10px;padding:10px 14px;overflow-x:auto;white-space:pre-wrap;word-break:break-word;margin:0}
.chips{display:flex;flex-wrap:wrap;gap:8px}
.chip{background:var(--panel);border:1px solid var(--faint);border-radius:999px;padding:3px 12px;font-size:13px;color:var(--muted)}
.chip b{color:var(--ink);font-weight:600}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(230px,1fr));gap:14px}
.card{background:var(--panel);border-radius:14px;box-shadow:var(--shadow);padding:16px 18px;border-top:4px solid var(--algo,var(--accent));position:relative}
.card h3{margin:0;font-size:15px;display:flex;align-items:center;gap:8px}
.card .big{font-size:34px;font-weight:700;letter-spacing:-.02em;margin:6px 0 0;font-variant-numeric:tabular-nums}
.card .ci{color:var(--muted);font-size:13px}
.card dl{display:grid;grid-template-columns:1fr auto;gap:3px 12px;margin:12px 0 0;font-size:13.5px}
.card dt{color:var(--muted)}.card dd{margin:0;text-align:right;font-variant-numeric:tabular-nums;font-weight:550}
.badge{font-size:11px;font-weight:650;background:var(--algo);color:#fff;border-radius:999px;padding:1px 8px;margin-left:auto}
.swatch{width:10px;height:10px;border-radius:3px;background:var(--algo);display:inline-block;flex:none}
.panel{background:var(--panel);border-radius:14px;box-shadow:var(--shadow);padding:16px 18px}
table{border-collapse:collapse;width:100%;font-size:13.5px;font-variant-numeric:tabular-nums}
th,td{padding:7px 10px;border-bottom:1px solid var(--faint);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{color:var(--muted);font-weight:600;font-size:12.5px;white-space:normal;vertical-align:bottom}
tbody tr:last-child td{border-bottom:0}
.table-scroll{overflow-x:auto}
.legend{display:flex;flex-wrap:wrap;gap:8px;margin:0 0 12px}
.legend-item{display:inline-flex;align-items:center;gap:7px;border:1px solid var(--faint);background:var(--panel);color:var(--ink);
border-radius:999px;padding:3px 12px;font:inherit;font-size:13px;cursor:pointer}
.legend-item:hover{border-color:var(--algo)}
.controls{display:flex;flex-wrap:wrap;gap:18px;align-items:center;margin:0 0 12px;font-size:13px;color:var(--muted)}
.controls label{display:inline-flex;align-items:center;gap:8px}
select,input[type=range]{font:inherit;accent-color:var(--accent)}
select{background:var(--panel);color:var(--ink);border:1px solid var(--faint);border-radius:8px;padding:4px 8px}
.chart-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:14px}
figure{margin:0;position:relative}
.stack{display:flex;flex-direction:column;gap:14px}
.explore figcaption label{display:inline-flex;gap:10px;align-items:center}
figcaption{font-weight:600;font-size:14px;margin:0 0 4px}
svg{display:block;width:100%;height:auto;overflow:visible}
.grid line{stroke:var(--grid);stroke-width:1}
.tick,.axis-label,.group-label,.empty-label{fill:var(--muted);font-size:11px;font-variant-numeric:tabular-nums}
.group-label{font-size:12.5px;font-weight:600;fill:var(--ink)}
.series .curve{fill:none;stroke:var(--algo);stroke-width:2.2;stroke-linejoin:round;stroke-linecap:round}
.series .band{fill:var(--algo);opacity:.14;stroke:none}
.series .point{fill:var(--panel);stroke:var(--algo);stroke-width:1.6}
.dense .point{display:none}
.guide{stroke:var(--muted);stroke-dasharray:3 3}
.hover-area{cursor:crosshair}
.bar{fill:var(--algo)}
.whisker{stroke:var(--ink);stroke-width:1.3;fill:none;opacity:.7}
.bar-value{font-size:11px;fill:var(--muted);font-weight:600}
.tooltip{position:absolute;pointer-events:none;background:var(--panel);border:1px solid var(--faint);box-shadow:var(--shadow);
border-radius:10px;padding:8px 10px;font-size:12.5px;min-width:160px;z-index:5}
.tooltip .row{display:flex;align-items:center;gap:7px;justify-content:space-between}
.tooltip .row span:last-child{font-variant-numeric:tabular-nums;font-weight:600}
.tooltip .range{color:var(--muted);font-weight:400}
.tooltip[hidden]{display:none}
.tabs{display:flex;flex-wrap:wrap;gap:6px;margin-bottom:10px}
.tab{border:1px solid var(--faint);background:var(--panel);color:var(--ink);font:inherit;font-size:13.5px;border-radius:9px;
padding:5px 12px;cursor:pointer;display:inline-flex;align-items:center;gap:7px}
.tab[aria-selected=true]{border-color:var(--algo,var(--accent));box-shadow:inset 0 -2px 0 var(--algo,var(--accent));font-weight:600}
.tree-list{display:flex;flex-wrap:wrap;gap:6px;margin-bottom:12px}
.tree-chip{border:1px solid var(--faint);background:var(--bg);color:var(--ink);font:inherit;font-size:12.5px;border-radius:999px;
padding:2px 10px;cursor:pointer}
.tree-chip[aria-selected=true]{background:var(--ink);color:var(--panel);border-color:var(--ink)}
.viewer{display:grid;grid-template-columns:minmax(0,1.35fr) minmax(0,1fr);gap:16px;align-items:start}
@media (max-width:900px){.viewer{grid-template-columns:1fr}}
.tree-stats{font-size:12.5px;color:var(--muted);margin:0 0 8px}
.tree-legend{display:flex;flex-wrap:wrap;gap:14px;font-size:12px;color:var(--muted);margin-top:8px}
.tree-legend i{display:inline-block;vertical-align:middle;margin-right:5px}
.tree-legend .l-fork{width:9px;height:9px;background:var(--fork);transform:rotate(45deg)}
.tree-legend .l-tool{width:8px;height:8px;background:var(--tool);border-radius:2px}
.tree-legend .l-leaf{width:9px;height:9px;border-radius:50%;background:linear-gradient(90deg,#e03131,#f59f00,#2f9e44)}
.tree .connector{fill:none;stroke:var(--algo);stroke-width:1.8;opacity:.75}
.tree .span{stroke:var(--algo);stroke-width:3;stroke-linecap:round}
.tree .fork path{fill:var(--fork);stroke:var(--panel);stroke-width:1.5}
.tree .fork text{font-size:10.5px;fill:var(--fork);font-weight:700}
.tree .tool-mark rect{fill:var(--tool);stroke:var(--panel);stroke-width:1}
.tree-leaf{cursor:pointer;outline:none}
.tree-leaf .leaf-label{font-size:11.5px;fill:var(--muted);font-variant-numeric:tabular-nums}
.tree-leaf .leaf-dot{stroke:var(--panel);stroke-width:1.5}
.tree-leaf:hover .leaf-span,.tree-leaf:focus-visible .leaf-span{stroke-width:5}
.tree-leaf:hover .leaf-label,.tree-leaf:focus-visible .leaf-label{fill:var(--ink)}
.tree-leaf.selected .leaf-label{fill:var(--ink);font-weight:700}
.tree-leaf.selected .leaf-dot{r:7}
.tree .on-path{stroke-width:5}
.tree .token-axis{stroke:var(--faint)}
.trajectory{background:var(--bg);border:1px solid var(--faint);border-radius:12px;padding:12px 14px;min-height:220px}
.trajectory h3{margin:0 0 6px;font-size:14.5px}
.trajectory .facts{display:flex;flex-wrap:wrap;gap:6px;margin:0 0 10px}
.trajectory .fact{font-size:12px;background:var(--panel);border:1px solid var(--faint);border-radius:999px;padding:1px 9px}
.trajectory details{margin:0 0 8px;font-size:12.5px}
.trajectory summary{cursor:pointer;color:var(--muted)}
.trajectory pre,.transcript{font:12.5px/1.55 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;word-break:break-word;
margin:0;max-height:460px;overflow:auto;background:var(--panel);border-radius:8px;padding:10px 12px;border:1px solid var(--faint)}
.transcript .segment{border-radius:3px}
.transcript .segment.shared{background:color-mix(in srgb,var(--algo) 12%,transparent)}
.transcript .segment.tool{box-shadow:inset 0 -2px 0 var(--tool)}
.transcript .fork-point{display:inline-block;font:600 10.5px system-ui,sans-serif;color:#fff;background:var(--fork);border-radius:4px;
padding:0 5px;margin:0 3px;vertical-align:1px}
.placeholder{color:var(--muted);font-size:13.5px}
footer{margin-top:40px;color:var(--muted);font-size:12.5px}
footer code{font-size:12px}
ul.notes{margin:6px 0 0;padding-left:18px;color:var(--muted);font-size:13.5px}
${algorithmRules(algorithmCount)}
`;
}
