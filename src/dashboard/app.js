// The goldroot dashboard: logs in by trading the admin token for a session
// cookie (POST /api/v1/session; the cookie is HttpOnly and the token is
// never stored by the page), then reads /api/v1/{status,channels,images,
// labs,hosts} every few seconds and draws one grid of machines per lab; a
// click opens the host's details and last reported changes; modes are set
// through POST /api/v1/hosts/NAME/mode and /api/v1/labs/NAME/mode. A host's
// key (issue #14) is approved with POST /api/v1/hosts/NAME/enroll, naming
// the exact key id the page showed, and revoked with .../rekey.
'use strict';

const MODES = ['normal', 'reset', 'maintenance', 'cache', 'install', 'shell'];
const REFRESH_MS = 5000;
const OLD_TOKEN_KEY = 'goldroot.adminToken';  // where the page once kept the token itself
const SESSION_ENDED = 'Your session has ended (it expired, was logged out, or the server restarted): ' +
                      'log in again with the admin token.';

const noFleet = () => ({ status: [], channels: [], images: [], labs: [], hosts: [] });
let fleet = noFleet();
let selected = null;  // the host whose panel is open
let loggedIn = false;
let timer = null;     // the refresh interval while logged in

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const short = (commit) => (commit ? commit.slice(0, 12) : '-');

function ago(seconds) {
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return '-';
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60);
  return h ? `${h}h ${m}m` : `${m}m`;
}

// --- the API -----------------------------------------------------------

async function api(path, options = {}) {
  const response = await fetch(path,
    Object.assign({}, options, { credentials: 'same-origin', cache: 'no-store' }));
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) {
    const error = new Error((body && body.error) || `${path}: HTTP ${response.status}`);
    error.status = response.status;
    if (response.status === 401 && loggedIn) showLogin(SESSION_ENDED);
    throw error;
  }
  return body;
}

// Every change goes as JSON: the server refuses anything else, which keeps
// other sites' forms out.
function send(method, path, body) {
  const options = { method, headers: { 'Content-Type': 'application/json' } };
  if (body !== undefined) options.body = JSON.stringify(body);
  return api(path, options);
}

const post = (path, body) => send('POST', path, body);

function showError(message) {
  const box = document.getElementById('error');
  box.hidden = !message;
  box.textContent = message || '';
}

async function refresh() {
  if (!loggedIn) return;
  try {
    const [status, channels, images, labs, hosts] = await Promise.all([
      api('/api/v1/status'), api('/api/v1/channels'), api('/api/v1/images'),
      api('/api/v1/labs'), api('/api/v1/hosts'),
    ]);
    if (!loggedIn) return;  // logged out while the answers were on their way
    fleet = { status, channels, images, labs, hosts };
    showError(null);
    render();
    document.getElementById('updated').textContent =
      'updated ' + new Date().toLocaleTimeString();
  } catch (error) {
    if (error.status === 401 || !loggedIn) return;  // api() has shown the login form
    showError('cannot read the fleet: ' + error.message);
  }
}

// --- logging in and out ----------------------------------------------------

function showLogin(message) {
  loggedIn = false;
  clearInterval(timer);
  timer = null;
  closePanel();
  fleet = noFleet();  // nothing of the fleet stays on a logged-out page
  render();
  showError(null);
  document.getElementById('fleet').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('login').hidden = false;
  document.getElementById('login-message').className = 'message';
  document.getElementById('login-message').textContent = message || '';
  document.getElementById('updated').textContent = 'not logged in';
  document.getElementById('token').focus();
}

// `who` as GET /api/v1/session names the caller: only a session can log out.
function showFleet(who) {
  loggedIn = true;
  document.getElementById('login').hidden = true;
  document.getElementById('login-message').textContent = '';
  document.getElementById('fleet').hidden = false;
  const logout = document.getElementById('logout');
  logout.hidden = !who.startsWith('session');
  logout.title = 'logged in: ' + who;
  clearInterval(timer);
  timer = setInterval(refresh, REFRESH_MS);
  refresh();
}

