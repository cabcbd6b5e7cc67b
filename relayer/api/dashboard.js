// The dashboard's script: polls /status every second and redraws. Plain browser JavaScript, no
// build step and nothing fetched from outside (the node may run on a machine without internet).
// Health history lives only in this page: a ring buffer of samples per (account, subaccount, engine),
// so the chart shows the last minutes since the page was opened.

const POLL_MS = 1000;
/** Two minutes of samples at one per second. */
const HISTORY = 120;
const MIN_SLOTS = 20;
const history = new Map();

const $ = (id) => document.getElementById(id);

function esc(value) {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
}

function short(hex, keep = 6) {
  const s = String(hex ?? '');
  return s.length > 2 * keep + 3 ? `${s.slice(0, keep + 2)}…${s.slice(-keep + 2)}` : s;
}

function fmtAmount(value) {
  if (value === null || value === undefined) return '–';
  const n = Number(value);
  if (!Number.isFinite(n)) return esc(value);
  return n.toLocaleString('en-US', { maximumFractionDigits: Math.abs(n) >= 1000 ? 0 : 4 });
}

function fmtHealth(h) {
  return h === null || h === undefined ? '∞' : Number(h).toFixed(2);
}

function healthClass(h) {
  if (h === null || h === undefined || h >= 1.5) return 'h-ok';
  return h >= 1 ? 'h-warn' : 'h-bad';
}

