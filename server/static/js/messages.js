// The message log: a role="log" region that announces each new message once (its actions
// live in one menu outside the log, so they are never read along). One tab stop for the
// whole log: the arrow keys move between messages (roving tabindex), Enter opens the
// focused message's actions. A message we send shows its state in place: sending, waiting
// for a facilitator (held), not shared, or not sent with its reason and "Try again".

import { clock, el, replace, uid } from './dom.js';
import { t } from './i18n.js';
import { Reactions } from './reactions.js';

const NEAR_BOTTOM_PX = 80;

export class MessageList {
  /**
   * `room` is the room view's shared context (me(), nameOf(), ...); `openActions(article,
   * message)` shows a message's actions.
   */
  constructor(room, openActions) {
    this.room = room;
    this.openActions = openActions;
    this.keysHint = el('p', { class: 'visually-hidden', id: uid('log-keys'), text: t('message.keys') });
    this.log = el('div', {
      class: 'messages',
      attrs: { role: 'log', 'aria-relevant': 'additions' },
      aria: { label: t('message.list'), describedby: this.keysHint.id },
      on: { keydown: (e) => this.keydown(e) },
    });
    this.empty = el('p', { class: 'empty-note', text: t('message.empty') });
    this.scroller = el('div', { class: 'chat-scroll' }, this.keysHint, this.empty, this.log);
    this.items = new Map(); // message id -> { node, message }
    this.pending = new Map(); // ref -> node
    this.held = new Map(); // held id -> node (our own messages under review)
    this.reactions = new Reactions();
    this.current = null; // the article that holds the log's one tab stop
  }

  /** Keep the view pinned to the newest message if the reader was already there. */
  stickToBottom(change) {
    const s = this.scroller;
    const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
    change();
    this.empty.hidden = this.log.querySelector('.message') !== null;
    if (atBottom) s.scrollTop = s.scrollHeight;
  }

  /** Add a message from the server, or confirm our own (pending or held) in place. */
  add(message) {
    const ours = (message.ref && this.pending.get(message.ref)) || this.held.get(message.id);
    if (message.ref) this.pending.delete(message.ref);
    this.held.delete(message.id);
    if (this.items.has(message.id)) {
      ours?.remove();
      return;
    }
    if (ours) {
      // Filled in, not replaced: the log announced it once, when it was written.
      this.fillIn(ours, message);
      this.items.set(message.id, { node: ours, message });
      this.place(ours, message);
      return;
    }
    const node = this.article(message, message.author.display_name, message.body);
    this.fillIn(node, message);
    this.items.set(message.id, { node, message });
    this.stickToBottom(() => this.insertInOrder(node, message));
    this.rove(this.current && this.current.isConnected ? this.current : node);
  }

  /** Show a message we sent that the server has not confirmed yet. */
  addPending(ref, body) {
    const node = this.article(null, this.room.me().display_name, body);
    node.classList.add('mine', 'pending');
    node.dataset.ref = ref;
    this.setState(node, t('message.sending'));
    this.pending.set(ref, node);
    this.stickToBottom(() => this.log.append(node));
    this.rove(node);
  }

  /** Our message is waiting for a facilitator's review (`notice` kind `held`). */
  markHeld(ref, heldId) {
    const node = this.pending.get(ref);
    if (!node) return;
    this.pending.delete(ref);
    this.held.set(heldId, node);
    node.classList.add('held');
    this.setState(node, t('message.held'));
  }

  /** A facilitator did not approve our held message. */
  markDiscarded(heldId) {
    const node = this.held.get(heldId);
    if (!node) return;
    this.held.delete(heldId);
    node.classList.replace('held', 'failed');
    node.classList.remove('pending');
    this.setState(node, t('message.not_shared'));
    node.append(el('div', { class: 'message-fixes' },
      el('button', { type: 'button', class: 'link', text: t('message.discard'),
        on: { click: () => this.drop(node) } })));
  }

  /** A pending message was refused: it stays in view with its reason, to retry or drop. */
  fail(ref, reason, onRetry) {
    const node = this.pending.get(ref);
    if (!node) return false;
    this.pending.delete(ref);
    node.classList.replace('pending', 'failed');
    const body = node.querySelector('.body').textContent;
    this.setState(node, t('message.not_sent', { reason }));
    node.append(el('div', { class: 'message-fixes' },
      el('button', { type: 'button', class: 'link', text: t('message.try_again'),
        on: { click: () => { this.drop(node); onRetry(body); } } }),
      el('button', { type: 'button', class: 'link', text: t('message.discard'),
        on: { click: () => this.drop(node) } })));
    node.scrollIntoView({ block: 'nearest' });
    return true;
  }

  drop(node) {
    const next = node.nextElementSibling || node.previousElementSibling;
    node.remove();
    this.empty.hidden = this.log.querySelector('.message') !== null;
    if (this.current === node) this.rove(next, true);
  }

  /** The seq numbering restarted (close 1012): old seqs no longer order anything. */
  restart() {
    for (const { node } of this.items.values()) delete node.dataset.seq;
  }

  /** Whether a message is on screen already, confirmed or as one of ours still pending. */
  shows(message) {
    if (this.items.has(message.id) || this.held.has(message.id)) return true;
    if (message.author.id !== this.room.me().id) return false;
    return [...this.pending.values()].some((node) => node.querySelector('.body').textContent === message.body);
  }

