// Switchboard demo: a mesh video call with chat, built on the SDK in ./sdk/switchboard.js.
import { Switchboard, Call } from './sdk/switchboard.js';
import { icons } from './icons.js';

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
const params = new URLSearchParams(location.search);

const app = {
  /** @type {Switchboard|null} */ client: null,
  /** @type {Call|null} */ call: null,
  /** @type {MediaStream|null} */ stream: null,
  room: '',
  name: '',
  mic: true,
  cam: true,
  /** @type {{token: string, expires_at: number}|null} */ devToken: null,
  pastedToken: '',
  /** Username and password from the sign-in fields (kept in memory only, to sign in again on reconnect). */
  login: { username: '', password: '' },
  /** @type {{token: string, expires_at: number}|null} */ loginToken: null,
  joinedAt: 0,
  unread: 0,
  clockTimer: 0,
  /** @type {Promise<void>} */ previewReady: Promise.resolve(),
  /** Display names by peer id, kept after a peer leaves so "X left" can name them. */
  names: new Map(),
};

// Read-only hooks for tests and the curious (devtools): window.__switchboard.call.peers, ...
Object.defineProperty(window, '__switchboard', {
  value: Object.freeze({
    get client() { return app.client; },
    get call() { return app.call; },
    get stream() { return app.stream; },
    get room() { return app.room; },
  }),
});

// ---- helpers -----------------------------------------------------------------------------------

/** @param {string} tag @param {Record<string, any>} [props] @param {...(Node|string)} children */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') el.className = v;
    else if (k === 'html') el.innerHTML = v;
    else if (k.startsWith('data-')) el.setAttribute(k, v);
    else /** @type {any} */ (el)[k] = v;
  }
  el.append(...children);
  return el;
}

function initials(name) {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] || '?') + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
}

function hue(text) {
  let x = 0;
  for (const ch of text) x = (x * 31 + ch.charCodeAt(0)) >>> 0;
  return x % 360;
}

/** @param {import('./sdk/switchboard.js').PeerInfo} p */
const displayName = (p) => p.metadata?.name || p.name || p.user || 'Guest';

function toast(text, { action, onAction, kind = 'info', ms = 4000 } = /** @type {any} */ ({})) {
  // The same notice again (a draining server may send going-away on each reconnect) replaces the old one.
  for (const old of document.querySelectorAll('#toasts .toast')) {
    if (old.firstElementChild?.textContent === text) old.remove();
  }
  const el = h('div', { class: `toast ${kind}` }, h('span', {}, text));
  if (action) el.append(h('button', { class: 'btn small', onclick: () => { onAction(); el.remove(); } }, action));
  $('toasts').append(el);
  if (ms) setTimeout(() => el.remove(), ms);
  return el;
}

function play(video) {
  video.play().catch(() => {
    // Autoplay with sound needs a user gesture: play muted and offer to turn sound on.
    if (video.muted) return;
    video.muted = true;
    video.play().catch(() => {});
    if (!document.querySelector('.toast.sound')) {
      toast('Your browser paused the call audio.', {
        kind: 'sound', action: 'Enable sound', ms: 0,
        onAction: () => document.querySelectorAll('.tile:not(.self) video').forEach((v) => {
          /** @type {HTMLVideoElement} */ (v).muted = false;
        }),
      });
    }
  });
}

// ---- lobby -------------------------------------------------------------------------------------

async function startPreview() {
  if (app.stream) return;
  const note = $('preview-note');
  try {
    app.stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true },
      video: { width: { ideal: 1280 }, height: { ideal: 720 } },
    });
  } catch {
    if (!window.isSecureContext || !navigator.mediaDevices) {
      note.textContent = 'Camera and microphone need HTTPS (or localhost). You can still join to watch and chat.';
      return applyMediaState();
    }
    try {
      app.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      note.textContent = 'No camera available — others will see your initials.';
    } catch {
      note.textContent = 'Camera and microphone are unavailable. You can still join to watch and chat.';
    }
  }
  const video = /** @type {HTMLVideoElement} */ ($('preview'));
  video.srcObject = app.stream;
  applyMediaState();
}

