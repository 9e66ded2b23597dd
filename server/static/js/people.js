// Who is here: the member list (raised hands first, in the order raised) and the typing
// indicator.

import { el, replace } from './dom.js';
import { formatList, t } from './i18n.js';

const TYPING_EXPIRES_MS = 4000;

export class MemberList {
  /** `actionsFor(participant)` returns extra controls for facilitators, or null. */
  constructor(room, actionsFor) {
    this.room = room;
    this.actionsFor = actionsFor;
    this.members = new Map(); // id -> participant
    this.hands = []; // user ids, who raised first first
    this.muted = new Set();
    // Facilitator controls per person, kept across re-renders so an open panel and a
    // half-typed reason survive someone else raising a hand.
    this.actionNodes = new Map(); // `${id}:${role}` -> node or null
    this.count = el('span', { class: 'count-badge' });
    this.list = el('ul', { class: 'member-list' });
    this.node = el('section', { class: 'panel members', aria: { labelledby: 'members-title' } },
      el('h2', { id: 'members-title' }, `${t('people.title')} `, this.count), this.list);
  }

  reset(participants) {
    this.members = new Map(participants.map((p) => [p.id, p]));
    this.render();
  }

  join(participant) {
    this.members.set(participant.id, participant);
    this.render();
  }

  leave(participant) {
    this.members.delete(participant.id);
    this.actionNodes.delete(`${participant.id}:${participant.role}`);
    this.render();
  }

  /** The raised hands, oldest first. */
  setHands(order) {
    this.hands = order;
    this.render();
  }

  setMuted(userId, muted) {
    if (muted) this.muted.add(userId);
    else this.muted.delete(userId);
    this.render();
  }

  name(userId) {
    const p = this.members.get(userId);
    return p ? p.display_name : null;
  }

  has(userId) {
    return this.members.has(userId);
  }

  role(userId) {
    return this.members.get(userId)?.role ?? null;
  }

  /** Open a person's facilitator controls and move focus to them. */
  showActions(userId) {
    const details = this.list.querySelector(`.member[data-user-id="${CSS.escape(userId)}"] details`);
    if (!details) return false;
    details.open = true;
    details.querySelector('summary').focus();
    details.scrollIntoView({ block: 'nearest' });
    return true;
  }

  render() {
    const me = this.room.me().id;
    const handAt = (id) => {
      const at = this.hands.indexOf(id);
      return at === -1 ? Infinity : at;
    };
    const people = [...this.members.values()].sort((a, b) => {
      // Raised hands first (in the order raised), then facilitators, then by name.
      if (handAt(a.id) !== handAt(b.id)) return handAt(a.id) - handAt(b.id);
      const fa = a.role === 'member' ? 1 : 0;
      const fb = b.role === 'member' ? 1 : 0;
      if (fa !== fb) return fa - fb;
      return a.display_name.localeCompare(b.display_name);
    });
    this.count.textContent = String(people.length);
    replace(this.list, people.map((p) => el('li', { class: 'member', dataset: { userId: p.id } },
      el('div', { class: 'member-line' },
        el('span', { class: 'member-name', text: p.display_name }),
        p.id === me ? el('span', { class: 'hint', text: t('people.you') }) : null,
        p.role !== 'member' ? el('span', { class: `badge role-${p.role}`, text: t(`role.${p.role}`) }) : null,
        this.muted.has(p.id) ? el('span', { class: 'badge muted', text: t('people.muted') }) : null,
        handAt(p.id) !== Infinity
          ? el('span', { class: 'badge hand', text: t('people.hand_raised', { position: handAt(p.id) + 1 }) })
          : null),
      p.id === me ? null : this.actions(p))));
  }

  actions(person) {
    const key = `${person.id}:${person.role}`;
    if (!this.actionNodes.has(key)) this.actionNodes.set(key, this.actionsFor(person));
    return this.actionNodes.get(key);
  }
}

export class TypingIndicator {
  constructor(nameOf) {
    this.nameOf = nameOf;
    this.typists = new Map(); // user id -> timer
    this.node = el('p', { class: 'typing' });
  }

  show(userId) {
    clearTimeout(this.typists.get(userId));
    this.typists.set(userId, setTimeout(() => this.clear(userId), TYPING_EXPIRES_MS));
    this.render();
  }

  clear(userId) {
    if (!this.typists.has(userId)) return;
    clearTimeout(this.typists.get(userId));
    this.typists.delete(userId);
    this.render();
  }

  render() {
    const names = [...this.typists.keys()].map((id) => this.nameOf(id) || t('people.someone'));
    let text = '';
    if (names.length === 1) text = t('people.typing.one', { name: names[0] });
    else if (names.length === 2) text = t('people.typing.two', { names: formatList(names) });
    else if (names.length > 2) text = t('people.typing.many');
    this.node.textContent = text;
  }
}
