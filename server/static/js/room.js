// One room, while you are in it: wires the connection's frames to the parts of the page.
// The parts share one small context (`room` below); none of them touches the socket.

import { el, randomId } from './dom.js';
import { api } from './api.js';
import { RoomConnection } from './connection.js';
import { MessageList } from './messages.js';
import { MessageActions } from './message_actions.js';
import { MemberList, TypingIndicator } from './people.js';
import { PinList } from './pins.js';
import { Composer } from './composer.js';
import { RecordingControls } from './recording.js';
import { CrisisNotice } from './crisis.js';
import { ModerationPanel, describeModeration } from './moderation.js';
import { Gate } from './gate.js';
import { roomHeader } from './room_header.js';
import { describeClose, describeError, duration } from './wording.js';
import { t } from './i18n.js';

const FACILITATING = new Set(['facilitator', 'admin']);
const PHONE = '(max-width: 760px)';

/** Build the room page for `slug`; returns { node, destroy }. `app.signedOut()` on 4401. */
export function roomView(slug, app) {
  const state = {
    me: app.user,
    role: 'member',
    settings: { slug, title: slug, transcripts: 'off', locked: false, slow_mode_seconds: 0 },
    consent: false,
    welcomed: false,
    hands: [], // user ids, who raised first first
  };
  const modRefs = new Map(); // ref -> onNotFound
  const consentRefs = new Map(); // ref -> onAnswered

  const room = {
    slug: () => slug,
    me: () => state.me,
    role: () => state.role,
    isFacilitator: () => FACILITATING.has(state.role),
    settings: () => state.settings,
    nameOf: (id) => members.name(id) || moderation?.nameOf(id) || messages.authorName(id),
    /** Whether I may act on this person (admins never; facilitators only by admins). */
    canModerate(userId, role = members.role(userId) ?? 'member') {
      if (!room.isFacilitator() || userId === state.me.id || role === 'admin') return false;
      return role !== 'facilitator' || state.role === 'admin';
    },
    send: (frame) => conn.send(frame),
    say: (text) => composer.say(text),
    post(body) {
      const ref = conn.post(body);
      messages.addPending(ref, body);
    },
    mod(action, fields, onNotFound) {
      const ref = randomId();
      modRefs.set(ref, onNotFound);
      if (!conn.send({ type: 'mod', action, ...fields, ref })) moderation?.say(t('composer.not_connected'));
    },
    consent(recorded, onAnswered) {
      const ref = randomId();
      consentRefs.set(ref, onAnswered);
      if (!conn.send({ type: 'consent', recorded, ref })) {
        consentRefs.delete(ref);
        onAnswered();
        composer.say(t('composer.not_connected'));
      }
    },
    erased: () => messages.unrecord(state.me.id),
    showMemberActions(userId) {
      showSide(true);
      if (!members.showActions(userId)) moderation?.say(t('mod.member.gone'));
    },
  };

  const gate = new Gate();
  const messages = new MessageList(room, (article, message) => sheet.open(article, message));
  const sheet = new MessageActions(room, messages.reactions);
  const members = new MemberList(room, (p) => (moderation ? moderation.memberActions(p) : null));
  const pins = new PinList(room);
  const typing = new TypingIndicator((id) => members.name(id));
  const composer = new Composer(room);
  const recording = new RecordingControls(room);
  composer.addTool(recording.node);
  const crisis = new CrisisNotice();
  messages.scroller.append(crisis.node); // in the flow of the chat: it never squeezes it
  let moderation = null;
  const early = []; // facilitator frames that came before the welcome that makes the panel

  const header = roomHeader();
  const side = el('aside', { class: 'side', id: `side-${slug}`, aria: { label: t('room.side') } }, members.node);
  const body = el('div', { class: 'room-body', hidden: true },
    el('div', { class: 'chat' }, pins.node, messages.scroller, sheet.node, typing.node, composer.node),
    side);
  header.sideToggle.setAttribute('aria-controls', side.id);
  header.sideToggle.addEventListener('click', () => showSide(!body.classList.contains('show-side')));
  const node = el('section', { class: 'room', aria: { labelledby: 'room-title' } }, header.node, gate.node, body);

  function showSide(open) {
    if (!window.matchMedia(PHONE).matches) return;
    body.classList.toggle('show-side', open);
    header.sideToggle.setAttribute('aria-expanded', String(open));
  }

  const conn = new RoomConnection(slug, {
    onStatus: (status) => {
      header.say(status === 'reconnecting' ? t('state.reconnecting') : '');
      if (status !== 'open') moderation?.knocks.clear();
      if (!state.welcomed) gate.connecting(status === 'reconnecting' ? t('state.reconnecting') : t('state.connecting'));
    },
    onRestart: () => {
      messages.restart();
      messages.note(t('room.restarted'));
    },
    onResumed: ({ gap }) => {
      const filled = state.filledIn;
      if (gap) messages.note(t('room.gap'));
      else messages.note(filled ? t('room.resumed', { count: filled }) : t('room.resumed_none'));
    },
    onFinalClose: (code, reason) => finalClose(code, reason),
    onFrame: (frame) => handlers[frame.type]?.(frame),
  });

  const forModeration = (fn) => (f) => (moderation ? fn(f) : early.push(f));
  const handlers = {
    agreement_required: (f) => {
      body.hidden = true;
      gate.agreement(f.agreement, () => conn.raw({ type: 'accept_agreement' }));
    },
    waiting: () => {
      body.hidden = true;
      gate.waiting();
    },
    welcome,
    message: (f) => {
      typing.clear(f.author.id);
      messages.add(f);
    },
    deleted: (f) => messageGone(f.message_id),
    deleted_all: (f) => messages.removeAuthor(f.user_id),
    reaction: (f) => messages.react(f),
    hand: (f) => setHand(f.user_id, f.raised),
    typing: (f) => typing.show(f.user_id),
    presence: (f) => {
      if (f.user.id === state.me.id) return;
      if (f.status === 'joined') {
        members.join(f.user);
        moderation?.knocks.answered(f.user.id);
      } else {
        members.leave(f.user);
        typing.clear(f.user.id);
        setHand(f.user.id, false);
      }
    },
    pinned: (f) => pins.render(f.pinned || []),
    room: (f) => applySettings(f.room),
    consent: (f) => {
      const was = state.consent;
      state.consent = Boolean(f.recorded);
      recording.set(state.consent);
      consentRefs.get(f.ref)?.();
      consentRefs.delete(f.ref);
      composer.say(state.consent ? t('consent.on') : t('consent.off'));
      if (was && !state.consent) recording.withdrawn();
    },
    moderation: onModeration,
    knock: forModeration((f) => moderation.knocks.knock(f.user)),
    knock_withdrawn: forModeration((f) => moderation.knocks.withdrawn(f.user_id)),
    flag: forModeration((f) => {
      moderation.review.flag(f);
      moderation.say(t('mod.flag.arrived'));
    }),
    held: forModeration((f) => {
      moderation.review.hold(f);
      moderation.say(t('review.held.arrived', { name: f.author.display_name }));
    }),
    notice: (f) => {
      if (f.kind === 'crisis_resources') crisis.show(f.text);
      else if (f.kind === 'held') {
        conn.drop(f.ref);
        messages.markHeld(f.ref, f.held_id);
      } else if (f.kind === 'held_discarded') messages.markDiscarded(f.held_id);
      else if (f.text) composer.say(f.text);
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
      moderation.review.onCrisisChange = (count) => header.crisisFlags(count);
      side.prepend(moderation.review.crisisNode, moderation.node);
      for (const frame of early.splice(0)) handlers[frame.type](frame);
    }
    applySettings(f.room);
    members.reset([...(f.members || []), { id: f.you.user.id, display_name: f.you.user.display_name, role: f.you.role }]);
    pins.render(f.pinned || []);
    showHands([...new Set(f.hands || [])]);
    // Filled in: what a resume brought that was not on screen yet (our own unconfirmed
    // messages coming back do not count).
    state.filledIn = (f.history || []).filter((m) => !messages.shows(m)).length;
    for (const message of f.history || []) messages.add(message);
    composer.setMuted(Boolean(f.you.muted), f.you.muted_until);
    moderation?.bans.refresh();
    gate.hide();
    body.hidden = false;
    if (first) composer.focus();
  }

  function setHand(userId, raised) {
    const order = state.hands.filter((id) => id !== userId);
    if (raised) order.push(userId);
    showHands(order);
  }

  function showHands(order) {
    state.hands = order;
    members.setHands(order);
    moderation?.hands.render(order);
    composer.setHand(order.includes(state.me.id));
  }

  function messageGone(messageId) {
    messages.remove(messageId);
    sheet.forget(messageId);
    moderation?.review.messageGone(messageId);
  }

  function applySettings(settings) {
    state.settings = settings;
    // Switching transcripts off withdraws every consent (and so does coming back on).
    if (settings.transcripts !== 'opt_in') state.consent = false;
    header.update(settings);
    recording.update(settings.transcripts, state.consent);
    composer.showState();
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
        moderation?.knocks.answered(f.user_id);
        break;
      case 'ban':
      case 'unban':
        moderation?.bans.refresh();
        break;
      case 'delete':
        messageGone(f.message_id);
        break;
      case 'resolve_flag':
        moderation?.review.resolved(f.flag_id);
        break;
      case 'approve':
      case 'discard':
        moderation?.review.reviewed(f.held_id);
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
    if (ref && conn.isPending(ref)) {
      conn.drop(ref);
      messages.fail(ref, text, (words) => composer.restore(words));
    } else if (ref && modRefs.has(ref)) {
      const onNotFound = modRefs.get(ref);
      modRefs.delete(ref);
      if (f.code === 'not_found') onNotFound?.();
      moderation?.say(t('mod.failed', { reason: text }));
    } else if (ref && consentRefs.has(ref)) {
      consentRefs.get(ref)();
      consentRefs.delete(ref);
      recording.set(state.consent);
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
    state.welcomed = false;
    body.hidden = true;
    header.say('');
    const [title, detail, canRejoin] = describeClose(code, reason);
    gate.closed(title, detail, canRejoin ? () => conn.startOver() : null);
  }

  // The title, before the agreement or the waiting room (the welcome brings it again).
  api('GET', `/api/rooms/${encodeURIComponent(slug)}`)
    .then(({ room: settings }) => { if (!state.welcomed) header.update(settings); })
    .catch(() => {});
  conn.open();
  return { node, destroy: () => conn.close() };
}