function hasTrack(kind) { return !!app.stream?.getTracks().some((t) => t.kind === kind); }

/** Pushes mic/cam state to the tracks, the buttons, the self tiles and (in a call) the others. */
function applyMediaState() {
  const mic = app.mic && hasTrack('audio');
  const cam = app.cam && hasTrack('video');
  app.stream?.getAudioTracks().forEach((t) => (t.enabled = app.mic));
  app.stream?.getVideoTracks().forEach((t) => (t.enabled = app.cam));
  for (const id of ['preview-mic', 'toggle-mic']) {
    const b = $(id);
    b.innerHTML = mic ? icons.mic : icons.micOff;
    b.setAttribute('aria-pressed', String(mic));
    b.title = mic ? 'Mute microphone' : 'Unmute microphone';
    b.toggleAttribute('disabled', !hasTrack('audio'));
  }
  for (const id of ['preview-cam', 'toggle-cam']) {
    const b = $(id);
    b.innerHTML = cam ? icons.cam : icons.camOff;
    b.setAttribute('aria-pressed', String(cam));
    b.title = cam ? 'Turn camera off' : 'Turn camera on';
    b.toggleAttribute('disabled', !hasTrack('video'));
  }
  $('preview-tile').dataset.video = cam ? 'on' : 'off';
  const label = app.name || /** @type {HTMLInputElement} */ ($('name')).value || 'You';
  $('preview-avatar').querySelector('span').textContent = initials(label);
  $('preview-avatar').style.setProperty('--hue', String(hue(label)));
  const self = tileFor('self');
  if (self) updateTile(self, { name: `${app.name} (you)`, audio: mic, video: cam });
  if (app.client && app.client.rooms.has(app.room)) {
    app.client.update(app.room, metadata()).catch(() => {});
    renderPeople();
  }
}

const metadata = () => ({ name: app.name, audio: app.mic && hasTrack('audio'), video: app.cam && hasTrack('video') });

/** Token for every (re)connect: the pasted one, or a dev token, fetched again when it expires or was refused. */
async function getToken({ refused = false } = {}) {
  if (app.pastedToken) {
    if (refused) {
      // Retrying the same token is pointless: back to the lobby to paste a new one.
      setTimeout(() => {
        teardown();
        showLobby();
        $('token-field').hidden = false;
        $('lobby-error').textContent = 'The server refused your access token (expired?). Paste a new one to rejoin.';
      });
      throw new Error('token refused');
    }
    return app.pastedToken;
  }
  if (app.login.username) {
    if (app.loginToken && !refused && app.loginToken.expires_at - 60 > Date.now() / 1000) return app.loginToken.token;
    app.loginToken = await signIn(app.login.username, app.login.password, app.room);
    return app.loginToken.token;
  }
  if (app.devToken && !refused && app.devToken.expires_at - 60 > Date.now() / 1000) return app.devToken.token;
  const res = await fetch(`/v1/dev-token?name=${encodeURIComponent(app.name)}`);
  if (res.status === 404) {
    throw Object.assign(new Error('This server is not in dev mode: sign in, or paste an access token.'), { code: 'no-dev' });
  }
  if (!res.ok) throw new Error(`Could not get a token (HTTP ${res.status}).`);
  app.devToken = await res.json();
  return /** @type {any} */ (app.devToken).token;
}

/**
 * POST /v1/token: a token for `room` from a username and password (docs/auth.md).
 * @returns {Promise<{token: string, expires_at: number}>}
 */
async function signIn(username, password, room) {
  const res = await fetch('/v1/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password, room }),
  });
  if (res.ok) return res.json();
  const retry = res.headers.get('retry-after');
  const messages = {
    401: 'Wrong username or password.',
    403: 'Your account does not allow joining this room.',
    404: 'This server has no password sign-in: paste an access token.',
    429: `Too many failed sign-ins; try again in ${retry || 'a few'} seconds.`,
    503: 'Sign-in is unavailable right now; try again shortly.',
  };
  throw Object.assign(new Error(messages[res.status] || `Sign-in failed (HTTP ${res.status}).`), { code: 'login' });
}

