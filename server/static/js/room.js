// One room, while you are in it: wires the connection's frames to the parts of the page.
// The parts share one small context (`RoomPage.context()`); none of them touches the socket.

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
import { closedDoor } from './sessions.js';
import { checkInButton } from './checkin.js';
import { RoomSessions } from './room_sessions.js';

const FACILITATING = new Set(['facilitator', 'admin']);
const PHONE = '(max-width: 760px)';

/** Build the room page for `slug`; returns { node, destroy }. `app.signedOut()` on 4401. */
export function roomView(slug, app) {
  const page = new RoomPage(slug, app);
  page.start();
  return { node: page.node, destroy: () => page.destroy() };
}

class RoomPage {
  constructor(slug, app) {
    this.slug = slug;
    this.app = app;
    this.state = {
      me: app.user,
      role: 'member',
      settings: { slug, title: slug, transcripts: 'off', locked: false, slow_mode_seconds: 0 },
      consent: false,
      welcomed: false,
      hands: [], // user ids, who raised first first
      filledIn: 0,
    };
    this.modRefs = new Map(); // ref -> onNotFound
    this.consentRefs = new Map(); // ref -> onAnswered
    this.moderation = null;
    this.early = []; // facilitator frames that came before the welcome that makes the panel
    this.room = this.context();
    this.build();
    this.handlers = { ...this.memberHandlers(), ...this.facilitatorHandlers() };
    this.conn = new RoomConnection(slug, {
      onStatus: (status) => this.status(status),
      onRestart: () => {
        this.messages.restart();
        this.messages.note(t('room.restarted'));
      },
      onResumed: ({ gap }) => this.resumed(gap),
      onFinalClose: (code, reason) => this.finalClose(code, reason),
      onFrame: (frame) => this.handlers[frame.type]?.(frame),
    });
  }

  /** What the parts of the page may ask of the room. */
  context() {
    const state = this.state;
    const room = {
      slug: () => this.slug,
      me: () => state.me,
      role: () => state.role,
      isFacilitator: () => FACILITATING.has(state.role),
      settings: () => state.settings,
      nameOf: (id) => this.members.name(id) || this.moderation?.nameOf(id) || this.messages.authorName(id),
      /** Whether I may act on this person (admins never; facilitators only by admins). */
      canModerate: (userId, role = this.members.role(userId) ?? 'member') => {
        if (!room.isFacilitator() || userId === state.me.id || role === 'admin') return false;
        return role !== 'facilitator' || state.role === 'admin';
      },
      send: (frame) => this.conn.send(frame),
      say: (text) => this.composer.say(text),
      post: (body) => this.messages.addPending(this.conn.post(body), body),
      mod: (action, fields, onNotFound) => {
        const ref = randomId();
        this.modRefs.set(ref, onNotFound);
        if (!this.conn.send({ type: 'mod', action, ...fields, ref })) this.moderation?.say(t('composer.not_connected'));
      },
      consent: (recorded, onAnswered) => this.askConsent(recorded, onAnswered),
      erased: () => this.messages.unrecord(state.me.id),
      checkInFor: (userId) => checkInButton(room, { id: userId, display_name: room.nameOf(userId) }),
      showMemberActions: (userId) => {
        this.showSide(true);
        if (!this.members.showActions(userId)) this.moderation?.say(t('mod.member.gone'));
      },
    };
    return room;
  }

  build() {
    const room = this.room;
    this.gate = new Gate();
    this.messages = new MessageList(room, (article, message) => this.sheet.open(article, message));
    this.sheet = new MessageActions(room, this.messages.reactions);
    this.members = new MemberList(room, (p) => (this.moderation
      ? el('div', { class: 'member-tools' }, this.moderation.memberActions(p), p.role === 'member' ? checkInButton(room, p) : null)
      : null));
    this.pins = new PinList(room);
    this.typing = new TypingIndicator((id) => this.members.name(id));
    this.composer = new Composer(room);
    this.recording = new RecordingControls(room);
    this.composer.addTool(this.recording.node);
    this.crisis = new CrisisNotice();
    this.messages.scroller.append(this.crisis.node); // in the chat's flow: it never squeezes it
    this.header = roomHeader();
    this.side = el('aside', { class: 'side', id: `side-${this.slug}`, aria: { label: t('room.side') } }, this.members.node);
    this.body = el('div', { class: 'room-body', hidden: true },
      el('div', { class: 'chat' }, this.pins.node, this.messages.scroller, this.sheet.node, this.typing.node, this.composer.node),
      this.side);
    this.header.sideToggle.setAttribute('aria-controls', this.side.id);
    this.header.sideToggle.addEventListener('click', () => this.showSide(!this.body.classList.contains('show-side')));
    this.sessions = new RoomSessions({
      room, slug: this.slug, side: this.side, body: this.body, header: this.header,
      send: (frame) => this.conn.send(frame),
      note: (text) => this.messages.note(text),
      say: (text) => this.moderation?.say(text),
    });
    this.body.append(this.sessions.area);
    this.node = el('section', { class: 'room', aria: { labelledby: 'room-title' } }, this.header.node, this.gate.node, this.body);
  }

