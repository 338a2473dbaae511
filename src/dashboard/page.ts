// The dashboard's HTML and CSS. The page carries no data of its own: the script fills it from the event stream
// (GET /dashboard/events), so the HTML is the same for every operator and can be cached. The explanations are here,
// on the page, so that someone who never read the README can tell what each part means.

const BASE = '/dashboard';

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>trustplane — migration dashboard</title>
<link rel="stylesheet" href="${BASE}/assets/uPlot.min.css">
<link rel="stylesheet" href="${BASE}/assets/dashboard.css">
<script src="${BASE}/assets/uPlot.iife.min.js" defer></script>
<script type="module" src="${BASE}/assets/app.js"></script>
</head>
<body>
<header>
  <h1>trustplane <span class="thin">migration dashboard</span></h1>
  <div class="meta"><span id="trust-domain"></span><span id="window"></span>
    <span id="live" class="live connecting" title="Updates arrive by themselves; there is nothing to reload">connecting…</span></div>
</header>
<p class="intro">Moving services from plaintext to mutual TLS, port by port: <b>DISABLE</b> accepts plaintext only,
<b>PERMISSIVE</b> accepts both, <b>STRICT</b> accepts mTLS only. A port is <b>ready for STRICT</b> when, over the
evidence window, it served mTLS connections and no plaintext one. This page only reads; nothing here changes the mesh.</p>
<section id="summary" class="cards" aria-label="Summary"></section>
<section aria-labelledby="h-ports">
  <h2 id="h-ports">Services and ports</h2>
  <p class="hint">Mode asked (by the mesh description) and mode in force (what proxies were sent); the chart is the share
  of connections that used mTLS over the window; plaintext sources are who would break under STRICT.</p>
  <div class="scroll"><table id="ports"><thead><tr>
    <th>Service</th><th>Port</th><th>Mode asked → in force</th><th>Ready for STRICT</th><th>mTLS share</th>
    <th>Plaintext sources (connections, last seen)</th><th>Why not done</th>
  </tr></thead><tbody></tbody></table></div>
</section>
<section aria-labelledby="h-proxies">
  <h2 id="h-proxies">Connected proxies</h2>
  <p class="hint">Per resource type: <b>SYNCED</b> = the proxy ACKed the latest version; <b>STALE</b> = sent, not yet
  answered; <b>NACKED</b> = the proxy rejected it (its error is shown).</p>
  <div class="scroll"><table id="proxies"><thead><tr>
    <th>Node</th><th>Principal</th><th>API</th><th>Connected since</th><th>Sync status per type</th>
  </tr></thead><tbody></tbody></table></div>
</section>
<section aria-labelledby="h-svids">
  <h2 id="h-svids">SVIDs by expiry</h2>
  <p class="hint">Soonest first. <span class="pill expired">expired</span> <span class="pill expiring">expires within 10 min</span>
  — trustplane renews at about half the lifetime, so either one means renewal is failing.</p>
  <div class="scroll"><table id="svids"><thead><tr>
    <th>SPIFFE ID</th><th>Serial</th><th>Not after</th><th>Expires</th>
  </tr></thead><tbody></tbody></table></div>
</section>
<section aria-labelledby="h-bundles">
  <h2 id="h-bundles">Trust domains and bundles</h2>
  <p class="hint">The CA certificates each trust domain's identities are verified against.</p>
  <div id="bundles"></div>
</section>
<footer>Read-only. Data from the control plane's rollout, access-log evidence, xDS status and identity store;
JSON at <a href="${BASE}/api">${BASE}/api</a>.</footer>
</body>
</html>
`;

/** What a caller who is not the operator gets instead of the dashboard: how to get in, no data. */
export function signInPage(howToSignIn: string): string {
  const esc = howToSignIn.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trustplane — sign in</title>
<link rel="stylesheet" href="${BASE}/assets/dashboard.css"></head>
<body><header><h1>trustplane <span class="thin">migration dashboard</span></h1></header>
<p class="intro" id="sign-in">The dashboard shows the identities of proxies, so only the operator may open it. ${esc}</p>
</body></html>
`;
}