const JOIN_ERRORS = {
  unauthorized: 'The server did not accept the access token.',
  forbidden: 'Your token does not allow joining this room.',
  'room-full': 'This room is full.',
  'bad-request': 'That room name is not valid.',
  disconnected: 'Could not reach the server.',
  timeout: 'The server did not answer in time.',
};

async function join(e) {
  e?.preventDefault();
  const form = /** @type {HTMLFormElement} */ ($('join-form'));
  if (!form.reportValidity()) return;
  app.name = /** @type {HTMLInputElement} */ ($('name')).value.trim();
  app.room = /** @type {HTMLInputElement} */ ($('room')).value.trim();
  app.pastedToken = /** @type {HTMLTextAreaElement} */ ($('token')).value.trim();
  const username = /** @type {HTMLInputElement} */ ($('username')).value.trim();
  app.login = $('login-fields').hidden || !username || app.pastedToken
    ? { username: '', password: '' }
    : { username, password: /** @type {HTMLInputElement} */ ($('password')).value };
  app.loginToken = null;
  localStorage.setItem('switchboard.name', app.name);
  const button = /** @type {HTMLButtonElement} */ ($('join'));
  const error = $('lobby-error');
  error.textContent = '';
  button.disabled = true;
  button.textContent = 'Joining…';
  try {
    await app.previewReady;
    await getToken(); // fail early (and show the token field) when the server is not in dev mode
    // Dev tokens are minted for a fresh user each time, so they cannot `refresh` a session (same user
    // required); they last 24 h, and an expired session simply reconnects with a new one.
    const client = new Switchboard({ getToken, refreshTokens: false });
    app.client = client;
    wireClient(client);
    await client.connect();
    // Bots (metadata.bot, e.g. examples/bot.mjs) signal but send no media: list them, don't call them.
    const call = new Call(client, app.room, { localStream: app.stream, connectTo: (p) => !p.metadata?.bot });
    app.call = call;
    wireCall(call);
    const joined = await call.join(metadata());
    enterCall(); // same task as the join reply: no event can slip in between
    for (const p of joined.peers) addPeer(p, false);
    renderPeople();
    history.replaceState(null, '', `?room=${encodeURIComponent(app.room)}`);
  } catch (err) {
    const code = /** @type {any} */ (err).code;
    if (code === 'no-dev') {
      showLogin();
      $('token-field').hidden = false;
      /** @type {HTMLInputElement} */ ($('username')).focus();
    }
    error.textContent = JOIN_ERRORS[code] || /** @type {Error} */ (err).message;
    teardown();
    showLobby();
  } finally {
    button.disabled = false;
    button.textContent = 'Join call';
  }
}

/** Shows the sign-in fields (and hides the button that offers them). */
function showLogin() {
  $('login-fields').hidden = false;
  $('show-login').hidden = true;
}

function teardown() {
  app.call?.leave().catch(() => {});
  app.client?.close();
  app.call = null;
  app.client = null;
  app.names.clear();
  document.querySelectorAll('.tile[data-peer]').forEach((t) => t.remove());
}

async function leave() {
  const call = app.call;
  app.call = null;
  await call?.leave().catch(() => {});
  teardown();
  showLobby();
  toast('You left the call.');
}

function showLobby() {
  $('call').hidden = true;
  $('lobby').hidden = false;
  document.title = 'Switchboard';
  const video = /** @type {HTMLVideoElement} */ ($('preview'));
  video.srcObject = app.stream;
  clearInterval(app.clockTimer);
}

// ---- call --------------------------------------------------------------------------------------

function enterCall() {
  $('lobby').hidden = true;
  $('call').hidden = false;
  $('room-name').textContent = app.room;
  document.title = `${app.room} · Switchboard`;
  $('messages').replaceChildren(h('li', { class: 'empty' }, 'Messages are shown to everyone in the call.'));
  app.unread = 0;
  updateUnread();
  const self = makeTile('self', `${app.name} (you)`);
  self.classList.add('self');
  const video = /** @type {HTMLVideoElement} */ (self.querySelector('video'));
  video.muted = true;
  video.srcObject = app.stream;
  $('grid').prepend(self);
  applyMediaState();
  layout();
  app.joinedAt = Date.now();
  const tick = () => {
    const s = Math.floor((Date.now() - app.joinedAt) / 1000);
    $('clock').textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  };
  tick();
  app.clockTimer = setInterval(tick, 1000);
  setConnState(app.client?.state || 'connecting');
}