async function logIn(event) {
  event.preventDefault();
  const input = document.getElementById('token');
  const button = document.querySelector('#token-form button');
  const message = document.getElementById('login-message');
  const token = input.value.trim();
  if (!token) { say(message, 'Enter the admin token from SITE/keys/admin.token.', false); return; }
  button.disabled = true;
  try {
    await post('/api/v1/session', { token });
    input.value = '';
    showFleet('session');
  } catch (error) {
    say(message, 'cannot log in: ' + error.message, false);
  } finally {
    button.disabled = false;
  }
}

async function logOut() {
  try {
    await send('DELETE', '/api/v1/session');
  } catch (error) {
    // 401: the session had already ended, which is what we wanted.
    if (error.status !== 401) { showError('cannot log out: ' + error.message); return; }
  }
  showLogin('Logged out.');
}

async function start() {
  // Earlier versions kept the admin token in localStorage: forget it.
  try { localStorage.removeItem(OLD_TOKEN_KEY); } catch (e) { /* storage is off: nothing kept */ }
  try {
    const session = await api('/api/v1/session');
    showFleet(session.who);
  } catch (error) {
    showLogin('');
    if (error.status !== 401) showError('cannot ask the server who is logged in: ' + error.message);
  }
}

// --- drawing -------------------------------------------------------------

function hostRecord(name) { return fleet.hosts.find((host) => host.name === name) || {}; }

// A key waiting for the admin, and another key someone presented for a host
// with one enrolled (maybe an impostor).
function keyBadges(key) {
  return [
    key.pending ? el('span', { class: 'badge key-pending', title: `key ${key.pending.key_id} waits for approval` },
                     'key?') : null,
    key.refused ? el('span', { class: 'badge key-refused',
                               title: `another key (${key.refused.key_id}) was presented from ${key.refused.from}` },
                     '!!') : null,
  ];
}

function tile(host) {
  const classes = ['tile', 'state-' + host.state];
  if (selected === host.name) classes.push('selected');
  const version = host.commit
    ? el('span', { class: 'version' + (host.current === false ? ' old' : ''),
                   title: host.current === false ? 'not the current image of its channel' : host.commit },
         short(host.commit))
    : el('span', { class: 'version' }, 'no report');
  return el('button', { class: classes.join(' '), 'data-host': host.name, 'data-state': host.state,
                        'data-dirty': host.dirty ? 'yes' : 'no', 'data-key': host.key.state,
                        onclick: () => openPanel(host.name) },
    el('span', { class: 'name' }, host.name, keyBadges(host.key)),
    el('span', { class: 'line' }, host.state, ' · ', host.mode || host.next_mode,
       host.mode && host.next_mode !== host.mode ? ' → ' + host.next_mode : ''),
    el('span', { class: 'line' }, version, ' ',
       host.dirty ? el('span', { class: 'dirty' }, `dirty ${host.changes}`) : null));
}

function modeSelect(attributes, current, inherit) {
  const options = [];
  if (inherit) options.push(el('option', { value: '', selected: current === null }, inherit));
  for (const mode of MODES) options.push(el('option', { value: mode, selected: current === mode }, mode));
  return el('select', attributes, options);
}

// The section of machines that booted the default image unregistered.
const UNREGISTERED = Symbol('unregistered');

