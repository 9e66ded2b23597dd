// Tiny DOM builder. User-provided text only ever goes in through textContent
// (strings passed as children become Text nodes), never through innerHTML.

import { formatDate } from './i18n.js';

/**
 * Create an element. `props` keys: `class`, `text`, `on` (event map), `dataset`,
 * `aria` (map of aria-* attributes), `attrs` (plain attributes), and DOM properties
 * such as `type`, `hidden`, `disabled`, `value`, `htmlFor`.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'on') for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'aria') for (const [a, v] of Object.entries(value)) node.setAttribute(`aria-${a}`, v);
    else if (key === 'attrs') for (const [a, v] of Object.entries(value)) node.setAttribute(a, v);
    else node[key] = value;
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace all children of `node`. */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

let idCounter = 0;
/** A unique id for pairing labels with inputs. */
export function uid(prefix = 'f') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled form field: returns { wrap, input }. */
export function field(label, input, hint) {
  input.id = input.id || uid();
  const hintNode = hint ? el('span', { class: 'hint', id: `${input.id}-hint`, text: hint }) : null;
  if (hintNode) input.setAttribute('aria-describedby', hintNode.id);
  const wrap = el('div', { class: 'field' }, el('label', { htmlFor: input.id, text: label }), input, hintNode);
  return { wrap, input };
}

/** A clock time for a Unix-millisecond timestamp. */
export function clock(ts) {
  return el('time', {
    dateTime: new Date(ts).toISOString(),
    title: formatDate(ts),
    text: formatDate(ts, { hour: '2-digit', minute: '2-digit' }),
  });
}

/** A random id for `ref`s; works outside secure contexts too. */
export function randomId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