  start() {
    // The title, before the agreement or the waiting room (the welcome brings it again).
    api('GET', `/api/rooms/${encodeURIComponent(this.slug)}`)
      .then(({ room }) => { if (!this.state.welcomed) this.header.update(room); })
      .catch(() => {});
    this.conn.open();
  }

  destroy() {
    this.conn.close();
    this.sessions.destroy();
  }

  /** The room itself (chat and side panel) or the gate in front of it; the phone's
   * people-and-tools button only beside the room, never on a waiting or agreement screen. */
  showBody(shown) {
    this.body.hidden = !shown;
    this.header.sideToggle.hidden = !shown;
  }

  showSide(open) {
    if (!window.matchMedia(PHONE).matches) return;
    this.body.classList.toggle('show-side', open);
    this.header.sideToggle.setAttribute('aria-expanded', String(open));
  }

  status(status) {
    const reconnecting = status === 'reconnecting';
    this.header.say(reconnecting ? t('state.reconnecting') : '');
    if (status !== 'open') this.moderation?.knocks.clear();
    if (!this.state.welcomed) this.gate.connecting(reconnecting ? t('state.reconnecting') : t('state.connecting'));
  }

  resumed(gap) {
    const filled = this.state.filledIn;
    if (gap) this.messages.note(t('room.gap'));
    else this.messages.note(filled ? t('room.resumed', { count: filled }) : t('room.resumed_none'));
  }

  memberHandlers() {
    const { messages, typing } = this;
    return {
      agreement_required: (f) => {
        this.showBody(false);
        this.gate.agreement(f.agreement, () => this.conn.raw({ type: 'accept_agreement' }));
      },
      waiting: (f) => {
        this.showBody(false);
        if (f.reason === 'closed') closedDoor(this.gate, f, this.state.settings, (known) => this.header.update(known));
        else this.gate.waiting();
      },
      ...this.sessions.handlers(() => this.state.settings, (settings) => { this.state.settings = settings; },
        () => this.state.welcomed),
      welcome: (f) => this.welcome(f),
      message: (f) => {
        typing.clear(f.author.id);
        messages.add(f);
        if (f.author.id === this.state.me.id) this.composer.sent(f.ts);
      },
      deleted: (f) => this.messageGone(f.message_id),
      deleted_all: (f) => messages.removeAuthor(f.user_id),
      reaction: (f) => messages.react(f),
      hand: (f) => this.setHand(f.user_id, f.raised),
      typing: (f) => typing.show(f.user_id),
      presence: (f) => this.presence(f),
      pinned: (f) => this.pins.render(f.pinned || []),
      room: (f) => this.applySettings(f.room),
      consent: (f) => this.consentAnswered(f),
      moderation: (f) => this.onModeration(f),
      notice: (f) => this.notice(f),
      error: (f) => this.onError(f),
      report_received: () => {},
      pong: () => {},
    };
  }

  facilitatorHandlers() {
    const when = (fn) => (f) => (this.moderation ? fn(this.moderation, f) : this.early.push(f));
    return {
      knock: when((m, f) => m.knocks.knock(f.user)),
      knock_withdrawn: when((m, f) => m.knocks.withdrawn(f.user_id)),
      flag: when((m, f) => {
        m.review.flag(f);
        m.say(t('mod.flag.arrived'));
      }),
      held: when((m, f) => {
        m.review.hold(f);
        m.say(t('review.held.arrived', { name: f.author.display_name }));
      }),
    };
  }

  welcome(f) {
    const { state } = this;
    const first = !state.welcomed;
    state.welcomed = true;
    state.me = f.you.user;
    state.role = f.you.role;
    state.consent = Boolean(f.you.consent);
    if (this.room.isFacilitator() && !this.moderation) this.startModeration();
    else this.moderation?.review.clear(); // what is still open follows this welcome
    this.applySettings(f.room);
    this.sessions.welcome(f);
    this.members.reset([...(f.members || []), { id: f.you.user.id, display_name: f.you.user.display_name, role: f.you.role }]);
    this.pins.render(f.pinned || []);
    this.showHands([...new Set(f.hands || [])]);
    // Filled in: what a resume brought that was not on screen yet (our own unconfirmed
    // messages coming back do not count).
    state.filledIn = (f.history || []).filter((m) => !this.messages.shows(m)).length;
    for (const message of f.history || []) this.messages.add(message);
    this.composer.setMuted(Boolean(f.you.muted), f.you.muted_until);
    this.moderation?.bans.refresh();
    this.gate.hide();
    this.showBody(true);
    if (first) this.composer.focus();
  }

  startModeration() {
    this.moderation = new ModerationPanel(this.room);
    this.moderation.review.onCrisisChange = (count) => this.header.crisisFlags(count);
    this.side.prepend(this.moderation.review.crisisNode, this.moderation.node);
    for (const frame of this.early.splice(0)) this.handlers[frame.type](frame);
  }

