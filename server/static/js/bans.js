// Who is banned from this room (GET /api/rooms/{slug}/bans), each with "Lift the ban on Sam".

import { clock, el, replace } from './dom.js';
import { api } from './api.js';
import { t } from './i18n.js';
import { describeError } from './wording.js';
import { confirmButton } from './menu.js';

export class BanList {
  /** `room` gives slug() and mod(). */
  constructor(room) {
    this.room = room;
    this.count = el('span', { class: 'count-badge' });
    this.list = el('ul', { class: 'ban-list' });
    this.node = el('div', {}, el('h3', {}, `${t('bans.title')} `, this.count), this.list);
    this.names = new Map();
  }

  name(userId) {
    return this.names.get(userId) ?? null;
  }

  async refresh() {
    try {
      const { bans } = await api('GET', `/api/rooms/${encodeURIComponent(this.room.slug())}/bans`);
      this.render(bans);
    } catch (error) {
      replace(this.list, el('li', { class: 'form-error', text: describeError(error) }));
    }
  }

  render(bans) {
    this.count.textContent = String(bans.length);
    for (const ban of bans) this.names.set(ban.user.id, ban.user.display_name);
    if (!bans.length) {
      replace(this.list, el('li', { class: 'hint', text: t('bans.none') }));
      return;
    }
    replace(this.list, bans.map((ban) => {
      const name = ban.user.display_name;
      return el('li', { class: 'ban', dataset: { userId: ban.user.id } },
        el('span', { class: 'member-name', text: name }),
        el('span', { class: 'hint' }, ` ${t('mod.knock.username', { username: ban.user.username })} · `, clock(ban.ts)),
        ban.reason ? el('p', { class: 'hint', text: t('bans.reason', { reason: ban.reason }) }) : null,
        el('div', { class: 'button-row' },
          confirmButton(t('bans.lift', { name }), t('bans.lift.confirm', { name }),
            () => this.room.mod('unban', { user_id: ban.user.id }), 'quiet small')));
    }));
  }
}