/** @param {string} peer */
const tileFor = (peer) => /** @type {HTMLElement|null} */ (document.querySelector(`.tile[data-peer="${CSS.escape(peer)}"]`));

function makeTile(peer, name) {
  const tile = h('div', { class: 'tile', 'data-peer': peer, 'data-video': 'on', 'data-state': 'new' },
    h('video', { autoplay: true, playsInline: true }),
    h('div', { class: 'avatar' }, h('span')),
    h('div', { class: 'tile-status' }, h('span', { class: 'spinner' }), h('span', { class: 'status-text' }, 'Connecting…')),
    h('div', { class: 'label' }, h('span', { class: 'mic-off', html: icons.micOff }), h('span', { class: 'name' })),
  );
  updateTile(tile, { name, audio: true, video: true });
  return tile;
}

function updateTile(tile, { name, audio, video }) {
  tile.querySelector('.name').textContent = name;
  const av = /** @type {HTMLElement} */ (tile.querySelector('.avatar'));
  av.querySelector('span').textContent = initials(name.replace(/ \(you\)$/, ''));
  av.style.setProperty('--hue', String(hue(name.replace(/ \(you\)$/, ''))));
  tile.dataset.audio = audio === false ? 'off' : 'on';
  tile.dataset.video = video === false ? 'off' : 'on';
}

/** @param {import('./sdk/switchboard.js').PeerInfo} p */
function addPeer(p, announce = true) {
  app.names.set(p.peer, displayName(p));
  if (announce) systemMessage(`${displayName(p)} joined`);
  if (p.metadata?.bot) return;
  let tile = tileFor(p.peer);
  if (!tile) {
    tile = makeTile(p.peer, displayName(p));
    $('grid').append(tile);
    layout();
  }
  updateTile(tile, { name: displayName(p), audio: p.metadata?.audio, video: p.metadata?.video });
}

function removePeer(peer, reason) {
  const tile = tileFor(peer);
  if (tile) {
    tile.classList.add('leaving');
    tile.remove();
    layout();
  }
  const name = app.names.get(peer);
  if (name && reason !== 'gone') systemMessage(`${name} ${reason === 'left' ? 'left' : 'disconnected'}`);
  app.names.delete(peer);
}

/**
 * Sizes the tiles: tries every column count and keeps the one with the largest tiles, letting the
 * tile shape flex between 4:3 and 16:9 (the video is cropped to fill) so two people sit side by side.
 */
function layout() {
  const grid = $('grid');
  const n = grid.children.length;
  grid.dataset.count = String(n);
  const cs = getComputedStyle(grid);
  const gap = parseFloat(cs.columnGap) || 0;
  const W = grid.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  const H = grid.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
  if (!n || W <= 0 || H <= 0) return;
  let best = { area: 0, w: 0, h: 0 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const cw = (W - gap * (cols - 1)) / cols;
    const ch = (H - gap * (rows - 1)) / rows;
    const aspect = Math.min(16 / 9, Math.max(4 / 3, cw / ch));
    const w = Math.min(cw, ch * aspect);
    const h = w / aspect;
    if (w * h > best.area) best = { area: w * h, w, h };
  }
  grid.style.setProperty('--tile-w', `${Math.floor(best.w)}px`);
  grid.style.setProperty('--tile-h', `${Math.floor(best.h)}px`);
}
new ResizeObserver(() => layout()).observe($('grid'));