  /** A display name for a user id, from the messages on screen. */
  authorName(userId) {
    for (const { message } of this.items.values()) {
      if (message.author.id === userId) return message.author.display_name;
    }
    return null;
  }

  remove(messageId) {
    const item = this.items.get(messageId);
    if (!item) return;
    this.items.delete(messageId);
    this.reactions.forget(messageId);
    this.drop(item.node);
  }

  /** Every message of one author is gone (`deleted_all`). */
  removeAuthor(userId) {
    for (const [id, { message }] of [...this.items]) if (message.author.id === userId) this.remove(id);
  }

  /** This author's words left the transcript: their messages here are no longer marked. */
  unrecord(userId) {
    for (const { node, message } of this.items.values()) {
      if (message.author.id !== userId || !message.recorded) continue;
      message.recorded = false;
      node.classList.remove('recorded');
      node.querySelector('.recorded-tag')?.remove();
    }
  }

  /** A quiet line in the flow of messages (missed messages, room changes). */
  note(text) {
    this.stickToBottom(() => this.log.append(el('p', { class: 'system-note', text })));
  }

  react(frame) {
    const item = this.items.get(frame.message_id);
    if (!item) return;
    this.reactions.add(frame.message_id, frame.reaction, frame.user_id);
    this.renderReactions(item.node, frame.message_id);
  }

  renderReactions(node, messageId) {
    this.reactions.render(node.querySelector('.reactions'), messageId,
      (id) => this.room.nameOf(id), this.room.me().id);
  }

  /** The message object for an article on screen, or null (pending ones have none). */
  messageOf(node) {
    return this.items.get(node.dataset.id)?.message || null;
  }

  article(message, author, body) {
    const authorId = uid('author');
    const bodyId = uid('body');
    const more = el('button', {
      type: 'button', class: 'message-more', text: '⋯', tabIndex: -1,
      attrs: { 'aria-hidden': 'true' },
      on: { click: (e) => { e.stopPropagation(); this.open(node); } },
    });
    const node = el('article', {
      class: 'message', tabIndex: -1,
      aria: { labelledby: `${authorId} ${bodyId}` },
      on: { focus: () => this.rove(node) },
    },
    el('div', { class: 'meta' },
      el('span', { class: 'author', id: authorId, text: author }),
      el('span', { class: 'state', hidden: true }),
      more),
    el('p', { class: 'body', id: bodyId, text: body }),
    el('ul', { class: 'reactions', hidden: true, aria: { label: t('message.reactions') } }));
    return node;
  }

  /** Give a confirmed message its id, time, role and recorded mark. */
  fillIn(node, message) {
    node.classList.remove('pending', 'held');
    node.dataset.id = message.id;
    node.dataset.seq = message.seq;
    node.dataset.authorId = message.author.id;
    if (message.author.id === this.room.me().id) node.classList.add('mine');
    this.setState(node, '');
    const meta = node.querySelector('.meta');
    const more = meta.querySelector('.message-more');
    const role = message.author.role;
    if (role && role !== 'member') more.before(el('span', { class: `badge role-${role}`, text: t(`role.${role}`) }));
    more.before(clock(message.ts));
    if (message.recorded) {
      node.classList.add('recorded');
      more.before(el('span', { class: 'recorded-tag', text: t('message.recorded'), title: t('message.recorded.title') }));
    }
    this.renderReactions(node, message.id);
  }

  setState(node, text) {
    const state = node.querySelector('.state');
    state.textContent = text;
    state.hidden = !text;
  }

  /** Move a confirmed message to its place by seq (it may have been written out of order). */
  place(node, message) {
    const before = this.followerOf(message);
    if (before !== node && node.nextElementSibling !== before) this.log.insertBefore(node, before);
  }

  insertInOrder(node, message) {
    this.log.insertBefore(node, this.followerOf(message));
  }

  /** The first node a message with this seq goes before: a later message or our pending ones. */
  followerOf(message) {
    let before = this.log.querySelector('.message.pending, .message.held');
    for (let i = this.log.children.length - 1; i >= 0; i -= 1) {
      const other = this.log.children[i];
      if (!other.dataset.seq) continue;
      if (Number(other.dataset.seq) > message.seq) before = other;
      else break;
    }
    return before;
  }

  // -- keyboard: one tab stop, arrows between messages, Enter for actions ---------------

  rove(node, focus = false) {
    if (!node || !node.classList?.contains('message')) {
      node = this.log.querySelector('.message:last-of-type');
      if (!node) return;
    }
    if (this.current && this.current !== node) this.current.tabIndex = -1;
    this.current = node;
    node.tabIndex = 0;
    if (focus) node.focus();
  }

  keydown(event) {
    const node = event.target.closest('.message');
    if (!node || event.target !== node) return;
    const all = [...this.log.querySelectorAll('.message')];
    const at = all.indexOf(node);
    const go = { ArrowUp: at - 1, ArrowDown: at + 1, Home: 0, End: all.length - 1 }[event.key];
    if (go !== undefined) {
      event.preventDefault();
      const target = all[Math.max(0, Math.min(all.length - 1, go))];
      this.rove(target, true);
      target.scrollIntoView({ block: 'nearest' });
    } else if (event.key === 'Enter' || event.key === ' ' || event.key === 'ContextMenu'
      || (event.key === 'F10' && event.shiftKey)) {
      event.preventDefault();
      this.open(node);
    }
  }

  open(node) {
    const message = this.messageOf(node);
    if (message) this.openActions(node, message);
  }
}