function fmtUptime(s) {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${Math.floor(s % 60)}s` : `${Math.floor(s)}s`;
}

function record(key, health, now) {
  const samples = history.get(key) ?? [];
  samples.push({ t: now, h: health });
  if (samples.length > HISTORY) samples.splice(0, samples.length - HISTORY);
  history.set(key, samples);
  return samples;
}

/** A small line chart of health over time, with the liquidation line (health 1) dashed in red. */
function spark(samples) {
  const w = 180;
  const h = 40;
  const pad = 3;
  const finite = samples.map((s) => (s.h === null ? null : s.h));
  const top = Math.max(2, ...finite.filter((v) => v !== null).map((v) => v * 1.1));
  const y = (v) => pad + (h - 2 * pad) * (1 - Math.min(v ?? top, top) / top);
  // The x axis grows with the history (at least MIN_SLOTS wide), so a freshly opened page shows a
  // readable line instead of a blip in the corner; it stays at HISTORY slots once full.
  const slots = Math.max(MIN_SLOTS, samples.length);
  const x = (i) => pad + ((w - 2 * pad) * i) / (slots - 1);
  const offset = slots - samples.length;
  const points = finite.map((v, i) => `${x(i + offset).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const last = finite.at(-1);
  const color = last !== null && last !== undefined && last < 1 ? '#c62828' : '#2456c9';
  return `<svg class="spark" data-testid="health-chart" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="health over time">
    <rect x="0" y="0" width="${w}" height="${h}" fill="#fafbfc" stroke="#e2e6ea"/>
    <line x1="14" x2="${w}" y1="${y(1).toFixed(1)}" y2="${y(1).toFixed(1)}" stroke="#c62828" stroke-dasharray="3 3" stroke-width="1"/>
    <text x="3" y="${(y(1) + 3).toFixed(1)}" font-size="9" fill="#c62828">1</text>
    <polyline fill="none" stroke="${color}" stroke-width="1.8" points="${points}"/>
  </svg>`;
}

function renderAccounts(accounts, now) {
  if (accounts === undefined) return '<div class="empty">no margin view on this node</div>';
  if (accounts.length === 0) return '<div class="empty">no accounts yet</div>';
  return accounts
    .map((a) => {
      const chains = [...new Set([...a.collateral.map((c) => c.chain), ...a.engines.map((e) => e.chain)])];
      const worst = Math.min(
        ...a.engines.map((e) => (e.health === null ? Number.POSITIVE_INFINITY : e.health)),
      );
      const tone = worst < 1 ? 'acct-bad' : worst < 1.5 ? 'acct-warn' : '';
      const collateral = a.collateral.length
        ? a.collateral
            .map(
              (c) =>
                `<span class="chip" data-testid="collateral" data-chain="${esc(c.chain)}"><span class="chain" data-testid="chain-name">${esc(c.chain)}</span> ${fmtAmount(c.amount)} ${esc(c.symbol ?? short(c.token, 4))}</span>`,
            )
            .join('')
        : '<span class="muted">none</span>';
      const engines = a.engines
        .map((e) => {
          const samples = record(`${a.account}/${a.subaccount}/${e.engineEid}`, e.health, now);
          const tag =
            e.health !== null && e.health < 1
              ? '<span class="tag bad">LIQUIDATABLE</span>'
              : e.health !== null && e.health < 1.5
                ? '<span class="tag warn">LOW</span>'
                : '';
          const pct = e.liquidationDistancePct;
          // Below health 1 there is no distance left: the sub-account is liquidatable now.
          const dist =
            pct === undefined || pct === null
              ? '–'
              : e.health !== null && e.health < 1
                ? 'none'
                : `${Number(pct).toFixed(1)}%`;
          return `<tr data-testid="engine-row" data-engine="${e.engineEid}">
            <td><span class="chain" data-testid="engine-chain">${esc(e.chain)}</span> <span class="muted">eid ${e.engineEid}</span></td>
            <td><span class="health ${healthClass(e.health)}" data-testid="health" data-engine="${e.engineEid}">${fmtHealth(e.health)}</span>${tag}</td>
            <td class="num" data-testid="liq-distance">${dist}</td>
            <td class="num">${fmtAmount(e.collateralValue)}</td>
            <td class="num">${fmtAmount(e.equity)}</td>
            <td class="num">${fmtAmount(e.maintenance)} / ${fmtAmount(e.initial)}</td>
            <td>${spark(samples)}</td>
          </tr>`;
        })
        .join('');
      return `<div class="account ${tone}" data-testid="account-row" data-account="${esc(a.account)}" data-subaccount="${esc(a.subaccount)}" data-chains="${esc(chains.join(','))}">
        <div class="account-head">
          <span class="who mono" title="${esc(a.account)}">${esc(short(a.account))}</span>
          <span class="muted">sub-account <b>${esc(a.subaccount)}</b></span>
          <span class="muted">spans <b data-testid="account-chains">${esc(chains.join(' · '))}</b></span>
        </div>
        <div class="chips" title="collateral locked per chain"><span class="muted">collateral</span>${collateral}</div>
        <table>
          <thead><tr><th>engine (credit)</th><th>health</th><th class="num">liq. distance</th>
            <th class="num">credit value</th><th class="num">equity</th><th class="num">maint. / initial</th>
            <th>health, last 2 min</th></tr></thead>
          <tbody>${engines || '<tr><td colspan="7" class="empty">no engine credit</td></tr>'}</tbody>
          ${renderTotal(a.total)}
        </table>
      </div>`;
    })
    .join('');
}

/** A signed percent move of a price: "−12.3%" a drop, "+4.0%" a rise. */
function fmtMove(pct) {
  if (pct === null || pct === undefined) return '–';
  const n = Number(pct);
  return `${n < 0 ? '−' : '+'}${Math.abs(n).toFixed(1)}%`;
}

/**
 * The cross-chain row under an account's engines: sums over engines, the free collateral, and per
 * asset the nearest price move that brings one of the engines to health 1 (and which one).
 */
function renderTotal(total) {
  if (total === undefined || total === null || typeof total !== 'object') return '';
  const distances = (total.liquidationDistances ?? [])
    .map(
      (d) =>
        `<span class="chip" data-testid="total-distance" data-asset="${esc(d.asset)}" title="first reached on ${esc(d.chain)}">${esc(d.asset)} ${fmtMove(d.movePct)}</span>`,
    )
    .join(' ');
  return `<tfoot><tr class="total" data-testid="total-row">
    <td><b>all engines</b></td>
    <td>free <b data-testid="total-free">${fmtAmount(total.freeCollateral)}</b></td>
    <td class="num">${distances || '–'}</td>
    <td class="num" data-testid="total-collateral">${fmtAmount(total.collateralValue)}</td>
    <td class="num">${fmtAmount(total.equity)}</td>
    <td class="num">${fmtAmount(total.maintenance)} / ${fmtAmount(total.initial)}</td>
    <td class="muted">cross-chain</td>
  </tr></tfoot>`;
}

function table(headers, rows, empty) {
  if (rows.length === 0) return `<div class="empty">${empty}</div>`;
  const head = headers.map((h) => `<th class="${h.startsWith('#') ? 'num' : ''}">${h.replace('#', '')}</th>`);
  return `<table><thead><tr>${head.join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function renderChains(chains) {
  return table(
    ['chain', 'eid', '#head', '#lag', 'rpc'],
    chains.map(
      (c) => `<tr data-testid="chain-row" data-chain="${esc(c.name)}">
        <td data-testid="chain-name">${esc(c.name)}</td><td>${c.eid}</td>
        <td class="num">${c.head ?? '–'}</td><td class="num">${c.lag ?? '–'}</td>
        <td>${c.rpcOk ? '<span class="ok">ok</span>' : `<span class="bad" title="${esc(c.lastError)}">error</span>`}</td></tr>`,
    ),
    'no chains',
  );
}

/** The peer id is in its own column: drop it from the multiaddr so the address stays short. */
function bareAddr(addr) {
  return String(addr ?? '').replace(/\/p2p\/[^/]+$/, '');
}

function renderPeers(peers) {
  return table(
    ['peer', 'signer', '#score', 'address'],
    peers.map(
      (
        p,
      ) => `<tr data-testid="peer-row"><td class="mono" title="${esc(p.peerId)}">${esc(short(p.peerId, 8))}</td>
        <td class="mono">${p.signer ? esc(short(p.signer)) : '<span class="muted">unbound</span>'}</td>
        <td class="num">${Number(p.score).toFixed(1)}</td><td class="mono muted clip" title="${esc(p.addrs.join(' '))}">${esc(bareAddr(p.addrs[0]))}</td></tr>`,
    ),
    'no peers connected',
  );
}

function renderPackets(packets) {
  const counters = `<div class="counters">
    <div class="counter"><b data-testid="packets-in-flight">${packets.inFlight}</b><span>in flight</span></div>
    <div class="counter"><b>${packets.verified}</b><span>verified</span></div>
    <div class="counter"><b>${packets.delivered}</b><span>delivered</span></div>
    <div class="counter"><b class="${packets.failed.length ? 'bad' : ''}">${packets.failed.length}</b><span>failing</span></div></div>`;
  const reasons = new Map(packets.failed.map((f) => [f.guid, f.reason]));
  const open = packets.open ?? packets.failed.map((f) => ({ guid: f.guid, stage: 'failing' }));
  return (
    counters +
    table(
      ['guid', 'route', 'stage', 'last error'],
      open.map(
        (
          p,
        ) => `<tr data-testid="packet-row"><td class="mono" title="${esc(p.guid)}">${esc(short(p.guid))}</td>
          <td>${p.srcEid === undefined ? '' : `${p.srcEid} → ${p.dstEid}`}</td><td>${esc(p.stage)}</td>
          <td class="bad wrap">${esc(reasons.get(p.guid) ?? '')}</td></tr>`,
      ),
      'nothing in flight',
    )
  );
}

/** A liquidation's seizures: amount, chain and where each payout stands (a mismatch in red). */
function renderSeizures(seizures) {
  if (!seizures || seizures.length === 0) return '';
  return seizures
    .map(
      (z) =>
        `<span class="chip${z.status === 'mismatch' ? ' bad' : ''}" data-testid="seizure" data-status="${esc(z.status)}" title="${esc([z.detail ?? z.payoutTx ?? '', z.latencyMs === undefined ? '' : `${(z.latencyMs / 1000).toFixed(1)} s after the liquidation`].filter(Boolean).join(' · '))}">${fmtAmount(z.amount)} ${esc(z.symbol ?? short(z.token, 4))} on ${esc(z.chain)}: ${esc(z.status)}</span>`,
    )
    .join(' ');
}

/** One row per liquidation; its seizures on a line of their own under it (the column is narrow). */
function renderLiquidations(entries) {
  return table(
    ['when', 'account', 'engine', 'health', 'state'],
    entries.map(
      (l) => `<tr data-testid="liquidation-row"><td>${new Date(l.at).toLocaleTimeString()}</td>
        <td class="mono">${esc(short(l.account))} / ${esc(l.subaccount)}</td><td>${esc(l.chain ?? l.engineEid)}</td>
        <td class="${healthClass(l.health)}">${l.health === undefined ? '–' : fmtHealth(l.health)}</td>
        <td>${esc(l.state)}</td></tr>${
          l.seizures && l.seizures.length > 0
            ? `<tr class="seized"><td colspan="5" class="wrap"><span class="muted">seized</span> ${renderSeizures(l.seizures)}</td></tr>`
            : ''
        }`,
    ),
    'no liquidations',
  );
}

/** One row per automated MOVE: which engine it rescued, from where, how much, health before → after. */
function renderRebalances(entries) {
  return table(
    ['when', 'account', 'from → to', 'amount', 'health', 'state', 'latency'],
    entries.map(
      (r) => `<tr data-testid="rebalance-row"><td>${new Date(r.at).toLocaleTimeString()}</td>
        <td class="mono">${esc(short(r.account))} / ${esc(r.subaccount)}</td><td>${esc(r.from)} → ${esc(r.to)}</td>
        <td>${esc(r.amount)} ${esc(r.symbol ?? '')} ($${Number(r.valueUsd).toFixed(2)})</td>
        <td><span class="${healthClass(r.healthBefore)}">${fmtHealth(r.healthBefore)}</span> →
          <span class="${healthClass(r.healthAfter)}">${r.healthAfter === undefined ? '–' : fmtHealth(r.healthAfter)}</span></td>
        <td title="${esc(r.detail ?? '')}">${esc(r.state)}</td>
        <td>${r.latencyMs === undefined ? '' : `${(r.latencyMs / 1000).toFixed(1)} s`}</td></tr>`,
    ),
    'no moves',
  );
}

function render(status) {
  const now = Date.now();
  $('version').textContent = status.node.version;
  $('signer').textContent = short(status.node.signer);
  $('signer').title = status.node.signer;
  $('peer-id').textContent = short(status.node.peerId, 8);
  $('peer-id').title = status.node.peerId;
  $('roles').textContent = status.node.roles.join(', ') || '–';
  $('uptime').textContent = fmtUptime(status.node.uptimeS);
  $('accounts').innerHTML = renderAccounts(status.accounts, now);
  $('chains').innerHTML = renderChains(status.chains);
  $('peers').innerHTML = renderPeers(status.peers);
  $('packets').innerHTML = renderPackets(status.packets);
  $('liquidations').innerHTML = renderLiquidations(status.liquidations);
  // Only nodes running the rebalancer role report moves; the others keep the section hidden.
  $('rebalances-section').hidden = status.rebalances === undefined;
  if (status.rebalances !== undefined) $('rebalances').innerHTML = renderRebalances(status.rebalances);
  const live = $('live');
  live.className = 'ok';
  live.textContent = `live · ${new Date(now).toLocaleTimeString()}`;
}

async function poll() {
  try {
    const response = await fetch('/status', { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
  } catch (error) {
    const live = $('live');
    live.className = 'stale';
    live.textContent = `disconnected (${error.message}) · retrying`;
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

poll();