export const DASHBOARD_CSS = `
:root { --fg:#1d2430; --muted:#5b6576; --line:#dde2ea; --bg:#f6f8fb; --card:#fff; --ok:#1b7f3b; --warn:#a15c00;
  --bad:#b3261e; --strict:#1b5fbf; --perm:#7a5cc4; --dis:#6b7280; font-size:14px; }
* { box-sizing:border-box; }
body { margin:0 auto; max-width:1400px; padding:12px 20px 24px; font-family:system-ui,-apple-system,"Segoe UI",sans-serif;
  color:var(--fg); background:var(--bg); }
header { display:flex; align-items:baseline; justify-content:space-between; gap:12px; flex-wrap:wrap; }
h1 { font-size:20px; margin:4px 0; } h1 .thin { font-weight:400; color:var(--muted); }
h2 { font-size:16px; margin:18px 0 2px; }
.meta { display:flex; gap:14px; color:var(--muted); align-items:center; }
.live::before { content:""; display:inline-block; width:8px; height:8px; border-radius:50%; margin-right:6px; background:var(--dis); }
.live.on::before { background:var(--ok); } .live.off::before { background:var(--bad); }
.intro, .hint { color:var(--muted); margin:4px 0 8px; max-width:110ch; line-height:1.4; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(150px,1fr)); gap:10px; margin:10px 0; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:8px 12px; }
.card .v { font-size:22px; font-weight:600; } .card .k { color:var(--muted); font-size:12px; }
.card.chart { grid-column:span 2; } .card.bad .v { color:var(--bad); } .card.good .v { color:var(--ok); }
.scroll { overflow:auto; max-height:420px; background:var(--card); border:1px solid var(--line); border-radius:8px; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; padding:5px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { position:sticky; top:0; background:#eef1f6; font-weight:600; font-size:12px; color:var(--muted); z-index:1; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
code, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12px; word-break:break-all; }
.mode { display:inline-block; padding:1px 6px; border-radius:4px; font-size:12px; font-weight:600; color:#fff; }
.mode.STRICT { background:var(--strict); } .mode.PERMISSIVE { background:var(--perm); } .mode.DISABLE { background:var(--dis); }
.arrow { color:var(--muted); margin:0 4px; }
.pill { display:inline-block; padding:1px 6px; border-radius:10px; font-size:12px; border:1px solid currentColor; margin:0 4px 2px 0; }
.ready, .SYNCED, .valid { color:var(--ok); } .not_ready, .STALE, .expiring { color:var(--warn); }
.no_evidence, .NOT_SENT { color:var(--dis); } .forced { color:var(--warn); font-size:12px; } div.held { font-size:12px; } .NACKED, .expired, .held { color:var(--bad); }
tr[data-state=expired] td { background:#fdecea; } tr[data-state=expiring] td { background:#fff4e0; } tr[data-state=NACKED] td { background:#fdecea; }
td.modes, td.nowrap { white-space:nowrap; }
.list { margin:0; padding-left:16px; color:var(--muted); } .list li.held { color:var(--bad); }
.nack { color:var(--bad); font-size:12px; }
.share { display:flex; align-items:center; gap:6px; } .share .pct { min-width:42px; text-align:right; font-variant-numeric:tabular-nums; }
.spark { width:140px; height:36px; } .muted { color:var(--muted); }
.bundle { background:var(--card); border:1px solid var(--line); border-radius:8px; margin-bottom:8px; }
.bundle h3 { font-size:14px; margin:0; padding:6px 8px; border-bottom:1px solid var(--line); }
footer { color:var(--muted); margin-top:18px; font-size:12px; }
.u-legend { display:none; }
`;
