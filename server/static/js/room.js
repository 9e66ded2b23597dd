// One room, while you are in it: wires the connection's frames to the parts of the page.

import { el, randomId, replace } from './dom.js';
import { RoomConnection } from './connection.js';
import { MessageList } from './messages.js';
import { MemberList, PinList, TypingIndicator } from './people.js';
import { Composer } from './composer.js';
import { ModerationPanel, describeModeration } from './moderation.js';
import { Gate } from './gate.js';
import { describeClose, describeError, duration } from './wording.js';
import { t } from './i18n.js';
import { SessionPanel, closedDoor } from './sessions.js';
import { AskFacilitator, CheckInPane, RequestList, checkInButton } from './checkin.js';

const FACILITATING = new Set(['facilitator', 'admin']);

/** Build the room page for `slug`; returns { node, destroy }. `app.signedOut()` on 4401. */
export function roomView(slug, app) {
  const state = {
    me: app.user,
    role: 'member',
    settings: { slug, title: slug, transcripts: 'off', locked: false, slow_mode_seconds: 0 },
    consent: false,
    welcomed: false,
  };
  const modRefs = new Map(); // ref -> { action, onNotFound }
  const consentRefs = new Map(); // ref -> onAnswered

  const room = {
    me: () => state.me,
    role: () => state.role,
    isFacilitator: () => FACILITATING.has(state.role),
    settings: () => state.settings,
    nameOf: (id) => members.name(id) || moderation?.knocks.get(id)?.display_name || messages.authorName(id),
    send: (frame) => conn.send(frame),
    post(body) {
      const ref = conn.post(body);
      messages.addPending(ref, body);
    },
    mod(action, fields, onNotFound) {
      const ref = randomId();
      modRefs.set(ref, { action, onNotFound });
      if (!conn.send({ type: 'mod', action, ...fields, ref })) moderation?.say(t('composer.not_connected'));
    },
    checkInFor: (userId) => checkInButton(room, { id: userId, display_name: room.nameOf(userId) }),
    consent(recorded, onAnswered) {
      const ref = randomId();
      consentRefs.set(ref, onAnswered);
      if (!conn.send({ type: 'consent', recorded, ref })) {
        consentRefs.delete(ref);
        onAnswered();
        composer.say(t('composer.not_connected'));
      }
    },
  };

  const gate = new Gate();
  const messages = new MessageList(room);
  const members = new MemberList(room, (p) => (moderation
    ? el('div', { class: 'member-tools' }, moderation.memberActions(p), p.role === 'member' ? checkInButton(room, p) : null)
    : null));
  const pins = new PinList(room);
  const typing = new TypingIndicator((id) => members.name(id));
  const composer = new Composer(room);
  let moderation = null;
  let sessionPanel = null; // facilitators: the session, attendance, past sessions
  let requests = null; // facilitators: requests to talk privately
  let ask = null; // members: "Talk to a facilitator privately"
  const checkIns = new Map(); // slug -> CheckInPane
  const checkInArea = el('div', { class: 'checkin-area' },
    el('button', { type: 'button', class: 'quiet small checkin-back', text: t('checkin.back_to_group'),
      on: { click: () => showCheckIn(false) } }));
  const earlyKnocks = []; // knocks that came before the welcome that makes the panel

  const header = roomHeader();
  header.update(state.settings); // the slug until the room's own title arrives
  const side = el('aside', { class: 'side', id: `side-${slug}`, aria: { label: t('room.side') } },
    pins.node, members.node);
  const body = el('div', { class: 'room-body', hidden: true },
    el('div', { class: 'chat' }, messages.scroller, typing.node, composer.node), side, checkInArea);
  header.sideToggle.setAttribute('aria-controls', side.id);
  header.sideToggle.addEventListener('click', () => {
    const open = body.classList.toggle('show-side');
    header.sideToggle.setAttribute('aria-expanded', String(open));
  });
  const node = el('section', { class: 'room', aria: { labelledby: 'room-title' } }, header.node, gate.node, body);

  const conn = new RoomConnection(slug, {
    onStatus: (status) => {
      header.status.textContent = status === 'reconnecting' ? t('state.reconnecting') : '';
      header.status.hidden = status !== 'reconnecting';
      if (status !== 'open') moderation?.clearKnocks();
      if (!state.welcomed) gate.connecting(status === 'reconnecting' ? t('state.reconnecting') : t('state.connecting'));
    },
    onRestart: () => {
      messages.restart();
      messages.note(t('room.restarted'));
    },
    onFinalClose: (code, reason) => finalClose(code, reason),
    onFrame: (frame) => handlers[frame.type]?.(frame),
  });

  const handlers = {
    agreement_required: (f) => {
      body.hidden = true;
      gate.agreement(f.agreement, () => conn.raw({ type: 'accept_agreement' }));
    },
    waiting: (f) => {
      body.hidden = true;
      if (f.reason === 'closed') closedDoor(gate, f, state.settings, (known) => header.update(known));
      else gate.waiting();
    },
    session: (f) => {
      const open = f.session.ended_at ? null : f.session;
      state.settings = { ...state.settings, session: open };
      sessionPanel?.update(open, state.settings);
      if (state.welcomed) messages.note(t(open ? 'sessions.opened' : 'sessions.ended'));
    },
    asked: () => ask?.asked(),
    check_in_request: (f) => {
      const text = requests?.add(f);
      if (text) moderation?.say(text);
    },
    check_in: (f) => {
      requests?.closeFor(f.user_id);
      openCheckIn(f.room);
    },
    welcome,
    message: (f) => {
      typing.clear(f.author.id);
      messages.add(f);
    },
    deleted: (f) => {
      messages.remove(f.message_id);
      moderation?.messageGone(f.message_id);
    },
    reaction: (f) => messages.react(f),
    hand: (f) => {
      members.setHand(f.user_id, f.raised);
      if (f.user_id === state.me.id) composer.setHand(f.raised);
    },
    typing: (f) => typing.show(f.user_id),
    presence: (f) => {
      if (f.user.id === state.me.id) return;
      sessionPanel?.presence(f);
      if (f.status === 'joined') {
        members.join(f.user);
        moderation?.answered(f.user.id);
      } else {
        members.leave(f.user);
        typing.clear(f.user.id);
      }
    },
    pinned: (f) => pins.render(f.pinned || []),
    room: (f) => applySettings(f.room),
    consent: (f) => {
      state.consent = Boolean(f.recorded);
      composer.consent.set(state.consent);
      const done = consentRefs.get(f.ref);
      consentRefs.delete(f.ref);
      done?.();
      composer.say(state.consent ? t('consent.on') : t('consent.off'));
    },
    moderation: onModeration,
    knock: (f) => (moderation ? moderation.knock(f.user) : earlyKnocks.push(f.user)),
    flag: (f) => moderation?.flag(f),
    notice: (f) => {
      if (f.kind === 'crisis_resources') composer.crisis.show(f.text);
    },
    error: onError,
  };

  function welcome(f) {
    const first = !state.welcomed;
    state.welcomed = true;
    state.me = f.you.user;
    state.role = f.you.role;
    state.consent = Boolean(f.you.consent);
    if (room.isFacilitator() && !moderation) {
      moderation = new ModerationPanel(room);
      side.append(moderation.node);
      for (const user of earlyKnocks.splice(0)) moderation.knock(user);
    }
    applySettings(f.room);
    if (first && !sessionPanel && !ask) addSessionParts(f.room);
    sessionPanel?.update(f.session, f.room);
    members.reset([...(f.members || []), { id: f.you.user.id, display_name: f.you.user.display_name, role: f.you.role }]);
    pins.render(f.pinned || []);
    if (first) messages.refreshActions();
    for (const message of f.history || []) messages.add(message);
    if (f.gap) messages.note(t('room.gap'));
    composer.setMuted(Boolean(f.you.muted), f.you.muted_until);
    gate.hide();
    body.hidden = false;
    if (first) composer.focus();
  }

  function addSessionParts(settings) {
    if (settings.kind === 'check_in') return;
    if (room.isFacilitator()) {
      sessionPanel = new SessionPanel(room, slug);
      requests = new RequestList(room);
      side.prepend(requests.node);
      side.append(sessionPanel.node);
    } else {
      ask = new AskFacilitator((frame) => conn.send(frame));
      side.prepend(ask.node);
    }
  }

  function openCheckIn(roomObject) {
    if (checkIns.has(roomObject.slug)) return;
    const pane = new CheckInPane(roomObject, room.isFacilitator());
    checkIns.set(roomObject.slug, pane);
    checkInArea.append(pane.node);
    body.classList.add('with-checkin');
    header.checkInToggle.hidden = false;
    pane.node.querySelector('h2')?.setAttribute('tabindex', '-1');
  }

  function showCheckIn(visible) {
    body.classList.toggle('show-checkin', visible);
    header.checkInToggle.setAttribute('aria-expanded', String(visible));
    if (visible) checkInArea.querySelector('h2')?.focus();
  }

  function applySettings(settings) {
    state.settings = settings;
    // Switching transcripts off withdraws every consent (and so does coming back on).
    if (settings.transcripts !== 'opt_in') state.consent = false;
    header.update(settings);
    composer.consent.update(settings.transcripts, state.consent);
    moderation?.update(settings);
  }

  function onModeration(f) {
    const mine = f.user_id === state.me.id;
    switch (f.action) {
      case 'lock':
      case 'unlock':
        applySettings({ ...state.settings, locked: f.action === 'lock' });
        messages.note(f.action === 'lock' ? t('room.now_locked') : t('room.now_unlocked'));
        break;
      case 'slow_mode':
        applySettings({ ...state.settings, slow_mode_seconds: f.seconds });
        messages.note(f.seconds ? t('room.slow_on', { time: duration(f.seconds) }) : t('room.slow_off'));
        break;
      case 'mute':
      case 'unmute':
        if (mine) composer.setMuted(f.action === 'mute', f.seconds ? Date.now() + f.seconds * 1000 : null);
        else members.setMuted(f.user_id, f.action === 'mute');
        break;
      case 'admit':
      case 'deny':
        moderation?.answered(f.user_id);
        break;
      case 'delete':
        messages.remove(f.message_id);
        moderation?.messageGone(f.message_id);
        break;
      case 'dismiss_request':
        requests?.close(f.request_id);
        break;
      default:
        break;
    }
    if (f.ref) modRefs.delete(f.ref);
    if (moderation && !mine) {
      const text = describeModeration(f, room.nameOf);
      if (text) moderation.say(text);
    }
  }

  function onError(f) {
    const text = describeError(f);
    const ref = f.ref;
    if (ref && conn.pending.has(ref)) {
      conn.drop(ref);
      messages.fail(ref, text, (body) => composer.restore(body));
      composer.say(text);
    } else if (ref && modRefs.has(ref)) {
      const { action, onNotFound } = modRefs.get(ref);
      modRefs.delete(ref);
      if (f.code === 'not_found') onNotFound?.();
      moderation?.say(t('mod.failed', { action: action.replace('_', ' '), reason: text }));
    } else if (ref && consentRefs.has(ref)) {
      consentRefs.get(ref)();
      consentRefs.delete(ref);
      composer.consent.set(state.consent);
      composer.say(f.code === 'forbidden' ? t('consent.no_transcript') : text);
    } else {
      composer.say(text);
    }
  }

  function finalClose(code, reason) {
    if (code === 4401) {
      app.signedOut();
      return;
    }
    conn.pending.clear();
    state.welcomed = false;
    body.hidden = true;
    header.status.hidden = true;
    const [title, detail, canRejoin] = describeClose(code, reason);
    gate.closed(title, detail, canRejoin ? rejoin : null);
  }

  function rejoin() {
    conn.lastSeq = null;
    conn.epoch = null;
    conn.attempt = 0;
    conn.open();
  }

  header.checkInToggle.addEventListener('click', () => showCheckIn(!body.classList.contains('show-checkin')));
  conn.open();
  return {
    node,
    destroy: () => {
      conn.close();
      for (const pane of checkIns.values()) pane.destroy();
    },
  };
}

