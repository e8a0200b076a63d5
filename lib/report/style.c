/*
 * The report page's style sheet (html.c includes it inline): light and dark
 * mode, narrow screens, print. Data only, one rule group per string (ISO C
 * bounds the length of a string literal).
 */
#include <stddef.h>
#include "report_int.h"

/* The style sheet, one rule group per string (ISO C bounds string literals). */
const char *const lleval_report_css[] = {
    ":root{color-scheme:light dark;--bg:#ffffff;--fg:#1f2328;--muted:#59636e;--border:#d1d9e0;"
    "--card:#f6f8fa;--accent:#0969da;--c-em:#0969da;--c-f1:#8250df;--c-acc:#1a7f37;"
    "--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--other:#818b98;--track:#e6eaef}\n",
    "@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;"
    "--border:#3d444d;--card:#151b23;--accent:#4493f8;--c-em:#4493f8;--c-f1:#ab7df8;"
    "--c-acc:#3fb950;--ok:#3fb950;--warn:#d29922;--bad:#f85149;--other:#656c76;"
    "--track:#262c36}}\n",
    "*{box-sizing:border-box}\n",
    "body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"
    "'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}\n",
    "main{max-width:1120px;margin:0 auto;padding:28px 20px 40px}\n",
    "h1{font-size:1.6em;margin:0 0 4px;line-height:1.25;overflow-wrap:anywhere}\n",
    "h2{font-size:1.25em;margin:36px 0 12px;padding-bottom:6px;border-bottom:1px solid "
    "var(--border)}\n",
    "h3{font-size:1.05em;margin:22px 0 6px;overflow-wrap:anywhere}\n",
    "p{margin:8px 0}\n",
    "a{color:var(--accent)}\n",
    "code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}\n",
    ".muted{color:var(--muted)}\n",
    ".sub{color:var(--muted);margin:0 0 16px;overflow-wrap:anywhere}\n",
    ".badge{display:inline-block;padding:1px 10px;border-radius:999px;font-size:.8em;"
    "font-weight:600;border:1px solid currentColor;vertical-align:middle}\n",
    ".s-ok{color:var(--ok)}.s-warn{color:var(--warn)}.s-bad{color:var(--bad)}\n",
    "nav{display:flex;flex-wrap:wrap;gap:6px 16px;margin:14px 0 0;font-size:.9em}\n",
    "nav a{text-decoration:none}\n",
    "dl.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));"
    "gap:10px 24px;margin:0}\n",
    "dl.facts div{min-width:0}\n",
    "dl.facts "
    "dt{color:var(--muted);font-size:.8em;text-transform:uppercase;letter-spacing:.04em}\n",
    "dl.facts dd{margin:0;overflow-wrap:anywhere}\n",
    ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}\n",
    ".card{background:var(--card);border:1px solid var(--border);border-radius:8px;"
    "padding:12px 14px;break-inside:avoid}\n",
    ".card .l{color:var(--muted);font-size:.8em;text-transform:uppercase;letter-spacing:.04em}\n",
    ".card .v{font-size:1.6em;font-weight:600;font-variant-numeric:tabular-nums;line-height:1.3}\n",
    ".card .d{color:var(--muted);font-size:.8em}\n",
    ".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}\n",
    "table{border-collapse:collapse;width:100%;font-size:.9em;font-variant-numeric:tabular-nums}\n",
    "th,td{padding:6px 10px;border-bottom:1px solid var(--border);text-align:left;"
    "vertical-align:top}\n",
    "th{font-weight:600;background:var(--card);vertical-align:bottom}\n",
    "td.n,th.n{text-align:right}td.n{white-space:nowrap}\n",
    "tr.overall td{font-weight:600;background:var(--card)}\n",
    ".ci{display:block;color:var(--muted);font-size:.8em;font-weight:400}\n",
    ".notes{color:var(--muted);font-size:.9em;padding-left:20px}\n",
    ".note{background:var(--card);border:1px solid var(--border);border-left:4px solid "
    "var(--warn);border-radius:6px;padding:10px 14px;overflow-wrap:anywhere}\n",
    ".legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:.85em;color:var(--muted);"
    "margin:6px 0}\n",
    ".legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;"
    "vertical-align:-1px}\n",
    "svg.chart{width:100%;min-width:600px;height:auto;display:block;margin:8px 0 4px;"
    "font-family:inherit}\n",
    "svg text{fill:var(--fg);font-size:12px}\n",
    "svg .axis{fill:var(--muted);font-size:11px}\n",
    "svg .grid{stroke:var(--border);stroke-width:1}\n",
    "svg .wh{stroke:var(--fg);stroke-width:1.4}\n",
    "svg .seg{fill:#fff;font-size:11px;font-weight:600}\n",
    ".b-em{fill:var(--c-em);background:var(--c-em)}.b-f1{fill:var(--c-f1);background:var(--c-f1)}"
    ".b-acc{fill:var(--c-acc);background:var(--c-acc)}\n",
    ".f-stop{fill:var(--ok);background:var(--ok)}.f-length{fill:var(--warn);"
    "background:var(--warn)}.f-error{fill:var(--bad);background:var(--bad)}"
    ".f-other{fill:var(--other);background:var(--other)}\n",
    ".meter .track{fill:var(--track)}.meter .fill{fill:var(--c-em)}"
    ".meter .fill.s-warn{fill:var(--warn)}.meter .fill.s-bad{fill:var(--bad)}\n",
    ".finding{background:var(--card);border:1px solid var(--border);border-left:4px solid "
    "var(--warn);border-radius:6px;padding:10px 16px;margin:12px 0;break-inside:avoid}\n",
    ".finding h3{margin:2px 0 6px}\n",
    ".finding ul,.finding ol{margin:4px 0;padding-left:22px}\n",
    ".finding .k{font-size:.8em;font-weight:600;color:var(--muted);text-transform:uppercase;"
    "letter-spacing:.04em;margin-top:8px}\n",
    ".healthy{border-left-color:var(--ok)}\n",
    "table.samples td{font-size:.95em}\n",
    "table.samples td.text{white-space:pre-wrap;overflow-wrap:anywhere;min-width:14em}\n",
    "table.samples td.q{overflow-wrap:anywhere;min-width:12em}table.samples "
    "td.id{white-space:nowrap}\n",
    "table.samples ul{margin:0;padding-left:18px}\n",
    ".tag{display:inline-block;font-size:.75em;font-weight:700;text-transform:uppercase;"
    "letter-spacing:.03em;white-space:nowrap}\n",
    ".small{font-size:.8em;color:var(--muted);display:block;white-space:normal}\n",
    "table.kv th{width:34%;background:none;color:var(--muted);font-weight:400;"
    "vertical-align:top}\n",
    "table.kv td{overflow-wrap:anywhere}\n",
    "footer{margin-top:40px;padding-top:12px;border-top:1px solid var(--border);"
    "color:var(--muted);font-size:.85em;overflow-wrap:anywhere}\n",
    "@media (max-width:640px){main{padding:18px 12px 28px}h1{font-size:1.3em}"
    "th,td{padding:5px 6px}.card .v{font-size:1.3em}"
    "dl.facts,.cards{grid-template-columns:repeat(2,minmax(0,1fr))}}\n",
    "@media print{:root{--bg:#fff;--fg:#000;--muted:#444;--border:#bbb;--card:#f4f4f4;"
    "--accent:#000;--track:#e4e4e4}body{font-size:10.5pt}main{max-width:none;padding:0}"
    "nav{display:none}h2{break-after:avoid}h3{break-after:avoid}tr,svg,.card{break-inside:"
    "avoid}.scroll{overflow:visible}a{text-decoration:none}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}\n",
    NULL,
};
