// What needs a facilitator's look: crisis flags (apart, first, with the next step), other
// flags (resolved on the server with `resolve_flag`, so every facilitator sees it go) and
// held messages (approve or discard). Open items arrive on entering; the server sends them.

import { clock, el, replace } from './dom.js';
import { t } from './i18n.js';
import { confirmButton } from './menu.js';

export class ReviewQueue {
  /** `room` gives mod(), nameOf(), showMemberActions(userId), canModerate(userId). */
  constructor(room) {
    this.room = room;
    this.flags = new Map(); // flag id -> flag, oldest first
    this.held = new Map(); // held id -> held message
    this.crisisList = el('ul', { class: 'flag-list' });
    this.crisisNode = el('section', { class: 'panel crisis-flags', hidden: true, aria: { labelledby: 'crisis-flags-title' } },
      el('h2', { id: 'crisis-flags-title', text: t('review.crisis.title') }), this.crisisList);
    this.flagCount = el('span', { class: 'count-badge' });
    this.flagList = el('ul', { class: 'flag-list' });
    this.heldCount = el('span', { class: 'count-badge' });
    this.heldList = el('ul', { class: 'held-list' });
    this.flagsNode = el('div', { class: 'review' },
      el('h3', { id: 'flags-title' }, `${t('mod.flags.title')} `, this.flagCount), this.flagList);
    this.heldNode = el('div', { class: 'review' },
      el('h3', { id: 'held-title' }, `${t('review.held.title')} `, this.heldCount), this.heldList);
    this.onCrisisChange = () => {};
    this.render();
  }

  static isCrisis(flag) {
    return flag.source === 'hook' && flag.hook === 'crisis';
  }

  crisisCount() {
    return [...this.flags.values()].filter(ReviewQueue.isCrisis).length;
  }

  /** Forget everything: the server sends what is still open after each welcome. */
  clear() {
    this.flags.clear();
    this.held.clear();
    this.render();
  }

  flag(frame) {
    this.flags.set(frame.flag_id, frame);
    this.render();
  }

  resolved(flagId) {
    if (this.flags.delete(flagId)) this.render();
  }

  /** A message was deleted: its open flags keep no excerpt (as the server's do). */
  messageGone(messageId) {
    let changed = false;
    for (const flag of this.flags.values()) {
      if (flag.message_id === messageId && flag.excerpt !== null) {
        flag.excerpt = null;
        changed = true;
      }
    }
    if (changed) this.render();
  }

  hold(frame) {
    this.held.set(frame.held_id, frame);
    this.render();
  }

  reviewed(heldId) {
    if (this.held.delete(heldId)) this.render();
  }

  render() {
    const flags = [...this.flags.values()].sort((a, b) => (a.ts || 0) - (b.ts || 0));
    const crisis = flags.filter(ReviewQueue.isCrisis);
    const others = flags.filter((f) => !ReviewQueue.isCrisis(f));
    this.crisisNode.hidden = crisis.length === 0;
    replace(this.crisisList, crisis.map((f) => this.flagItem(f, true)));
    this.flagCount.textContent = String(others.length);
    replace(this.flagList, others.length
      ? others.map((f) => this.flagItem(f, false))
      : el('li', { class: 'hint', text: t('mod.flags.none') }));
    this.heldCount.textContent = String(this.held.size);
    replace(this.heldList, this.held.size
      ? [...this.held.values()].map((h) => this.heldItem(h))
      : el('li', { class: 'hint', text: t('review.held.none') }));
    this.onCrisisChange(crisis.length);
  }

  flagItem(flag, crisis) {
    const author = this.room.nameOf(flag.user_id) || t('mod.flag.someone_who_left');
    const reporter = flag.reported_by ? (this.room.nameOf(flag.reported_by) || t('mod.flag.a_member')) : null;
    let origin = t('mod.flag.automatic');
    if (flag.source === 'report') origin = t('mod.flag.reported_by', { name: reporter });
    else if (crisis) origin = t('review.crisis.origin');
    else if (flag.hook) origin = t('mod.flag.automatic_hook', { hook: flag.hook });
    const buttons = [];
    if (flag.user_id && this.room.canModerate(flag.user_id)) buttons.push(this.room.checkInFor(flag.user_id));
    if (crisis && this.room.canModerate(flag.user_id)) {
      buttons.push(el('button', { type: 'button', class: 'primary small',
        text: t('review.crisis.next', { name: author }),
        on: { click: () => this.room.showMemberActions(flag.user_id) } }));
    }
    if (flag.message_id && flag.excerpt !== null && flag.excerpt !== undefined) {
      buttons.push(confirmButton(t('mod.flag.delete'), t('message.delete.confirm'),
        () => this.room.mod('delete', { message_id: flag.message_id }), 'quiet small'));
    }
    buttons.push(el('button', { type: 'button', class: 'quiet small', text: t('review.flag.resolve'),
      on: { click: () => this.room.mod('resolve_flag', { flag_id: flag.flag_id }) } }));
    return el('li', { class: crisis ? 'flag crisis-flag' : 'flag', dataset: { flagId: flag.flag_id } },
      el('p', { class: 'hint' }, t('mod.flag.origin', { origin, author }), flag.ts ? ' · ' : '', flag.ts ? clock(flag.ts) : null),
      el('p', { class: 'flag-reason', text: flag.reason || '' }),
      flag.excerpt !== null && flag.excerpt !== undefined
        ? el('blockquote', { class: 'excerpt', text: flag.excerpt })
        : el('p', { class: 'hint', text: t('mod.flag.gone') }),
      el('div', { class: 'button-row' }, buttons));
  }

  heldItem(held) {
    const name = held.author.display_name;
    return el('li', { class: 'held', dataset: { heldId: held.held_id } },
      el('p', { class: 'hint' }, t('review.held.by', { name, username: held.username }), ' · ', clock(held.ts)),
      el('p', { class: 'flag-reason', text: held.reason || '' }),
      el('blockquote', { class: 'excerpt', text: held.body }),
      el('div', { class: 'button-row' },
        el('button', { type: 'button', class: 'primary small', text: t('review.held.approve', { name }),
          on: { click: () => this.room.mod('approve', { held_id: held.held_id }) } }),
        confirmButton(t('review.held.discard', { name }), t('review.held.discard.confirm', { name }),
          () => this.room.mod('discard', { held_id: held.held_id }), 'quiet small')));
  }
}