function renderLabs() {
  const byLab = new Map();
  for (const lab of fleet.labs) byLab.set(lab.name, []);
  for (const host of fleet.status) {
    const key = host.unregistered ? UNREGISTERED : host.lab === null ? null : host.lab;
    if (!byLab.has(key)) byLab.set(key, []);
    byLab.get(key).push(host);
  }
  const sections = [];
  for (const [name, hosts] of byLab) {
    const lab = fleet.labs.find((one) => one.name === name);
    const counts = { up: 0, down: 0, unseen: 0 };
    let dirty = 0;
    for (const host of hosts) { counts[host.state] = (counts[host.state] || 0) + 1; if (host.dirty) dirty++; }
    const head = el('div', { class: 'lab-head' },
      el('h2', {}, name === UNREGISTERED ? 'unregistered machines (goldroot host add NAME --mac MAC adopts one)'
                   : name === null ? 'hosts in no lab' : 'lab ' + name),
      el('span', { class: 'muted' },
         `${hosts.length} hosts · ${counts.up} up · ${counts.down} down · ${counts.unseen} unseen · ${dirty} dirty`));
    if (lab) {
      const select = modeSelect({ 'data-lab': lab.name, 'aria-label': 'mode of lab ' + lab.name },
                                lab.mode, 'normal (default)');
      const message = el('span', { class: 'message', 'data-lab-message': lab.name });
      head.append(el('span', { class: 'lab-mode' },
        el('span', { class: 'muted' }, 'lab mode: ' + lab.effective_mode), select,
        el('button', { 'data-lab-set': lab.name, onclick: () => setLabMode(lab.name, select.value, message) },
           'set lab mode'),
        message));
    }
    sections.push(el('section', { class: 'lab', 'data-lab-section': name === null ? '' : name === UNREGISTERED ? '*unregistered' : name },
      head, el('div', { class: 'grid' }, hosts.map(tile))));
  }
  // Keep a lab's select as the admin left it while the page refreshes.
  const root = document.getElementById('labs');
  const kept = {};
  for (const select of root.querySelectorAll('select[data-lab]'))
    if (select.dataset.touched) kept[select.dataset.lab] = select.value;
  root.replaceChildren(...sections);
  for (const select of root.querySelectorAll('select[data-lab]')) {
    if (select.dataset.lab in kept) { select.value = kept[select.dataset.lab]; select.dataset.touched = '1'; }
    select.addEventListener('change', () => { select.dataset.touched = '1'; });
  }
}

function renderVersions() {
  const runners = new Map();  // commit -> host names
  for (const host of fleet.status) {
    if (!host.commit) continue;
    if (!runners.has(host.commit)) runners.set(host.commit, []);
    runners.get(host.commit).push(host.name);
  }
  const channelsOf = new Map();
  for (const channel of fleet.channels) {
    if (!channelsOf.has(channel.commit)) channelsOf.set(channel.commit, []);
    channelsOf.get(channel.commit).push(channel.name);
  }
  const imageName = (commit) => {
    const image = fleet.images.find((one) => one.commit === commit);
    return image ? image.name : '';
  };
  const order = ['test', 'gold', 'previous'];
  const channels = [...fleet.channels].sort((a, b) =>
    ((order.indexOf(a.name) + 1) || 99) - ((order.indexOf(b.name) + 1) || 99) || a.name.localeCompare(b.name));
  document.querySelector('#channels tbody').replaceChildren(...(channels.length ? channels.map((channel) =>
    el('tr', { 'data-channel': channel.name },
      el('td', {}, channel.name),
      el('td', { class: 'commit', title: channel.commit }, short(channel.commit)),
      el('td', {}, imageName(channel.commit)),
      el('td', {}, String((runners.get(channel.commit) || []).length))))
    : [el('tr', {}, el('td', { colspan: 4, class: 'muted' }, 'no channel is set'))]));
  const versions = [...runners.entries()].sort((a, b) => b[1].length - a[1].length);
  document.querySelector('#versions tbody').replaceChildren(...(versions.length ? versions.map(([commit, hosts]) =>
    el('tr', { 'data-commit': commit },
      el('td', { class: 'commit', title: commit }, short(commit)),
      el('td', {}, (channelsOf.get(commit) || ['none']).join(', ')),
      el('td', {}, `${hosts.length}: ${hosts.join(', ')}`)))
    : [el('tr', {}, el('td', { colspan: 3, class: 'muted' }, 'no host has reported yet'))]));
}

// Rows [name, text, class] for the host's key: enrolled (how), pending, last refusal.
function keyRows(key, now) {
  const when = (at) => `${ago(Math.max(0, now - Math.floor(Date.parse(at) / 1000)))} (${at})`;
  const kept = (persistent) => (persistent ? 'persistent' : 'ephemeral');
  const rows = [['key', key.state === 'enrolled'
    ? `${key.key_id} (${key.enrolled_by}, ${kept(key.persistent)})` : 'none enrolled']];
  if (key.pending)
    rows.push(['key pending', `${key.pending.key_id} (${kept(key.pending.persistent)}) from ` +
                              `${key.pending.from}, ${when(key.pending.at)}`]);
  if (key.refused)
    rows.push(['key refused', `!! ${key.refused.key_id} from ${key.refused.from}, ${when(key.refused.at)}`,
               'alert']);
  return rows;
}