  presence(f) {
    if (f.user.id === this.state.me.id) return;
    this.sessions.presence(f);
    if (f.status === 'joined') {
      this.members.join(f.user);
      this.moderation?.knocks.answered(f.user.id);
    } else {
      this.members.leave(f.user);
      this.typing.clear(f.user.id);
      this.setHand(f.user.id, false);
    }
  }

  notice(f) {
    if (f.kind === 'crisis_resources') this.crisis.show(f.text);
    else if (f.kind === 'held') {
      this.conn.drop(f.ref); // held, not lost: never resend it
      this.messages.markHeld(f.ref, f.held_id);
    } else if (f.kind === 'held_discarded') this.messages.markDiscarded(f.held_id);
    else if (f.text) this.composer.say(f.text);
  }

  askConsent(recorded, onAnswered) {
    const ref = randomId();
    this.consentRefs.set(ref, onAnswered);
    if (!this.conn.send({ type: 'consent', recorded, ref })) {
      this.consentRefs.delete(ref);
      onAnswered();
      this.composer.say(t('composer.not_connected'));
    }
  }

  consentAnswered(f) {
    const was = this.state.consent;
    this.state.consent = Boolean(f.recorded);
    this.recording.set(this.state.consent);
    this.consentRefs.get(f.ref)?.();
    this.consentRefs.delete(f.ref);
    this.composer.say(this.state.consent ? t('consent.on') : t('consent.off'));
    if (was && !this.state.consent) this.recording.withdrawn();
  }

  setHand(userId, raised) {
    const order = this.state.hands.filter((id) => id !== userId);
    if (raised) order.push(userId);
    this.showHands(order);
  }

  showHands(order) {
    this.state.hands = order;
    this.members.setHands(order);
    this.moderation?.hands.render(order);
    this.composer.setHand(order.includes(this.state.me.id));
  }

  messageGone(messageId) {
    this.messages.remove(messageId);
    this.sheet.forget(messageId);
    this.moderation?.review.messageGone(messageId);
  }

  applySettings(settings) {
    this.state.settings = settings;
    // Switching transcripts off withdraws every consent (and so does coming back on).
    if (settings.transcripts !== 'opt_in') this.state.consent = false;
    this.header.update(settings);
    this.recording.update(settings.transcripts, this.state.consent);
    this.composer.showState();
    this.moderation?.update(settings);
  }

  onModeration(f) {
    const mine = f.user_id === this.state.me.id;
    const m = this.moderation;
    switch (f.action) {
      case 'lock':
      case 'unlock':
        this.applySettings({ ...this.state.settings, locked: f.action === 'lock' });
        this.messages.note(f.action === 'lock' ? t('room.now_locked') : t('room.now_unlocked'));
        break;
      case 'slow_mode':
        this.applySettings({ ...this.state.settings, slow_mode_seconds: f.seconds });
        this.messages.note(f.seconds ? t('room.slow_on', { time: duration(f.seconds) }) : t('room.slow_off'));
        break;
      case 'mute':
      case 'unmute':
        if (mine) this.composer.setMuted(f.action === 'mute', f.seconds ? Date.now() + f.seconds * 1000 : null);
        else this.members.setMuted(f.user_id, f.action === 'mute');
        break;
      case 'admit':
      case 'deny': m?.knocks.answered(f.user_id); break;
      case 'ban':
      case 'unban': m?.bans.refresh(); break;
      case 'delete': this.messageGone(f.message_id); break;
      case 'resolve_flag': m?.review.resolved(f.flag_id); break;
      case 'dismiss_request': this.sessions.dismissed(f.request_id); break;
      case 'approve':
      case 'discard': m?.review.reviewed(f.held_id); break;
      default: break;
    }
    if (f.ref) this.modRefs.delete(f.ref);
    const text = m && !mine ? describeModeration(f, this.room.nameOf) : '';
    if (text) m.say(text);
  }

  onError(f) {
    const text = describeError(f);
    const ref = f.ref;
    if (ref && this.conn.isPending(ref)) {
      this.conn.drop(ref);
      this.messages.fail(ref, text, (words) => this.composer.restore(words));
    } else if (ref && this.modRefs.has(ref)) {
      const onNotFound = this.modRefs.get(ref);
      this.modRefs.delete(ref);
      if (f.code === 'not_found') onNotFound?.();
      this.moderation?.say(t('mod.failed', { reason: text }));
    } else if (ref && this.consentRefs.has(ref)) {
      this.consentRefs.get(ref)();
      this.consentRefs.delete(ref);
      this.recording.set(this.state.consent);
      this.composer.say(f.code === 'forbidden' ? t('consent.no_transcript') : text);
    } else {
      this.composer.say(text);
    }
  }

  finalClose(code, reason) {
    if (code === 4401) {
      this.app.signedOut();
      return;
    }
    this.state.welcomed = false;
    this.showBody(false);
    this.header.say('');
    const [title, detail, canRejoin] = describeClose(code, reason);
    this.gate.closed(title, detail, canRejoin ? () => this.conn.startOver() : null);
  }
}
