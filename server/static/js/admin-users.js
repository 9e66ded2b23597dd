// The admin page's list of users (GET /api/admin/users): search by username, role holdings
// and disabled; disable or enable an account after a confirmation in place (a disabled
// account's sessions end at once and it cannot sign in until enabled again).

import { el, field, replace } from './dom.js';
import { api } from './api.js';
import { describeError } from './wording.js';
import { t, formatDate } from './i18n.js';

const PAGE = 50;

function select(name, options) {
  return el('select', { name }, options.map(([value, label]) => el('option', { value, text: label })));
}

/** The users section of the admin page; `myId`: the admin's own (not to be disabled). */
export function usersSection(myId) {
  const q = field(t('admin_users.search'), el('input', {
    type: 'search', name: 'q', maxLength: 32, autocomplete: 'off',
  }), t('admin_users.search_hint'));
  const role = field(t('admin_users.role'), select('role', [
    ['', t('admin_users.role_any')], ['admin', t('admin_users.role_admin')],
    ['facilitator', t('admin_users.role_facilitator')], ['member', t('admin_users.role_member')],
    ['none', t('admin_users.role_none')],
  ]));
  const state = field(t('admin_users.state'), select('disabled', [
    ['', t('admin_users.state_any')], ['false', t('admin_users.state_active')], ['true', t('admin_users.state_disabled')],
  ]));
  const list = el('ul', { class: 'user-list', aria: { labelledby: 'users-title' } });
  const message = el('p', { attrs: { role: 'status' } });
  const more = el('button', { type: 'button', class: 'quiet', hidden: true, text: t('admin_users.more') });
  const form = el('form', { class: 'user-search', attrs: { role: 'search' } },
    q.wrap, role.wrap, state.wrap,
    el('button', { type: 'submit', class: 'primary', text: t('admin_users.find') }));
  const node = el('section', { class: 'card admin-users', aria: { labelledby: 'users-title' } },
    el('h2', { id: 'users-title', text: t('admin_users.title') }), form, message, list, more);
  let last = null;

  async function load(append) {
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (q.input.value.trim()) params.set('q', q.input.value.trim().toLowerCase());
    if (role.input.value) params.set('role', role.input.value);
    if (state.input.value) params.set('disabled', state.input.value);
    if (append && last) params.set('before', last);
    try {
      const { users } = await api('GET', `/api/admin/users?${params}`);
      if (!append) replace(list);
      list.append(...users.map((user) => userRow(user, message, user.id === myId)));
      last = users.length ? users[users.length - 1].id : last;
      more.hidden = users.length < PAGE;
      message.className = '';
      message.textContent = append ? '' : t('admin_users.found', { count: users.length });
    } catch (error) {
      message.className = 'form-error';
      message.textContent = describeError(error);
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    last = null;
    load(false);
  });
  more.addEventListener('click', () => load(true));
  load(false);
  return node;
}

function roleText(user) {
  const parts = [];
  if (user.is_admin) parts.push(t('admin_users.role_admin'));
  for (const { room, role } of user.roles) {
    parts.push(t(role === 'facilitator' ? 'admin_users.facilitator_in' : 'admin_users.member_in', { room }));
  }
  return parts.length ? parts.join(', ') : t('admin_users.no_roles');
}

function userRow(user, message, isMe) {
  const row = el('li', { class: 'user-row', dataset: { username: user.username } });
  const render = () => {
    const toggle = el('button', {
      type: 'button', class: user.disabled ? 'quiet small' : 'danger small',
      text: user.disabled ? t('admin_users.enable') : t('admin_users.disable'),
      aria: { label: t(user.disabled ? 'admin_users.enable_who' : 'admin_users.disable_who', { name: user.username }) },
    });
    toggle.addEventListener('click', () => confirmChange(row, user, message, render));
    replace(row,
      el('div', { class: 'user-who' },
        el('strong', { text: user.display_name }), ' ',
        el('span', { class: 'calm', text: `@${user.username}` }),
        user.disabled ? el('span', { class: 'badge setting-locked', text: t('admin_users.state_disabled') }) : null),
      el('div', { class: 'hint', text: roleText(user) }),
      el('div', { class: 'hint', text: t('admin_users.joined', { date: formatDate(user.created_at, { dateStyle: 'medium' }) }) }),
      isMe ? null : el('div', { class: 'button-row' }, toggle));
  };
  render();
  return row;
}

function confirmChange(row, user, message, render) {
  const disabling = !user.disabled;
  const yes = el('button', { type: 'button', class: disabling ? 'danger small' : 'primary small',
    text: disabling ? t('admin_users.confirm_disable') : t('admin_users.confirm_enable') });
  const no = el('button', { type: 'button', class: 'quiet small', text: t('admin_users.cancel') });
  const question = el('p', { text: t(disabling ? 'admin_users.ask_disable' : 'admin_users.ask_enable', { name: user.username }) });
  const box = el('div', { class: 'confirm', attrs: { role: 'group' }, aria: { label: t('admin_users.confirm_label') } },
    question, el('div', { class: 'button-row' }, yes, no));
  row.querySelector('.button-row').replaceWith(box);
  no.focus();
  no.addEventListener('click', () => {
    render();
    row.querySelector('button').focus();
  });
  yes.addEventListener('click', async () => {
    try {
      const { user: changed } = await api('PATCH', `/api/admin/users/${encodeURIComponent(user.username)}`, { disabled: disabling });
      user.disabled = changed.disabled;
      message.className = 'notice';
      message.textContent = t(changed.disabled ? 'admin_users.disabled_done' : 'admin_users.enabled_done', { name: user.username });
    } catch (error) {
      message.className = 'form-error';
      message.textContent = describeError(error);
    }
    render();
    row.querySelector('button').focus();
  });
}