function roomHeader() {
  const title = el('h1', { id: 'room-title' });
  const description = el('p', { class: 'room-description' });
  const badges = el('ul', { class: 'room-badges', aria: { label: t('room.badges') } });
  const status = el('span', { class: 'connection-status', hidden: true, attrs: { role: 'status' } });
  const sideToggle = el('button', { type: 'button', class: 'quiet side-toggle', text: t('room.people'), aria: { expanded: 'false' } });
  const checkInToggle = el('button', { type: 'button', class: 'primary small checkin-toggle', hidden: true,
    text: t('checkin.show_pane'), aria: { expanded: 'false' } });
  const node = el('header', { class: 'room-header' },
    el('div', { class: 'room-heading' }, title, status),
    description,
    el('div', { class: 'room-header-row' }, badges, sideToggle, checkInToggle));
  const update = (settings) => {
    title.textContent = settings.title || settings.slug;
    description.textContent = settings.description || '';
    description.hidden = !settings.description;
    const items = [];
    if (settings.transcripts === 'opt_in') items.push(['recording', t('room.badge.recording')]);
    else items.push(['not-recorded', t('room.badge.not_recorded')]);
    if (settings.locked) items.push(['locked', t('room.badge.locked')]);
    if (settings.slow_mode_seconds) items.push(['slow', t('room.badge.slow', { time: duration(settings.slow_mode_seconds) })]);
    if (settings.access === 'approval') items.push(['approval', t('room.badge.approval')]);
    replace(badges, items.map(([kind, text]) => el('li', { class: `badge setting-${kind}`, text })));
  };
  return { node, status, sideToggle, checkInToggle, update };
}
