// Reactions in words: what each one means, and who gave it ("Sam and Mia felt this too"),
// never how many. The server has no way to take a reaction back, so nothing here toggles.

import { el, replace } from './dom.js';
import { formatList, t } from './i18n.js';

export const REACTIONS = [
  { key: 'nod', emoji: '🙂' },
  { key: 'heart', emoji: '❤️' },
  { key: 'hug', emoji: '🤗' },
  { key: 'clap', emoji: '👏' },
];

/** Who reacted to each message: message id -> Map(reaction -> Set(user id)). */
export class Reactions {
  constructor() {
    this.byMessage = new Map();
  }

  add(messageId, reaction, userId) {
    let byReaction = this.byMessage.get(messageId);
    if (!byReaction) this.byMessage.set(messageId, (byReaction = new Map()));
    if (!byReaction.has(reaction)) byReaction.set(reaction, new Set());
    byReaction.get(reaction).add(userId);
  }

  forget(messageId) {
    this.byMessage.delete(messageId);
  }

  /** Whether `userId` already gave `reaction` to the message. */
  gave(messageId, reaction, userId) {
    return Boolean(this.byMessage.get(messageId)?.get(reaction)?.has(userId));
  }

  /** Fill `container` with one line per reaction given: emoji (hidden) and words. */
  render(container, messageId, nameOf, me) {
    const byReaction = this.byMessage.get(messageId) || new Map();
    const lines = [];
    for (const { key, emoji } of REACTIONS) {
      const users = [...(byReaction.get(key) || [])];
      if (!users.length) continue;
      // "You" first, then the others in the order they reacted.
      const names = users.sort((a, b) => (b === me) - (a === me))
        .map((id) => (id === me ? t('reaction.you') : nameOf(id) || t('people.someone')));
      lines.push(el('li', { class: `reaction-line reaction-${key}` },
        el('span', { class: 'reaction-emoji', text: emoji, attrs: { 'aria-hidden': 'true' } }),
        ` ${t(`reaction.${key}.given`, { names: formatList(names), count: names.length })}`));
    }
    container.hidden = lines.length === 0;
    return replace(container, lines);
  }
}
