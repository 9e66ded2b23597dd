// The admin page: the list of rooms, a room's settings (create or edit), who holds which
// role in it, the audit log, and the list of users.

import { el, replace } from './dom.js';
import { api } from './api.js';
import { t } from './i18n.js';
import { describeError } from './wording.js';
import { roomForm } from './admin_room_form.js';
import { rolesPanel } from './admin_roles.js';
import { auditPanel } from './admin_audit.js';
import { scheduleForm } from './admin-schedule.js';
import { usersSection } from './admin-users.js';

/** The admin page; `me` is the signed-in admin (whose own account cannot be disabled). */
export function adminView(me) {
  const list = el('ul', { class: 'admin-room-list' });
  const detail = el('div', { class: 'admin-detail' });
  const audit = el('div', { class: 'admin-audit' });
  let rooms = [];
  let selected = null;

  async function loadRooms() {
    try {
      rooms = (await api('GET', '/api/rooms')).rooms;
    } catch (error) {
      replace(list, el('li', { class: 'form-error', text: describeError(error) }));
      return;
    }
    replace(list, rooms.length ? rooms.map((room) => el('li', { class: room.slug === selected ? 'selected' : '' },
      el('button', { type: 'button', class: 'link', text: t('admin.rooms.edit', { title: room.title }),
        aria: room.slug === selected ? { current: 'true' } : undefined,
        on: { click: () => edit(room) } }),
      el('span', { class: 'hint', text: ` ${room.slug}` }))) : el('li', { class: 'hint', text: t('admin.rooms.none') }));
    const slugs = rooms.map((r) => r.slug).join(' ');
    if (audit.dataset.rooms !== slugs) {
      audit.dataset.rooms = slugs;
      replace(audit, auditPanel(rooms));
    }
  }

  function edit(room) {
    selected = room ? room.slug : null;
    const form = roomForm(room, (saved) => {
      selected = saved.slug;
      loadRooms();
      if (!room) edit(saved);
    });
    replace(detail, form.node, room ? scheduleForm(room) : null, room ? rolesPanel(room) : null);
    form.focus();
    loadRooms();
  }

  const node = el('section', { class: 'admin' },
    el('h1', { text: t('admin.title') }),
    el('div', { class: 'admin-grid' },
      el('nav', { class: 'card admin-rooms', aria: { labelledby: 'admin-rooms-title' } },
        el('h2', { id: 'admin-rooms-title', text: t('admin.rooms.title') }),
        list,
        el('button', { type: 'button', class: 'primary', text: t('admin.rooms.new'), on: { click: () => edit(null) } })),
      detail),
    audit,
    usersSection(me?.id));
  edit(null);
  return { node, destroy() {} };
}