// Approve the pending key by its id (the server refuses if another key is
// pending by now), or revoke the enrolled one.
function keyActions(host) {
  const key = host.key;
  const actions = [];
  if (key.pending) {
    const id = key.pending.key_id;
    actions.push(el('button', { 'data-key-approve': id, title: `enroll key ${id}: compare it with the id on ${host.name}'s screen`,
                                onclick: () => approveKey(host.name, id) },
                    `Approve key ${id.slice(0, 8)}…`));
  }
  if (key.state === 'enrolled')
    actions.push(el('button', { 'data-key-revoke': key.key_id, onclick: () => revokeKey(host.name, key.key_id) },
                    'Revoke key'));
  return actions;
}

function renderPanel() {
  if (!selected) return;
  const host = fleet.status.find((one) => one.name === selected);
  if (!host) { closePanel(); return; }
  const record = hostRecord(host.name);
  const now = Math.floor(Date.now() / 1000);
  const rows = [
    host.alert ? ['alert', host.alert, 'alert'] : null,
    ['lab', host.unregistered ? 'unregistered (booted the default image)' : host.lab || '-'],
    ['state', host.state],
    ['image', host.commit ? short(host.commit) + (host.current === false ? ' (not current)' : '') : '-'],
    ['channel', host.pin ? 'pinned' : (host.channel || '-')],
    ['booted mode', host.mode || '-'],
    ['next boot', host.next_mode + (record.mode || !host.lab ? '' : ' (lab)')],
    ['changes', host.dirty === null ? '-' : (host.dirty ? `dirty, ${host.changes}` : 'clean')],
    ['last seen', host.last_seen_unix ? `${ago(Math.max(0, now - host.last_seen_unix))} (${host.last_seen})` : 'never'],
    ['uptime', duration(host.uptime_seconds)],
    ['users', host.users.length ? host.users.join(', ') : 'none'],
    ['root', rootText(host.root)],
    ['next image', prefetchText(host.prefetch)],
    ['upper', host.upper ? `${host.upper.kind}, ${Math.round(host.upper.used_bytes / 1048576)} MiB used` : '-'],
    ['pending', host.pending_commands.length ? host.pending_commands.join(', ') : 'none'],
    ...keyRows(host.key, now),
  ].filter(Boolean);
  document.getElementById('panel-details').replaceChildren(...rows.flatMap(([key, value, className]) =>
    [el('dt', {}, key), el('dd', { 'data-field': key, class: className }, value)]));
  document.getElementById('panel-key').replaceChildren(...keyActions(host));
}

// Where a host's image is read from: a whole verified copy, the network
// (blockd fetching on demand, with how much is local), or its own disk.
function rootText(root) {
  if (!root) return '-';
  let text = root.backing === 'network' ? `network, ${root.fill_percent}% local`
    : root.backing === 'local' ? 'local disk (moved off the network)'
      : root.backing === 'copy' ? 'downloaded copy' : root.backing || '?';
  if (root.verify_failures > 0) text += `, ${root.verify_failures} blocks failed verification`;
  if (root.error) text += ` (${root.error})`;
  return text;
}

// The image the agent fetched ahead of the next boot (issue #19), and how far.
function prefetchText(prefetch) {
  if (!prefetch) return '-';
  if (!prefetch.commit) return `${prefetch.state}: ${prefetch.error}`;
  let text = `${short(prefetch.commit)}, ${prefetch.state} ${prefetch.percent}%`;
  if (!prefetch.current) text += ' (no longer its channel\'s)';
  if (prefetch.error) text += ` (${prefetch.error})`;
  return text;
}

