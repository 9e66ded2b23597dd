// The actions for one message, in a sheet docked under the log (never inside it, so the
// log announces messages without their buttons): react (in words), report, and for
// facilitators pin, delete and the author's member actions.

import { el, replace, uid } from './dom.js';
import { t } from './i18n.js';
import { renderMenu } from './menu.js';
import { REACTIONS } from './reactions.js';

export class MessageActions {
  /** `room`: me(), isFacilitator(), send(), mod(), say(), showMemberActions(userId). */
  constructor(room, reactions) {
    this.room = room;
    this.reactions = reactions;
    this.article = null;
    this.title = el('h2', { class: 'sheet-title', id: uid('sheet') });
    this.body = el('div', { class: 'sheet-body' });
    this.closeButton = el('button', { type: 'button', class: 'quiet small', text: t('actions.close'),
      on: { click: () => this.close(true) } });
    this.node = el('section', { class: 'message-sheet', hidden: true, aria: { labelledby: this.title.id } },
      el('div', { class: 'sheet-head' }, this.title, this.closeButton), this.body);
    this.node.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.preventDefault(); this.close(true); }
    });
  }

  open(article, message) {
    this.close(false);
    this.article = article;
    this.message = message;
    article.classList.add('selected');
    this.title.textContent = t('actions.title', { name: message.author.display_name });
    this.node.hidden = false;
    renderMenu(this.body, this.title.textContent, this.items(message), (back) => this.close(back));
    this.node.scrollIntoView?.({ block: 'nearest' });
  }

  items(message) {
    const me = this.room.me().id;
    const mine = message.author.id === me;
    const items = REACTIONS.map(({ key, emoji }) => {
      const gave = this.reactions.gave(message.id, key, me);
      return {
        emoji,
        text: gave ? t('actions.reaction_sent', { label: t(`reaction.${key}`) }) : t(`reaction.${key}`),
        disabled: gave,
        onSelect: () => this.room.send({ type: 'react', message_id: message.id, reaction: key }),
      };
    });
    if (!mine) items.push({ text: t('message.report'), onSelect: () => this.reportForm(message) });
    if (this.room.isFacilitator()) {
      items.push(
        { text: t('message.pin'), onSelect: () => this.room.mod('pin', { message_id: message.id }) },
        { text: t('message.delete'), confirm: t('message.delete.confirm'), className: 'danger-item',
          onSelect: () => this.room.mod('delete', { message_id: message.id }) });
      if (!mine && this.room.canModerate(message.author.id)) {
        items.push({ text: t('actions.member', { name: message.author.display_name }),
          onSelect: () => { this.close(false); this.room.showMemberActions(message.author.id); return true; } });
      }
    }
    return items;
  }

  reportForm(message) {
    const reason = el('input', { type: 'text', required: true, maxLength: 500,
      placeholder: t('message.report.placeholder') });
    reason.setAttribute('aria-label', t('message.report.reason'));
    const form = el('form', { class: 'inline-form', on: { submit: (event) => {
      event.preventDefault();
      this.room.send({ type: 'report', message_id: message.id, reason: reason.value });
      const article = this.article;
      this.close(true);
      article?.querySelector('.state')?.removeAttribute('hidden');
      if (article) article.querySelector('.state').textContent = t('message.reported');
      this.room.say(t('message.report.thanks'));
    } } },
    reason,
    el('button', { type: 'submit', text: t('message.report.send') }),
    el('button', { type: 'button', class: 'link', text: t('message.report.cancel'), on: { click: () => this.close(true) } }));
    replace(this.body, form);
    reason.focus();
    return true; // keep the sheet open for the form
  }

  /** The message left the screen: its actions go too. */
  forget(messageId) {
    if (this.message?.id === messageId) this.close(false);
  }

  close(returnFocus) {
    if (this.node.hidden) return;
    this.node.hidden = true;
    replace(this.body);
    const article = this.article;
    this.article = null;
    this.message = null;
    article?.classList.remove('selected');
    if (returnFocus && article?.isConnected) article.focus();
  }
}
