// The log pane: a bounded store of lines and a capped DOM, updated once per animation frame.
//
// Lines arrive in batches from the WebSocket; they are queued and rendered together on the
// next animation frame, at most MAX_DOM of them (older DOM lines are removed), so the page
// stays responsive at 10,000 lines/s. The store keeps the last MAX_STORE lines for filtering
// (Download asks the server for the whole stored log). Log content only ever reaches the
// page as text (textContent), never as HTML. A line says its level (class `lvl-error`, ...:
// levels.js) and, with pretty JSON on, a JSON line is shown indented (its content, what the
// filter matches, stays the line as it came).

import { parseAnsi, plainText, styleClasses } from "./ansi.js";
import { detectLevel, prettyJson } from "./levels.js";
import { truncatedNote } from "./wording.js";

export const MAX_STORE = 100000;
export const MAX_DOM = 2000;
export const MAX_FRAME = 400; // most lines added to the DOM in one animation frame

export class LogView {
  constructor(container, { onChange = () => {} } = {}) {
    this.el = container;
    this.entries = []; // {kind: "line", seq, ts, stream, content, truncated} or {kind: "notice", text}
    this.pending = []; // entries not rendered yet
    this.follow = true;
    this.unseen = 0; // lines that arrived while not following
    this.received = 0; // lines received in all
    this.pattern = null;
    this.filtered = false; // the lines come filtered (by the server): the pattern only marks
    this.pretty = false; // JSON lines indented
    this.onChange = onChange;
    this.frame = 0;
    this.programmaticScroll = false;
    this.el.addEventListener("scroll", () => this.onScroll());
  }

  // ---------------------------------------------------------------- data

  addLines(lines) {
    this.received += lines.length;
    for (const l of lines) {
      this.entries.push({ kind: "line", seq: l.seq, ts: l.timestamp, stream: l.stream, content: l.content, truncated: l.truncated || 0 });
    }
    this.queue(this.entries.slice(-lines.length));
  }

  addNotice(text) {
    const entry = { kind: "notice", text };
    this.entries.push(entry);
    this.queue([entry]);
  }

  queue(entries) {
    if (this.entries.length > MAX_STORE * 1.1) this.entries.splice(0, this.entries.length - MAX_STORE);
    if (!this.follow) {
      this.unseen += entries.length;
      this.onChange();
      return;
    }
    for (const e of entries) if (this.matches(e)) this.pending.push(e);
    if (this.pending.length > MAX_FRAME) {
      // faster than anyone reads: show the newest lines; the store keeps them all (a pause
      // or the filter brings back any line)
      this.pending.splice(0, this.pending.length - MAX_FRAME);
    }
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  matches(entry) {
    if (entry.kind !== "line") return true;
    if (!this.pattern || this.filtered) return true;
    if (entry.plain === undefined) entry.plain = plainText(entry.content);
    this.pattern.lastIndex = 0;
    return this.pattern.test(entry.plain);
  }

  // ---------------------------------------------------------------- rendering

  flush() {
    this.frame = 0;
    if (!this.pending.length) return;
    const fragment = document.createDocumentFragment();
    for (const entry of this.pending) fragment.appendChild(this.render(entry));
    this.pending = [];
    this.el.appendChild(fragment);
    const excess = this.el.childElementCount - MAX_DOM;
    for (let i = 0; i < excess; i++) this.el.firstElementChild.remove();
    if (this.follow) this.scrollToEnd();
    this.onChange();
  }

  render(entry) {
    const div = document.createElement("div");
    if (entry.kind === "notice") {
      div.className = "notice";
      div.textContent = entry.text;
      return div;
    }
    div.className = entry.stream === "stderr" ? "line stderr" : "line";
    if (entry.level === undefined) entry.level = detectLevel(entry.content);
    if (entry.level !== null) div.classList.add(`lvl-${entry.level}`);
    div.dataset.seq = String(entry.seq);
    const ts = document.createElement("span");
    ts.className = "ts";
    ts.textContent = entry.ts;
    div.appendChild(ts);
    if (this.pretty && entry.pretty === undefined) entry.pretty = prettyJson(entry.content);
    if (this.pretty && entry.pretty !== null) {
      div.classList.add("pretty");
      const json = document.createElement("span");
      json.className = "json";
      this.appendText(json, entry.pretty); // several lines, as text
      div.appendChild(json);
    } else {
      this.appendAnsi(div, entry.content);
    }
    if (entry.truncated) {
      const t = document.createElement("span");
      t.className = "trunc";
      t.textContent = ` ${truncatedNote(entry.truncated)}`;
      div.appendChild(t);
    }
    return div;
  }

  // A line's text into an element: one span per run of one ANSI style.
  appendAnsi(parent, content) {
    for (const seg of parseAnsi(content)) {
      const span = document.createElement("span");
      const look = styleClasses(seg.style);
      if (look.classes.length) span.className = look.classes.join(" ");
      if (look.color) span.style.color = look.color;
      if (look.background) span.style.backgroundColor = look.background;
      this.appendText(span, seg.text);
      parent.appendChild(span);
    }
  }

  // Text into an element, filter matches wrapped in <mark> (all as text nodes).
  appendText(parent, text) {
    if (!this.pattern) {
      parent.textContent = text;
      return;
    }
    let last = 0;
    const re = new RegExp(this.pattern.source, "gi");
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m[0] === "") { re.lastIndex++; continue; }
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      const mark = document.createElement("mark");
      mark.textContent = m[0];
      parent.appendChild(mark);
      last = m.index + m[0].length;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  // Re-render the newest MAX_DOM entries that match the filter.
  rerender() {
    const shown = [];
    for (let i = this.entries.length - 1; i >= 0 && shown.length < MAX_DOM; i--) {
      if (this.matches(this.entries[i])) shown.push(this.entries[i]);
    }
    shown.reverse();
    this.pending = [];
    const fragment = document.createDocumentFragment();
    for (const entry of shown) fragment.appendChild(this.render(entry));
    this.el.replaceChildren(fragment);
    if (this.follow) this.scrollToEnd();
    this.onChange();
  }

  // ---------------------------------------------------------------- controls

  // Filter the lines held by `pattern` (null: none), or, `filtered`, only mark its matches in
  // lines that come filtered already (by the server).
  setFilter(pattern, filtered = false) {
    this.pattern = pattern;
    this.filtered = filtered;
    this.rerender();
  }

  // Show JSON lines indented (on) or as they came (off).
  setPretty(on) {
    this.pretty = on;
    this.rerender();
  }

  setFollow(on) {
    if (on === this.follow) return;
    this.follow = on;
    if (on) {
      this.unseen = 0;
      this.rerender();
    }
    this.onChange();
  }

  scrollToEnd() {
    this.programmaticScroll = true;
    this.el.scrollTop = this.el.scrollHeight;
  }

  onScroll() {
    if (this.programmaticScroll) {
      this.programmaticScroll = false;
      return;
    }
    const atEnd = this.el.scrollHeight - this.el.scrollTop - this.el.clientHeight < 8;
    if (!atEnd && this.follow) this.setFollow(false); // the user scrolled up: pause
  }
}
