// Signing in and creating an account (PROTOCOL §2). The server keeps the session in an
// HttpOnly cookie; the token in the login answer is deliberately ignored.

import { el, field } from './dom.js';
import { api } from './api.js';
import { describeError } from './wording.js';
import { language, t } from './i18n.js';
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
  const user = field(t('auth.username'), el('input', { type: 'text', name: 'username', autocomplete: 'username', required: true, value: username }));
  const pass = field(t('auth.password'), el('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true }));
  const message = el('p', { class: 'form-error', attrs: { role: 'alert' } });
  const submit = el('button', { type: 'submit', class: 'primary', text: t('auth.sign_in') });
  const form = el('form', { class: 'card auth-form', aria: { labelledby: 'login-title' } },
    el('h1', { id: 'login-title', text: t('auth.login.title') }),
    el('p', { class: 'calm', text: t('auth.login.intro') }),
    notice ? el('p', { class: 'notice', text: notice }) : null,
    user.wrap, pass.wrap, message,
    el('div', { class: 'button-row' }, submit,
      el('button', { type: 'button', class: 'link', text: t('auth.login.to_register'), on: { click: showRegister } })));
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
  const user = field(t('auth.username'), el('input', {
    type: 'text', name: 'username', autocomplete: 'username', required: true, minLength: 3, maxLength: 32,
    pattern: '[A-Za-z0-9][A-Za-z0-9_.\\-]{2,31}',
  }), t('auth.username.hint'));
  const display = field(t('auth.display_name'), el('input', {
    type: 'text', name: 'display_name', autocomplete: 'nickname', maxLength: 64,
  }), t('auth.display_name.hint'));
  const pass = field(t('auth.password'), el('input', {
    type: 'password', name: 'password', autocomplete: 'new-password', required: true, minLength: 8, maxLength: 128,
  }), t('auth.password.hint'));
  const message = el('p', { class: 'form-error', attrs: { role: 'alert' } });
  const submit = el('button', { type: 'submit', class: 'primary', text: t('auth.register.submit') });
  const form = el('form', { class: 'card auth-form', aria: { labelledby: 'register-title' } },
    el('h1', { id: 'register-title', text: t('auth.register.title') }),
    el('p', { class: 'calm', text: t('auth.register.intro') }),
    user.wrap, display.wrap, pass.wrap, message,
    el('div', { class: 'button-row' }, submit,
      el('button', { type: 'button', class: 'link', text: t('auth.register.to_login'), on: { click: () => showLogin() } })));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    message.textContent = '';
    const body = { username: user.input.value, password: pass.input.value, language: language() };
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
      showLogin(t('auth.register.done'), body.username);
    }
  });
  queueMicrotask(() => user.input.focus());
  return form;
}
