// One room's WebSocket (PROTOCOL §3): resume with after_seq/epoch, reconnect with jittered
// backoff, and `send` frames kept pending until the server's own copy (same `ref`) comes back.
// The page talks to it only through the methods below; its fields are its own.

import { randomId } from './dom.js';

/** Close codes after which we must not reconnect on our own (the person decides). */
const FINAL_CLOSES = new Set([4401, 4403, 4404, 4408, 4409, 4410, 4429]);
const RESTARTED = 1012; // the numbering restarted: enter again from scratch
const PING_EVERY_MS = 25000;
const FIRST_DELAY_MS = 500; // the first retry waits 250–500 ms
const MAX_DELAY_MS = 10000; // a restarted server is found again within seconds
// Backoff starts over only once a connection has stayed up this long, so a server that
// keeps closing right after `welcome` is not hammered.
const HEALTHY_AFTER_MS = 10000;

export class RoomConnection {
  /**
   * `handlers`: onFrame(frame), onStatus('connecting'|'open'|'reconnecting'),
   * onFinalClose(code, reason), onRestart(), onResumed({ gap }) after the welcome (passed
   * to onFrame first) of a connection that resumed an earlier one.
   */
  constructor(slug, handlers) {
    this.slug = slug;
    this.handlers = handlers;
    this.socket = null;
    this.welcomed = false;
    this.lastSeq = null;
    this.epoch = null;
    this.pending = new Map(); // ref -> body, oldest first
    this.attempt = 0;
    this.timer = null;
    this.pinger = null;
    this.healthy = null;
    this.stopped = false;
    // Back online (a phone leaving a tunnel): try now rather than at the end of the backoff.
    this.onOnline = () => {
      if (!this.stopped && !this.socket && this.timer !== null) {
        clearTimeout(this.timer);
        this.timer = null;
        this.open();
      }
    };
    window.addEventListener('online', this.onOnline);
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    let url = `${scheme}${location.host}/ws/rooms/${encodeURIComponent(this.slug)}`;
    if (this.lastSeq !== null) {
      const query = new URLSearchParams({ after_seq: String(this.lastSeq) });
      if (this.epoch !== null) query.set('epoch', this.epoch);
      url += `?${query}`;
    }
    return url;
  }

  open() {
    this.stopped = false;
    this.welcomed = false;
    this.handlers.onStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const socket = new WebSocket(this.url());
    this.socket = socket;
    this.resuming = this.lastSeq !== null;
    socket.addEventListener('message', (event) => this.receive(event.data));
    socket.addEventListener('close', (event) => this.closed(socket, event));
  }

  /** Enter afresh (after a final close the person chose to rejoin from). */
  startOver() {
    clearTimeout(this.timer);
    this.lastSeq = null;
    this.epoch = null;
    this.attempt = 0;
    this.open();
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (!frame || typeof frame.type !== 'string') return;
    if (frame.type === 'welcome') this.welcome(frame);
    if (frame.type === 'message') this.message(frame);
    this.handlers.onFrame(frame);
    if (frame.type === 'welcome' && this.resuming) {
      this.handlers.onResumed?.({ gap: Boolean(frame.gap) });
    }
  }

  welcome(frame) {
    this.welcomed = true;
    clearTimeout(this.healthy);
    this.healthy = setTimeout(() => { this.attempt = 0; }, HEALTHY_AFTER_MS);
    this.epoch = frame.epoch ?? this.epoch;
    const seqs = [frame.seq, ...(frame.history || []).map((m) => m.seq)].filter(Number.isInteger);
    if (seqs.length) this.lastSeq = Math.max(this.lastSeq ?? 0, ...seqs);
    this.handlers.onStatus('open');
    this.startPing();
    // Resend what the server never confirmed; it dedupes by ref.
    for (const [ref, body] of this.pending) this.raw({ type: 'send', body, ref });
  }

  message(frame) {
    if (Number.isInteger(frame.seq)) this.lastSeq = Math.max(this.lastSeq ?? 0, frame.seq);
    if (frame.ref) this.pending.delete(frame.ref);
  }

  closed(socket, event) {
    if (socket !== this.socket) return;
    this.stopPing();
    clearTimeout(this.healthy);
    this.socket = null;
    this.welcomed = false;
    if (this.stopped) return;
    if (FINAL_CLOSES.has(event.code)) {
      this.stopped = true;
      this.pending.clear();
      this.handlers.onFinalClose(event.code, event.reason);
      return;
    }
    if (event.code === RESTARTED) {
      // The numbering restarted: our seq means nothing now.
      this.lastSeq = null;
      this.epoch = null;
      this.handlers.onRestart();
    }
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    this.attempt += 1;
    this.handlers.onStatus('reconnecting');
    const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(this.attempt - 1, 6));
    const delay = base / 2 + Math.random() * (base / 2);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.timer = null; this.open(); }, delay);
  }

  startPing() {
    this.stopPing();
    this.pinger = setInterval(() => this.raw({ type: 'ping' }), PING_EVERY_MS);
  }

  stopPing() {
    clearInterval(this.pinger);
    this.pinger = null;
  }

  /** Send a frame now if the socket is open; returns whether it went out. */
  raw(frame) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  /** Send a frame that only makes sense inside the room (after welcome). */
  send(frame) {
    if (!this.welcomed) return false;
    return this.raw(frame);
  }

  /** Post a message; returns its ref. It stays pending until confirmed, held or refused. */
  post(body) {
    const ref = randomId();
    this.pending.set(ref, body);
    if (this.welcomed) this.raw({ type: 'send', body, ref });
    return ref;
  }

  /** Whether a message sent with `ref` still waits for the server's answer. */
  isPending(ref) {
    return this.pending.has(ref);
  }

  /** Stop resending a message (it was refused or held, or the person gave up on it). */
  drop(ref) {
    this.pending.delete(ref);
  }

  /** Leave on purpose: no reconnect. */
  close() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    clearTimeout(this.timer);
    clearTimeout(this.healthy);
    this.stopPing();
    if (this.socket) this.socket.close(1000, 'left');
    this.socket = null;
  }
}