function renderPeople() {
  const list = $('people');
  const row = (name, peer, audio, video, tag) =>
    h('li', { 'data-peer': peer },
      h('span', { class: 'avatar small', style: `--hue:${hue(name)}` }, h('span', {}, initials(name))),
      h('span', { class: 'person' }, name, tag ? h('span', { class: 'you' }, ` (${tag})`) : ''),
      tag === 'bot' ? '' : h('span', { class: `ind ${audio === false ? 'off' : ''}`, html: audio === false ? icons.micOff : icons.mic }),
      tag === 'bot' ? '' : h('span', { class: `ind ${video === false ? 'off' : ''}`, html: video === false ? icons.camOff : icons.cam }));
  const me = metadata();
  const rows = [row(app.name, 'self', me.audio, me.video, 'you')];
  for (const p of app.client?.peers(app.room) || []) {
    rows.push(row(displayName(p), p.peer, p.metadata?.audio, p.metadata?.video, p.metadata?.bot ? 'bot' : ''));
  }
  list.replaceChildren(...rows);
  $('people-count').textContent = String(rows.length);
}

const STATE_TEXT = { idle: 'Offline', connecting: 'Connecting…', open: 'Connected', reconnecting: 'Reconnecting…', closed: 'Offline' };
function setConnState(state) {
  $('conn').dataset.state = state;
  $('conn-text').textContent = STATE_TEXT[state] || state;
}

/** @param {Switchboard} client */
function wireClient(client) {
  let wasDown = false;
  client.on('state', ({ state }) => {
    if (client !== app.client) return;
    setConnState(state);
    if (state === 'reconnecting') wasDown = true;
  });
  client.on('rejoined', ({ room, peers }) => {
    if (room !== app.room) return;
    for (const p of peers) addPeer(p, false);
    renderPeople();
    if (wasDown) toast('Reconnected.', { kind: 'ok' });
    wasDown = false;
  });
  client.on('peer-joined', (p) => { if (p.room === app.room) { addPeer(p); renderPeople(); } });
  client.on('peer-updated', (p) => { if (p.room === app.room) { addPeer(p, false); renderPeople(); } });
  client.on('peer-left', ({ room, peer, reason }) => { if (room === app.room) { removePeer(peer, reason); renderPeople(); } });
  client.on('message', ({ room, from, data }) => {
    if (room !== app.room || !data || typeof data.text !== 'string') return;
    chatMessage({ name: app.names.get(from) || data.name || 'Guest', text: data.text, self: false });
  });
  client.on('going-away', () => toast('The server is restarting — reconnecting…', { kind: 'warn' }));
  // An operator removed us from the call or ended it (admin API): back to the lobby.
  const removed = (/** @type {string} */ text) => (/** @type {{room: string}} */ { room }) => {
    if (room !== app.room || !app.call) return;
    teardown();
    showLobby();
    toast(text, { kind: 'warn' });
  };
  client.on('kicked', removed('You were removed from the call.'));
  client.on('room-closed', removed('The call was ended by an operator.'));
  // Errors without a request behind them. Relay races (a candidate for a peer who just left) are normal.
  client.on('error', ({ code, message }) => {
    if (code === 'peer-not-found' || code === 'not-in-room') console.debug('switchboard:', code, message);
    else toast(message, { kind: 'error' });
  });
}

/** @param {Call} call */
function wireCall(call) {
  call.on('stream-added', ({ peer, stream }) => {
    const tile = tileFor(peer);
    if (!tile) return;
    const video = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
    video.srcObject = stream;
    play(video);
  });
  call.on('stream-removed', ({ peer, stream }) => {
    const video = /** @type {HTMLVideoElement|null} */ (tileFor(peer)?.querySelector('video'));
    if (video && video.srcObject === stream) video.srcObject = null;
  });
  call.on('connection-state', ({ peer, state }) => {
    const tile = tileFor(peer);
    if (!tile) return;
    tile.dataset.state = state;
    tile.querySelector('.status-text').textContent =
      state === 'failed' || state === 'disconnected' ? 'Reconnecting…' : 'Connecting…';
  });
  call.on('peer-closed', ({ peer }) => {
    const tile = tileFor(peer);
    if (tile) tile.dataset.state = 'new';
  });
  call.on('error', ({ error }) => console.warn('call:', error));
}

