// A minimal admin page: create a room, give someone a role in it.

import { el, field } from './dom.js';
import { api, describeError } from './api.js';
import { scheduleForm } from './admin-schedule.js';

function select(name, options, value) {
  return el('select', { name }, options.map(([v, label]) => el('option', { value: v, text: label, selected: v === value })));
}

function result(node, ok, text) {
  node.className = ok ? 'notice' : 'form-error';
  node.textContent = text;
}

/** The admin page. */
export function adminView() {
  const node = el('section', { class: 'admin' },
    el('h1', { text: 'Administration' }),
    el('div', { class: 'admin-grid' }, createRoomForm(), roleForm(), scheduleForm()));
  return { node, destroy() {} };
}

function createRoomForm() {
  const slug = field('Slug (address)', el('input', { type: 'text', name: 'slug', required: true, minLength: 2, maxLength: 64, pattern: '[a-z0-9][a-z0-9\\-]{1,63}' }),
    '2–64 of a–z, 0–9 and -, e.g. tuesday-evening');
  const title = field('Title', el('input', { type: 'text', name: 'title', required: true, maxLength: 200 }));
  const description = field('Description', el('textarea', { name: 'description', rows: 2 }));
  const agreement = field('Group agreement (optional)', el('textarea', { name: 'agreement', rows: 4 }),
    'Members accept it before they first enter, and again when it changes.');
  const access = field('Who may enter', select('access',
    [['open', 'Anyone signed in'], ['members', 'Only people given a role'], ['approval', 'Waiting room: a facilitator admits each person']], 'open'));
  const transcripts = field('Transcript', select('transcripts',
    [['off', 'Off: nothing is recorded'], ['opt_in', 'Opt-in: only messages of people who consent']], 'off'));
  const message = el('p', { attrs: { role: 'status' } });
  const form = el('form', { class: 'card', aria: { labelledby: 'create-room-title' } },
    el('h2', { id: 'create-room-title', text: 'Create a room' }),
    slug.wrap, title.wrap, description.wrap, agreement.wrap, access.wrap, transcripts.wrap, message,
    el('button', { type: 'submit', class: 'primary', text: 'Create room' }));
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
      result(message, true, `Created “${room.title}”. Its address is #/room/${room.slug}.`);
      form.reset();
    } catch (error) {
      result(message, false, describeError(error));
    }
  });
  return form;
}

function roleForm() {
  const slug = field('Room slug', el('input', { type: 'text', name: 'room', required: true }));
  const username = field('Username', el('input', { type: 'text', name: 'username', required: true }));
  const role = field('Role', select('role', [['member', 'Member'], ['facilitator', 'Facilitator']], 'member'));
  const message = el('p', { attrs: { role: 'status' } });
  const form = el('form', { class: 'card', aria: { labelledby: 'role-title' } },
    el('h2', { id: 'role-title', text: 'Set a role' }),
    slug.wrap, username.wrap, role.wrap, message,
    el('button', { type: 'submit', class: 'primary', text: 'Set role' }));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const path = `/api/admin/rooms/${encodeURIComponent(slug.input.value.trim())}/roles/${encodeURIComponent(username.input.value.trim())}`;
    try {
      const data = await api('PUT', path, { role: role.input.value });
      result(message, true, `${data.user.display_name} is now a ${data.role} in ${slug.input.value.trim()}.`);
    } catch (error) {
      result(message, false, error.status === 404 ? 'No such room or user.' : describeError(error));
    }
  });
  return form;
}
