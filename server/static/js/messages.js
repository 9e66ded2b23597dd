// The message list: rendering, pending sends, reactions, deletions and per-message actions.

import { clock, el, replace } from './dom.js';
import { t } from './i18n.js';

export const REACTIONS = [
  { key: 'nod', emoji: '🙂' },
  { key: 'heart', emoji: '❤️' },
  { key: 'hug', emoji: '🤗' },
  { key: 'clap', emoji: '👏' },
];

export class MessageList {
  /** `room` is the room view's shared context (me, isFacilitator(), send, mod, ...). */
  constructor(room) {
    this.room = room;
    this.list = el('ol', {
      class: 'messages',
      aria: { live: 'polite', relevant: 'additions', label: t('message.list') },
    });
    this.scroller = el('div', { class: 'chat-scroll' }, this.list);
    this.items = new Map(); // message id -> { node, message }
    this.pending = new Map(); // ref -> node
    this.reactions = new Map(); // message id -> Map(reaction -> Set(user id))
    this.empty = el('li', { class: 'empty-note', text: t('message.empty') });
    this.list.append(this.empty);
  }

  /** Keep the view pinned to the newest message if the reader was already there. */
  stickToBottom(change) {
    const s = this.scroller;
    const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 80;
    change();
    this.empty.hidden = this.list.children.length > 1;
    if (atBottom) s.scrollTop = s.scrollHeight;
  }

  /** Add (or confirm) a message from the server. */
  add(message) {
    const pendingNode = message.ref ? this.pending.get(message.ref) : null;
    if (pendingNode) this.pending.delete(message.ref);
    if (this.items.has(message.id)) {
      if (pendingNode) pendingNode.remove();
      return;
    }
    const node = this.render(message);
    this.items.set(message.id, { node, message });
    this.stickToBottom(() => {
      if (pendingNode) pendingNode.replaceWith(node);
      else this.insertInOrder(node, message);
    });
  }

  insertInOrder(node, message) {
    // Pending messages stay at the bottom; confirmed ones go in seq order above them.
    const firstPending = this.list.querySelector('.message.pending');
    let before = firstPending;
    for (let i = this.list.children.length - 1; i >= 0; i -= 1) {
      const other = this.list.children[i];
      const seq = Number(other.dataset.seq);
      if (!other.dataset.seq || other.classList.contains('pending')) continue;
      if (seq > message.seq) before = other;
      else break;
    }
    this.list.insertBefore(node, before);
  }

  /** Show a message we sent that the server has not confirmed yet. */
  addPending(ref, body) {
    const me = this.room.me();
    const node = el('li', { class: 'message mine pending', dataset: { ref } },
      el('div', { class: 'meta' },
        el('span', { class: 'author', text: me.display_name }),
        el('span', { class: 'state', text: t('message.sending') })),
      el('p', { class: 'body', text: body }));
    this.pending.set(ref, node);
    this.stickToBottom(() => this.list.append(node));
  }

  /** A pending message was refused: offer to retry or discard. */
  fail(ref, reason, onRetry) {
    const node = this.pending.get(ref);
    if (!node) return false;
    this.pending.delete(ref);
    node.classList.add('failed');
    const body = node.querySelector('.body').textContent;
    const state = node.querySelector('.state');
    state.textContent = t('message.not_sent', { reason });
    node.append(el('div', { class: 'actions always' },
      el('button', { type: 'button', class: 'link', text: t('message.try_again'),
        on: { click: () => { node.remove(); onRetry(body); } } }),
      el('button', { type: 'button', class: 'link', text: t('message.discard'),
        on: { click: () => node.remove() } })));
    return true;
  }

  /** The seq numbering restarted (close 1012): old seqs no longer order anything. */
  restart() {
    for (const { node } of this.items.values()) delete node.dataset.seq;
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
    this.reactions.delete(messageId);
    item.node.remove();
    this.empty.hidden = this.list.children.length > 1;
  }

  /** A quiet line in the flow of messages (missed messages, room changes). */
  note(text) {
    this.stickToBottom(() => this.list.append(el('li', { class: 'system-note', text })));
  }

