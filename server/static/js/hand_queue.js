// Raised hands as a facilitator sees them: an ordered queue (who raised first is first),
// restored from `welcome.hands` after a reload, each with "Lower Sam's hand".

import { el, replace } from './dom.js';
import { t } from './i18n.js';

export class HandQueue {
  /** `room` gives mod() and nameOf(). */
  constructor(room) {
    this.room = room;
    this.count = el('span', { class: 'count-badge' });
    this.list = el('ol', { class: 'hand-list' });
    this.node = el('div', {}, el('h3', {}, `${t('hands.title')} `, this.count), this.list);
    this.render([]);
  }

  render(order) {
    this.count.textContent = String(order.length);
    if (!order.length) {
      replace(this.list, el('li', { class: 'hint', text: t('hands.none') }));
      return;
    }
    replace(this.list, order.map((userId) => {
      const name = this.room.nameOf(userId) || t('people.someone');
      return el('li', { class: 'hand', dataset: { userId } },
        el('span', { class: 'member-name', text: name }),
        el('button', { type: 'button', class: 'quiet small', text: t('hands.lower', { name }),
          on: { click: () => this.room.mod('lower_hand', { user_id: userId }) } }));
    }));
  }
}
