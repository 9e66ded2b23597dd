// Signing in and creating an account (PROTOCOL §2). The server keeps the session in an
// HttpOnly cookie; the token in the login answer is deliberately ignored.

import { el, field } from './dom.js';
import { api, describeError } from './api.js';
import { codeStep } from './second-step.js';

/** The sign-in page; `onSignedIn(user, setupRequired)` once the cookie is set; `notice`
 * says why the person is here (e.g. signed out automatically). */
export function authView(onSignedIn, notice) {
  const node = el('section', { class: 'auth' });
  const showLogin = (notice, username) => node.replaceChildren(loginForm(onSignedIn, showRegister, notice, username));
  const showRegister = () => node.replaceChildren(registerForm(onSignedIn, showLogin));
  showLogin(notice);
  return { node, destroy() {} };
}

function loginForm(onSignedIn, showRegister, notice, username = '') {
  const user = field('Username', el('input', { type: 'text', name: 'username', autocomplete: 'username', required: true, value: username }));
  const pass = field('Password', el('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true }));
  const message = el('p', { class: 'form-error', attrs: { role: 'alert' } });
  const submit = el('button', { type: 'submit', class: 'primary', text: 'Sign in' });
  const form = el('form', { class: 'card auth-form', aria: { labelledby: 'login-title' } },
    el('h1', { id: 'login-title', text: 'Welcome back' }),
    el('p', { class: 'calm', text: 'Sign in to join your group.' }),
    notice ? el('p', { class: 'notice', text: notice }) : null,
    user.wrap, pass.wrap, message,
    el('div', { class: 'button-row' }, submit,
      el('button', { type: 'button', class: 'link', text: 'New here? Create an account', on: { click: showRegister } })));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    message.textContent = '';
    try {
      const data = await api('POST', '/api/auth/login', { username: user.input.value, password: pass.input.value });
      onSignedIn(data.user, data.totp_setup_required);
    } catch (error) {
      if (error.code === 'totp_required') {
        const done = (data) => onSignedIn(data.user, data.totp_setup_required);
        const step = codeStep(user.input.value, pass.input.value, done, () => {
          step.replaceWith(form);
          pass.input.value = '';
          pass.input.focus();
        });
        form.replaceWith(step);
        return;
      }
      message.textContent = describeError(error);
      pass.input.value = '';
      pass.input.focus();
    } finally {
      submit.disabled = false;
    }
  });
  queueMicrotask(() => (username ? pass.input : user.input).focus());
  return form;
}

function registerForm(onSignedIn, showLogin) {
  const user = field('Username', el('input', {
    type: 'text', name: 'username', autocomplete: 'username', required: true, minLength: 3, maxLength: 32,
    pattern: '[A-Za-z0-9][A-Za-z0-9_.\\-]{2,31}',
  }), '3–32 letters, digits, _ . or -. Others in your group see your display name, not this.');
  const display = field('Display name (optional)', el('input', {
    type: 'text', name: 'display_name', autocomplete: 'nickname', maxLength: 64,
  }), 'A first name or a nickname is fine.');
  const pass = field('Password', el('input', {
    type: 'password', name: 'password', autocomplete: 'new-password', required: true, minLength: 8, maxLength: 128,
  }), 'At least 8 characters. A few random words work well.');
  const message = el('p', { class: 'form-error', attrs: { role: 'alert' } });
  const submit = el('button', { type: 'submit', class: 'primary', text: 'Create account' });
  const form = el('form', { class: 'card auth-form', aria: { labelledby: 'register-title' } },
    el('h1', { id: 'register-title', text: 'Create an account' }),
    el('p', { class: 'calm', text: 'You choose what to share. Nothing here is public.' }),
    user.wrap, display.wrap, pass.wrap, message,
    el('div', { class: 'button-row' }, submit,
      el('button', { type: 'button', class: 'link', text: 'I already have an account', on: { click: () => showLogin() } })));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    message.textContent = '';
    const body = { username: user.input.value, password: pass.input.value };
    if (display.input.value.trim()) body.display_name = display.input.value;
    try {
      await api('POST', '/api/auth/register', body);
    } catch (error) {
      message.textContent = describeError(error);
      submit.disabled = false;
      return;
    }
    // Registration signs nobody in; do it now so the person lands in the room list.
    try {
      const data = await api('POST', '/api/auth/login', { username: body.username, password: body.password });
      onSignedIn(data.user);
    } catch {
      showLogin('Your account is ready. Please sign in.', body.username);
    }
  });
  queueMicrotask(() => user.input.focus());
  return form;
}
