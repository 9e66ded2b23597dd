// Two small controls the page reuses: a menu (WAI-ARIA menu pattern: arrow keys between
// items, Escape closes and gives focus back) and a button that asks once more before acting.

import { el, replace } from './dom.js';

const CONFIRM_FOR_MS = 5000;

/**
 * A menu of `items` ({ text, emoji, onSelect, disabled, confirm }) labelled `label`, rendered into
 * `host`; `onClose(returnFocus)` when it closes. An item with `confirm` asks once more: its
 * text becomes `confirm` and a second activation acts.
 */
export function renderMenu(host, label, items, onClose) {
  const menu = el('div', { class: 'menu', attrs: { role: 'menu' }, aria: { label } });
  const buttons = items.map((item) => menuItem(item, onClose));
  replace(menu, buttons);
  menu.addEventListener('keydown', (event) => {
    const at = buttons.indexOf(document.activeElement);
    const next = {
      ArrowDown: at + 1, ArrowRight: at + 1, ArrowUp: at - 1, ArrowLeft: at - 1,
      Home: 0, End: buttons.length - 1,
    }[event.key];
    if (next !== undefined) {
      event.preventDefault();
      buttons[(next + buttons.length) % buttons.length].focus();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      onClose(true);
    } else if (event.key === 'Tab') {
      // Leaving the menu closes it; focus goes back to where it was opened from.
      event.preventDefault();
      onClose(true);
    }
  });
  replace(host, menu);
  buttons.forEach((b, i) => { b.tabIndex = i === 0 ? 0 : -1; });
  buttons[0]?.focus();
  return menu;
}

function menuItem(item, onClose) {
  const button = el('button', {
    type: 'button', class: `menu-item${item.className ? ` ${item.className}` : ''}`,
    attrs: { role: 'menuitem' },
  }, item.emoji ? el('span', { class: 'emoji', text: item.emoji, attrs: { 'aria-hidden': 'true' } }) : null,
  el('span', { class: 'menu-text', text: item.text }));
  const text = button.querySelector('.menu-text');
  if (item.disabled) button.setAttribute('aria-disabled', 'true');
  let armed = false;
  let timer = null;
  button.addEventListener('click', () => {
    if (item.disabled) return;
    if (item.confirm && !armed) {
      armed = true;
      text.textContent = item.confirm;
      button.classList.add('danger');
      timer = setTimeout(() => {
        armed = false;
        text.textContent = item.text;
        button.classList.remove('danger');
      }, CONFIRM_FOR_MS);
      return;
    }
    clearTimeout(timer);
    const keepOpen = item.onSelect();
    if (!keepOpen) onClose(true);
  });
  return button;
}

/** A button that asks once more before acting (its text names what it acts on). */
export function confirmButton(label, confirmLabel, action, className = 'link') {
  let armed = false;
  let timer = null;
  const button = el('button', { type: 'button', class: className, text: label });
  const disarm = () => {
    armed = false;
    button.textContent = label;
    button.classList.remove('danger');
  };
  button.addEventListener('click', () => {
    if (!armed) {
      armed = true;
      button.textContent = confirmLabel;
      button.classList.add('danger');
      timer = setTimeout(disarm, CONFIRM_FOR_MS);
      return;
    }
    clearTimeout(timer);
    disarm();
    action();
  });
  return button;
}
