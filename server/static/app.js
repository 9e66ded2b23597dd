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
import { t } from './js/i18n.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const skipLink = document.querySelector('.skip-link');
const app = { user: null, view: null, signedOut };

function show(view) {
  app.view?.destroy();
  app.view = view;
  replace(main, view.node);
}

function route() {
  renderNav();
  if (!app.user) {
    show(authView(signedIn));
    return;
  }
  const hash = location.hash || '#/';
  const roomMatch = hash.match(/^#\/room\/([^/?#]+)$/);
  if (roomMatch) show(roomView(decodeURIComponent(roomMatch[1]), app));
  else if (hash === '#/admin' && app.user.is_admin) show(adminView());
  else show(roomsView(signedOut));
  main.focus({ preventScroll: true });
}

function signedIn(user) {
  app.user = user;
  route();
}

/** The session is gone (logged out here or elsewhere): back to the sign-in page. */
function signedOut() {
  app.user = null;
  route();
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
  if (!app.user) {
    replace(nav);
    return;
  }
  replace(nav,
    el('a', { href: '#/', text: t('nav.rooms') }),
    app.user.is_admin ? el('a', { href: '#/admin', text: t('nav.admin') }) : null,
    el('span', { class: 'whoami', text: app.user.display_name }),
    el('button', { type: 'button', class: 'quiet small', text: t('nav.sign_out'), on: { click: signOut } }));
}

async function start() {
  try {
    app.user = (await api('GET', '/api/me')).user;
  } catch {
    app.user = null;
  }
  window.addEventListener('hashchange', () => {
    // In-page anchors such as the skip link are not routes.
    if (!location.hash || location.hash.startsWith('#/')) route();
  });
  route();
}

start();
