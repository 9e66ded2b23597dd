// Who holds which role in one room (GET /api/admin/rooms/{slug}/roles), with add and remove.

import { el, field, replace, uid } from './dom.js';
import { api } from './api.js';
import { t } from './i18n.js';
import { describeError } from './wording.js';
import { confirmButton } from './menu.js';

export function rolesPanel(room) {
  const path = (username = '') => `/api/admin/rooms/${encodeURIComponent(room.slug)}/roles${username ? `/${encodeURIComponent(username)}` : ''}`;
  const list = el('ul', { class: 'role-list' });
  const message = el('p', { attrs: { role: 'status' } });
  const username = field(t('auth.username'), el('input', { type: 'text', name: 'username', required: true, autocomplete: 'off' }));
  const role = field(t('admin.role.role'), el('select', { name: 'role' },
    ['member', 'facilitator'].map((v) => el('option', { value: v, text: t(`admin.role.${v}`) }))));
  const titleId = uid('roles');
  const say = (ok, text) => {
    message.className = ok ? 'notice' : 'form-error';
    message.textContent = text;
  };

  async function load() {
    try {
      const { roles } = await api('GET', path());
      if (!roles.length) {
        replace(list, el('li', { class: 'hint', text: t('admin.roles.none') }));
        return;
      }
      replace(list, roles.map(({ user, role: held }) => el('li', { class: 'role-row' },
        el('span', { class: 'member-name', text: user.display_name }),
        el('span', { class: 'hint', text: ` ${t('mod.knock.username', { username: user.username })} · ${t(`admin.role.${held}`)}` }),
        confirmButton(t('admin.roles.remove', { name: user.display_name }), t('admin.roles.remove.confirm', { name: user.display_name }),
          () => remove(user), 'quiet small'))));
    } catch (error) {
      replace(list, el('li', { class: 'form-error', text: describeError(error) }));
    }
  }

  async function remove(user) {
    try {
      await api('DELETE', path(user.username));
      say(true, t('admin.roles.removed', { name: user.display_name }));
    } catch (error) {
      say(false, describeError(error));
    }
    load();
  }

  const form = el('form', { class: 'inline-form role-form' }, username.wrap, role.wrap,
    el('button', { type: 'submit', class: 'primary', text: t('admin.role.submit') }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const data = await api('PUT', path(username.input.value.trim()), { role: role.input.value });
      say(true, t('admin.role.done', { name: data.user.display_name, role: t(`role.${data.role}`), room: room.title }));
      username.input.value = '';
    } catch (error) {
      say(false, error.status === 404 ? t('admin.role.not_found') : describeError(error));
    }
    load();
  });
  load();
  return el('section', { class: 'card', aria: { labelledby: titleId } },
    el('h2', { id: titleId, text: t('admin.roles.title', { title: room.title }) }),
    list, el('h3', { text: t('admin.role.title') }), form, message);
}
