// English: the reference catalogue. Every key the page uses is here.
export default {
  'nav.main': 'Main',
  'nav.rooms': 'Rooms',
  'nav.admin': 'Admin',
  'nav.sign_out': 'Sign out',
  'nav.language': 'Language',
};
