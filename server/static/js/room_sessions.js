// A room's group-session and private check-in parts (PROTOCOL §5, §6): for facilitators the
// session panel and the requests to talk privately, for members the "Talk to a facilitator
// privately" control, and for both the check-in panes beside the group.

import { el } from './dom.js';
import { t } from './i18n.js';
import { SessionPanel } from './sessions.js';
import { AskFacilitator, CheckInPane, RequestList } from './checkin.js';

export class RoomSessions {
  /** `page` gives `room` (the context), `slug`, `side`, `body`, `header`, `send(frame)`, `note(text)`, `say(text)`. */
  constructor(page) {
    this.page = page;
    this.panel = null; // facilitators: the session, attendance, past sessions
    this.requests = null; // facilitators: requests to talk privately
    this.ask = null; // members: "Talk to a facilitator privately"
    this.checkIns = new Map(); // slug -> CheckInPane
    this.area = el('div', { class: 'checkin-area' },
      el('button', { type: 'button', class: 'quiet small checkin-back', text: t('checkin.back_to_group'),
        on: { click: () => this.showCheckIn(false) } }));
    page.header.checkInToggle.addEventListener('click',
      () => this.showCheckIn(!page.body.classList.contains('show-checkin')));
  }

  /** The frames these parts answer; `settings()` and `setSettings()` keep the room's settings. */
  handlers(settings, setSettings, welcomed) {
    return {
      session: (f) => {
        const open = f.session.ended_at ? null : f.session;
        const known = settings().session; // the welcome may have brought this one
        const news = open ? known?.id !== open.id : Boolean(known);
        setSettings({ ...settings(), session: open });
        this.panel?.update(open, settings());
        if (welcomed() && news) this.page.note(t(open ? 'sessions.opened' : 'sessions.ended'));
      },
      asked: () => this.ask?.asked(),
      check_in_request: (f) => {
        const text = this.requests?.add(f);
        if (text) this.page.say(text);
      },
      check_in: (f) => {
        this.requests?.closeFor(f.user_id);
        this.openCheckIn(f.room);
      },
    };
  }

  /** A welcome: the first one adds the parts for this person's role. */
  welcome(f) {
    if (!this.panel && !this.ask && f.room.kind !== 'check_in') {
      const { room, side } = this.page;
      if (room.isFacilitator()) {
        this.panel = new SessionPanel(room, this.page.slug);
        this.requests = new RequestList(room);
        // After the crisis flags (what comes first on a facilitator's side), before the rest.
        const crisis = side.querySelector('.crisis-flags');
        if (crisis) crisis.after(this.requests.node);
        else side.prepend(this.requests.node);
        side.append(this.panel.node);
      } else {
        this.ask = new AskFacilitator((frame) => this.page.send(frame));
        side.prepend(this.ask.node);
      }
    }
    this.panel?.update(f.session, f.room);
  }

  presence(f) {
    this.panel?.presence(f);
  }

  dismissed(requestId) {
    this.requests?.close(requestId);
  }

  openCheckIn(roomObject) {
    if (this.checkIns.has(roomObject.slug)) return;
    const pane = new CheckInPane(roomObject, this.page.room.isFacilitator());
    this.checkIns.set(roomObject.slug, pane);
    this.area.append(pane.node);
    this.page.body.classList.add('with-checkin');
    this.page.header.checkInToggle.hidden = false;
    pane.node.querySelector('h2')?.setAttribute('tabindex', '-1');
  }

  showCheckIn(visible) {
    this.page.body.classList.toggle('show-checkin', visible);
    this.page.header.checkInToggle.setAttribute('aria-expanded', String(visible));
    if (visible) this.area.querySelector('h2')?.focus();
  }

  destroy() {
    for (const pane of this.checkIns.values()) pane.destroy();
  }
}
