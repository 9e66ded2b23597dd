// Spanish (español). Keys missing here fall back to English.
export default {
  'nav.main': 'Principal',
  'nav.rooms': 'Salas',
  'nav.admin': 'Administración',
  'nav.sign_out': 'Cerrar sesión',
  'nav.language': 'Idioma',
};
