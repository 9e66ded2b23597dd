// The waiting room as a facilitator sees it: who is knocking, oldest first, each with
// "Admit Sam" and "Deny Sam"; a knock goes when the person is answered or leaves.

import { el, replace } from './dom.js';
import { t } from './i18n.js';

export class KnockList {
  /** `room` gives mod(); `say(text)` speaks on the facilitator's status line. */
  constructor(room, say) {
    this.room = room;
    this.say = say;
    this.knocks = new Map(); // user id -> user
    this.count = el('span', { class: 'count-badge' });
    this.list = el('ul', { class: 'knock-list' });
    this.node = el('div', {}, el('h3', {}, `${t('mod.knocks.title')} `, this.count), this.list);
    this.render();
  }

  name(userId) {
    return this.knocks.get(userId)?.display_name ?? null;
  }

  knock(user) {
    this.knocks.set(user.id, user);
    this.render();
    this.say(t('mod.knock.arrived', { name: user.display_name }));
  }

  /** Answered (admitted, denied) or gone (`knock_withdrawn`). */
  answered(userId) {
    if (this.knocks.delete(userId)) this.render();
  }

  withdrawn(userId) {
    const name = this.name(userId);
    if (!name) return;
    this.answered(userId);
    this.say(t('mod.knock.withdrawn', { name }));
  }

  clear() {
    this.knocks.clear();
    this.render();
  }

  render() {
    this.count.textContent = String(this.knocks.size);
    if (!this.knocks.size) {
      replace(this.list, el('li', { class: 'hint', text: t('mod.knocks.none') }));
      return;
    }
    replace(this.list, [...this.knocks.values()].map((user) => el('li', { class: 'knock', dataset: { userId: user.id } },
      el('span', { class: 'member-name', text: user.display_name }),
      el('span', { class: 'hint', text: ` ${t('mod.knock.username', { username: user.username })}` }),
      el('div', { class: 'button-row' },
        el('button', { type: 'button', class: 'primary small', text: t('mod.knock.admit', { name: user.display_name }),
          on: { click: () => this.room.mod('admit', { user_id: user.id }, () => this.answered(user.id)) } }),
        el('button', { type: 'button', class: 'quiet small', text: t('mod.knock.deny', { name: user.display_name }),
          on: { click: () => this.room.mod('deny', { user_id: user.id }, () => this.answered(user.id)) } })))));
  }
}