  react(frame) {
    const item = this.items.get(frame.message_id);
    if (!item) return;
    let byReaction = this.reactions.get(frame.message_id);
    if (!byReaction) this.reactions.set(frame.message_id, (byReaction = new Map()));
    if (!byReaction.has(frame.reaction)) byReaction.set(frame.reaction, new Set());
    byReaction.get(frame.reaction).add(frame.user_id);
    this.renderReactions(item.node.querySelector('.reactions'), frame.message_id);
  }

  /** Re-render actions after the role becomes known (welcome). */
  refreshActions() {
    for (const { node, message } of this.items.values()) {
      node.querySelector('.actions').replaceWith(this.renderActions(message));
    }
  }

  render(message) {
    const mine = message.author.id === this.room.me().id;
    const classes = ['message'];
    if (mine) classes.push('mine');
    if (message.recorded) classes.push('recorded');
    const role = message.author.role;
    return el('li', { class: classes.join(' '), dataset: { id: message.id, seq: message.seq } },
      el('div', { class: 'meta' },
        el('span', { class: 'author', text: message.author.display_name }),
        role && role !== 'member' ? el('span', { class: `badge role-${role}`, text: t(`role.${role}`) }) : null,
        clock(message.ts),
        message.recorded
          ? el('span', { class: 'recorded-tag', text: t('message.recorded'),
            title: t('message.recorded.title') })
          : null),
      el('p', { class: 'body', text: message.body }),
      el('div', { class: 'message-foot' },
        this.renderReactions(el('div', { class: 'reactions' }), message.id),
        this.renderActions(message)));
  }

  renderReactions(container, messageId) {
    const counts = this.reactions.get(messageId) || new Map();
    const me = this.room.me().id;
    return replace(container, REACTIONS.map(({ key, emoji }) => {
      const users = counts.get(key) || new Set();
      const count = users.size;
      const label = t(`reaction.${key}`);
      return el('button', {
        type: 'button',
        class: count ? 'reaction has-count' : 'reaction',
        dataset: { reaction: key },
        title: label,
        aria: { label: count ? t('reaction.label_count', { label, count }) : label, pressed: String(users.has(me)) },
        on: { click: () => this.room.send({ type: 'react', message_id: messageId, reaction: key }) },
      }, emoji, count ? el('span', { class: 'count', text: String(count) }) : null);
    }));
  }

  renderActions(message) {
    const actions = el('div', { class: 'actions' });
    const mine = message.author.id === this.room.me().id;
    if (!mine) {
      actions.append(el('button', { type: 'button', class: 'link', text: t('message.report'),
        on: { click: () => this.reportForm(actions, message) } }));
    }
    if (this.room.isFacilitator()) {
      actions.append(
        el('button', { type: 'button', class: 'link', text: t('message.pin'),
          on: { click: () => this.room.mod('pin', { message_id: message.id }) } }),
        confirmButton(t('message.delete'), t('message.delete.confirm'),
          () => this.room.mod('delete', { message_id: message.id })));
    }
    return actions;
  }

  reportForm(actions, message) {
    if (actions.querySelector('form')) return;
    const reason = el('input', { type: 'text', required: true, maxLength: 500,
      placeholder: t('message.report.placeholder') });
    reason.setAttribute('aria-label', t('message.report.reason'));
    const form = el('form', { class: 'inline-form',
      on: {
        submit: (event) => {
          event.preventDefault();
          this.room.send({ type: 'report', message_id: message.id, reason: reason.value });
          replace(form, el('span', { class: 'hint', attrs: { role: 'status' },
            text: t('message.report.thanks') }));
        },
      } },
    reason,
    el('button', { type: 'submit', text: t('message.report.send') }),
    el('button', { type: 'button', class: 'link', text: t('message.report.cancel'), on: { click: () => form.remove() } }));
    actions.append(form);
    reason.focus();
  }
}

/** A button that asks once more before acting. */
export function confirmButton(label, confirmLabel, action, className = 'link') {
  let armed = false;
  let timer = null;
  const button = el('button', { type: 'button', class: className, text: label });
  button.addEventListener('click', () => {
    if (!armed) {
      armed = true;
      button.textContent = confirmLabel;
      button.classList.add('danger');
      timer = setTimeout(() => {
        armed = false;
        button.textContent = label;
        button.classList.remove('danger');
      }, 5000);
      return;
    }
    clearTimeout(timer);
    armed = false;
    button.textContent = label;
    button.classList.remove('danger');
    action();
  });
  return button;
}
