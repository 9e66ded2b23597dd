// Hearth's browser client: who is signed in, and which page to show (hash routes).
//   #/            the room list
//   #/room/SLUG   a room
//   #/admin       the admin page (admins only)

import { el, replace } from './js/dom.js';
import { api } from './js/api.js';
import { authView } from './js/auth.js';
import { roomsView } from './js/rooms.js';
import { roomView } from './js/room.js';
import { adminView } from './js/admin.js';
import { accountView } from './js/account.js';
import { watchSession } from './js/session-timer.js';
import { t } from './js/i18n.js';
import { languagePicker, speakFor } from './js/language.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const skipLink = document.querySelector('.skip-link');
const app = { user: null, view: null, signedOut, setupRequired: false, watch: null, notice: null };

function show(view) {
  app.view?.destroy();
  app.view = view;
  replace(main, view.node);
}

function route() {
  renderNav();
  if (!app.user) {
    const notice = app.notice;
    app.notice = null;
    show(authView(signedIn, notice));
    return;
  }
  const hash = location.hash || '#/';
  if (app.setupRequired) {
    show(accountView({ notice: t('account.setup_required'), onDone: factorOn }));
    main.focus({ preventScroll: true });
    return;
  }
  const roomMatch = hash.match(/^#\/room\/([^/?#]+)$/);
  if (roomMatch) show(roomView(decodeURIComponent(roomMatch[1]), app));
  else if (hash === '#/admin' && app.user.is_admin) show(adminView(app.user));
  else if (hash === '#/account') show(accountView({ onDone: factorOn }));
  else show(roomsView(signedOut));
  main.focus({ preventScroll: true });
}

function signedIn(user, setupRequired = false) {
  app.user = user;
  speakFor(user);
  app.setupRequired = Boolean(setupRequired);
  app.watch?.stop();
  app.watch = watchSession({ onEnded: sessionEnded, signOut });
  route();
}

/** Two-step sign-in was set up (and its recovery codes saved): on to the rooms. */
function factorOn() {
  app.setupRequired = false;
  history.replaceState(null, '', '#/');
  route();
}

/** The session is gone (logged out here or elsewhere, or its time is up): back to the
 * sign-in page. */
function signedOut() {
  if (app.user && !app.notice && app.watch?.ended()) app.notice = t('session_timer.ended');
  app.watch?.stop();
  app.watch = null;
  app.user = null;
  route();
}

/** The session ended by itself (idle or too old): sign out here and say why. */
function sessionEnded() {
  app.notice = t('session_timer.ended');
  app.view?.destroy();
  history.replaceState(null, '', '#/');
  signedOut();
}

async function signOut() {
  try {
    await api('POST', '/api/auth/logout');
  } catch {
    // Signed out already, or the server is unreachable: either way, forget the user here.
  }
  app.view?.destroy();
  history.replaceState(null, '', '#/');
  signedOut();
}

function renderNav() {
  skipLink.textContent = t('app.skip_to_content');
  nav.setAttribute('aria-label', t('nav.main'));
  const picker = languagePicker(app.user, languageChanged);
  if (!app.user) {
    replace(nav, picker);
    return;
  }
  replace(nav, picker,
    el('a', { href: '#/', text: t('nav.rooms') }),
    el('a', { href: '#/account', text: t('nav.account') }),
    app.user.is_admin ? el('a', { href: '#/admin', text: t('nav.admin') }) : null,
    el('span', { class: 'whoami', text: app.user.display_name }),
    el('button', { type: 'button', class: 'quiet small', text: t('nav.sign_out'), on: { click: signOut } }));
}

/** The page now speaks another language: draw it again, keeping focus on the select. */
function languageChanged(user) {
  if (user) app.user = user;
  route();
  // After the views have placed their own first focus (queued as microtasks).
  setTimeout(() => nav.querySelector('.language-select')?.focus());
}

async function start() {
  let me = null;
  try {
    me = await api('GET', '/api/me');
  } catch {
    me = null;
  }
  speakFor(app.user);
  window.addEventListener('hashchange', () => {
    // In-page anchors such as the skip link are not routes.
    if (!location.hash || location.hash.startsWith('#/')) route();
  });
  if (me) signedIn(me.user, me.totp.setup_required);
  else route();
}

start();