/** Outlines the tiles of people who are talking (audio level of what we receive from them). */
function watchSpeakers() {
  for (const p of app.call?.peers.values() || []) {
    const receiver = p.pc.getReceivers().find((r) => r.track.kind === 'audio');
    const level = receiver?.getSynchronizationSources?.()[0]?.audioLevel ?? 0;
    tileFor(p.peer)?.classList.toggle('speaking', level > 0.05);
  }
}
setInterval(watchSpeakers, 250);

// ---- chat --------------------------------------------------------------------------------------

function appendMessage(li) {
  const list = $('messages');
  list.querySelector('.empty')?.remove();
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(li);
  if (atBottom || li.classList.contains('mine')) list.scrollTop = list.scrollHeight;
}

function chatMessage({ name, text, self, failed = false }) {
  const time = new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const li = h('li', { class: `msg ${self ? 'mine' : ''} ${failed ? 'failed' : ''}` },
    h('div', { class: 'meta' }, h('span', { class: 'who' }, self ? 'You' : name), h('time', {}, time)),
    h('div', { class: 'bubble' }, text));
  if (failed) li.append(h('div', { class: 'note' }, 'Not sent — you are offline'));
  appendMessage(li);
  if (!self && sidebarHidden()) { app.unread++; updateUnread(); }
}

function systemMessage(text) {
  appendMessage(h('li', { class: 'system' }, text));
}

function sendChat(e) {
  e.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($('chat-input'));
  const text = input.value.trim();
  if (!text || !app.client) return;
  const sent = app.client.sendMessage(app.room, { text, name: app.name });
  chatMessage({ name: app.name, text, self: true, failed: !sent });
  input.value = '';
}

const sidebarHidden = () => $('call').classList.contains(matchMedia('(max-width: 900px)').matches ? 'sidebar-closed-mobile' : 'sidebar-closed');
function updateUnread() {
  const badge = $('unread');
  badge.hidden = app.unread === 0;
  badge.textContent = app.unread > 9 ? '9+' : String(app.unread);
}
function toggleSidebar() {
  const narrow = matchMedia('(max-width: 900px)').matches;
  $('call').classList.toggle(narrow ? 'sidebar-closed-mobile' : 'sidebar-closed');
  if (!sidebarHidden()) { app.unread = 0; updateUnread(); }
  requestAnimationFrame(layout);
}

// ---- startup -----------------------------------------------------------------------------------

function init() {
  $('toggle-chat').insertAdjacentHTML('afterbegin', icons.chat);
  $('leave').innerHTML = `${icons.leave}<span>Leave</span>`;
  $('copy-link').innerHTML = `${icons.link}<span>Invite</span>`;
  document.querySelector('#chat-form .send').innerHTML = icons.send;
  $('call').classList.add('sidebar-closed-mobile');

  const name = /** @type {HTMLInputElement} */ ($('name'));
  const room = /** @type {HTMLInputElement} */ ($('room'));
  name.value = params.get('name') || localStorage.getItem('switchboard.name') || '';
  room.value = params.get('room') || `room-${Math.random().toString(36).slice(2, 7)}`;
  name.addEventListener('input', applyMediaState);

  $('join-form').addEventListener('submit', join);
  $('show-login').addEventListener('click', () => { showLogin(); /** @type {HTMLInputElement} */ ($('username')).focus(); });
  $('chat-form').addEventListener('submit', sendChat);
  $('leave').addEventListener('click', leave);
  $('toggle-chat').addEventListener('click', toggleSidebar);
  for (const id of ['preview-mic', 'toggle-mic']) $(id).addEventListener('click', () => { app.mic = !app.mic; applyMediaState(); });
  for (const id of ['preview-cam', 'toggle-cam']) $(id).addEventListener('click', () => { app.cam = !app.cam; applyMediaState(); });
  $('copy-link').addEventListener('click', async () => {
    const url = `${location.origin}${location.pathname}?room=${encodeURIComponent(app.room)}`;
    try {
      await navigator.clipboard.writeText(url);
      toast('Invite link copied.', { kind: 'ok' });
    } catch {
      toast(url, { ms: 8000 });
    }
  });
  addEventListener('pagehide', () => app.client?.close());

  app.previewReady = startPreview();
  if (params.get('room') && params.get('name')) join();
  else (name.value ? room : name).focus();
}

init();