async function openPanel(name) {
  const changed = selected !== name;
  selected = name;
  const panel = document.getElementById('panel');
  panel.hidden = false;
  panel.dataset.host = name;
  document.getElementById('panel-title').textContent = name;
  for (const node of document.querySelectorAll('.tile'))
    node.classList.toggle('selected', node.dataset.host === name);
  if (changed) {
    const select = document.getElementById('host-mode');
    const own = hostRecord(name).mode || null;
    select.replaceWith(modeSelect({ id: 'host-mode' }, own, "the lab's mode"));
    document.getElementById('panel-message').textContent = '';
  }
  renderPanel();
  const box = document.getElementById('panel-changes');
  box.textContent = 'loading…';
  try {
    const changes = await api(`/api/v1/hosts/${encodeURIComponent(name)}/changes`);
    if (selected !== name) return;
    const summary = changes.changes;
    const counts = Object.entries(summary.counts || {}).map(([kind, count]) => `${count} ${kind}`).join(', ');
    box.replaceChildren(...[
      el('p', {}, `${changes.dirty ? 'dirty' : 'clean'}: ${summary.total} changes`,
         counts ? ` (${counts})` : '', summary.ignored ? `, ${summary.ignored} ignored` : '',
         ` — reported ${new Date(changes.received_at * 1000).toLocaleString()}`),
      summary.error ? el('p', { class: 'error' }, summary.error) : null,
      el('ul', { class: 'changes' }, (summary.paths || []).map((change) =>
        el('li', {}, el('span', { class: 'kind' }, change.change), change.path))),
      summary.truncated ? el('p', { class: 'muted' }, 'only the first paths are reported') : null,
    ].filter(Boolean));
    box.className = '';
  } catch (error) {
    if (selected !== name) return;
    box.className = 'muted';
    box.textContent = error.message;
  }
}

function closePanel() {
  selected = null;
  document.getElementById('panel').hidden = true;
  for (const node of document.querySelectorAll('.tile.selected')) node.classList.remove('selected');
}

function say(node, text, ok) {
  node.textContent = text;
  node.className = 'message ' + (ok ? 'ok' : 'failed');
}

async function setHostMode() {
  const name = selected;
  const mode = document.getElementById('host-mode').value;
  const message = document.getElementById('panel-message');
  try {
    const result = await post(`/api/v1/hosts/${encodeURIComponent(name)}/mode`, { mode });
    say(message, `${name} boots next in ${result.effective_mode} mode`, true);
  } catch (error) {
    say(message, error.message, false);
  }
  await refresh();
}

async function approveKey(name, keyId) {
  const message = document.getElementById('panel-message');
  try {
    const result = await post(`/api/v1/hosts/${encodeURIComponent(name)}/enroll`, { key_id: keyId });
    say(message, `enrolled ${name}'s key ${result.key_id}`, true);
  } catch (error) {
    say(message, error.message, false);
  }
  await refresh();
}

async function revokeKey(name, keyId) {
  if (!confirm(`Revoke ${name}'s key ${keyId}? It is refused from now on; ${name} makes a new key ` +
               'at its next boot, which must be enrolled again.')) return;
  const message = document.getElementById('panel-message');
  try {
    const result = await post(`/api/v1/hosts/${encodeURIComponent(name)}/rekey`, {});
    say(message, result.revoked ? `revoked ${name}'s key ${result.revoked}` : `${name} had no key enrolled`, true);
  } catch (error) {
    say(message, error.message, false);
  }
  await refresh();
}

async function setLabMode(name, mode, message) {
  try {
    const result = await post(`/api/v1/labs/${encodeURIComponent(name)}/mode`, { mode });
    const own = result.hosts_with_own_mode;
    await refresh();
    const fresh = document.querySelector(`[data-lab-message="${CSS.escape(name)}"]`) || message;
    say(fresh, `lab ${name} is in ${result.effective_mode} mode` +
        (own ? `; ${own} host${own === 1 ? ' keeps its' : 's keep their'} own mode` : ''), true);
  } catch (error) {
    say(message, error.message, false);
  }
}

function render() {
  renderLabs();
  renderVersions();
  renderPanel();
}

document.getElementById('host-mode-set').addEventListener('click', setHostMode);
document.getElementById('panel-close').addEventListener('click', closePanel);
document.getElementById('token-form').addEventListener('submit', logIn);
document.getElementById('logout').addEventListener('click', logOut);
start();
