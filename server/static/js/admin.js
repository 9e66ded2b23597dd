// A minimal admin page: create a room, give someone a role in it.

import { el, field } from './dom.js';
import { api } from './api.js';
import { describeError } from './wording.js';
import { t } from './i18n.js';
import { scheduleForm } from './admin-schedule.js';
import { usersSection } from './admin-users.js';

function select(name, options, value) {
  return el('select', { name }, options.map(([v, label]) => el('option', { value: v, text: label, selected: v === value })));
}

function result(node, ok, text) {
  node.className = ok ? 'notice' : 'form-error';
  node.textContent = text;
}

/** The admin page. */
export function adminView(me) {
  const node = el('section', { class: 'admin' },
    el('h1', { text: t('admin.title') }),
    el('div', { class: 'admin-grid' }, createRoomForm(), roleForm(), scheduleForm()),
    usersSection(me?.id));
  return { node, destroy() {} };
}

function createRoomForm() {
  const slug = field(t('admin.room.slug'), el('input', { type: 'text', name: 'slug', required: true, minLength: 2, maxLength: 64, pattern: '[a-z0-9][a-z0-9\\-]{1,63}' }),
    t('admin.room.slug.hint'));
  const title = field(t('admin.room.title'), el('input', { type: 'text', name: 'title', required: true, maxLength: 200 }));
  const description = field(t('admin.room.description'), el('textarea', { name: 'description', rows: 2 }));
  const agreement = field(t('admin.room.agreement'), el('textarea', { name: 'agreement', rows: 4 }),
    t('admin.room.agreement.hint'));
  const access = field(t('admin.room.access'), select('access',
    ['open', 'members', 'approval'].map((v) => [v, t(`admin.room.access.${v}`)]), 'open'));
  const transcripts = field(t('admin.room.transcripts'), select('transcripts',
    ['off', 'opt_in'].map((v) => [v, t(`admin.room.transcripts.${v}`)]), 'off'));
  const message = el('p', { attrs: { role: 'status' } });
  const form = el('form', { class: 'card', aria: { labelledby: 'create-room-title' } },
    el('h2', { id: 'create-room-title', text: t('admin.create.title') }),
    slug.wrap, title.wrap, description.wrap, agreement.wrap, access.wrap, transcripts.wrap, message,
    el('button', { type: 'submit', class: 'primary', text: t('admin.create.submit') }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = {
      slug: slug.input.value.trim(),
      title: title.input.value,
      description: description.input.value,
      access: access.input.value,
      transcripts: transcripts.input.value,
    };
    if (agreement.input.value.trim()) body.agreement = agreement.input.value;
    try {
      const { room } = await api('POST', '/api/admin/rooms', body);
      result(message, true, t('admin.create.done', { title: room.title, address: `#/room/${room.slug}` }));
      form.reset();
    } catch (error) {
      result(message, false, describeError(error));
    }
  });
  return form;
}

function roleForm() {
  const slug = field(t('admin.role.room'), el('input', { type: 'text', name: 'room', required: true }));
  const username = field(t('auth.username'), el('input', { type: 'text', name: 'username', required: true }));
  const role = field(t('admin.role.role'), select('role', ['member', 'facilitator'].map((v) => [v, t(`admin.role.${v}`)]), 'member'));
  const message = el('p', { attrs: { role: 'status' } });
  const form = el('form', { class: 'card', aria: { labelledby: 'role-title' } },
    el('h2', { id: 'role-title', text: t('admin.role.title') }),
    slug.wrap, username.wrap, role.wrap, message,
    el('button', { type: 'submit', class: 'primary', text: t('admin.role.submit') }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const path = `/api/admin/rooms/${encodeURIComponent(slug.input.value.trim())}/roles/${encodeURIComponent(username.input.value.trim())}`;
    try {
      const data = await api('PUT', path, { role: role.input.value });
      result(message, true, t('admin.role.done', { name: data.user.display_name, role: t(`role.${data.role}`), room: slug.input.value.trim() }));
    } catch (error) {
      result(message, false, error.status === 404 ? t('admin.role.not_found') : describeError(error));
    }
  });
  return form;
}
