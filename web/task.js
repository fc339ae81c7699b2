// The live log view of one task: WebSocket connection, reconnects, and the page's controls.
//
// `/tasks/<id>?from=SEQ` opens the view "in context": the stream starts after SEQ - CONTEXT
// and the view stays on line SEQ, highlighted. The search box searches the task's whole
// stored log on the server (GET /api/tasks/<id>/search); a result opens the view so.
//
// The filter box filters the lines the page holds while it holds the whole log (every line
// from seq 1, none lost or trimmed); otherwise the page opens a filtered stream instead
// (`grep=`: the worker filters the whole stored log, then the live lines), and Download
// carries the same filter.

import { plainText } from "./ansi.js";
import { retryDelay, sessionEnded, setConn, socketUrl } from "./connection.js";
import { LogView, MAX_DOM, MAX_STORE } from "./logview.js";
import { droppedNotice, endSummary, gapNotice, stateNotice } from "./wording.js";

const taskId = decodeURIComponent(location.pathname.split("/")[2] || "");
const $ = (id) => document.getElementById(id);
const CONTEXT = 20; // in context, the stream starts this many seqs before the line
const SEARCH_LIMIT = 100; // results shown

// The log view, which may also be *anchored* at a line (a search result in context): it is
// then paused and shows the stored lines from the anchor's context on, the line itself
// marked (class "target") and scrolled into view; lines that arrive later fill the pane
// below it up to MAX_DOM (never skipping one), then count as new until Follow brings the
// view back to the newest lines. Not anchored, it is LogView exactly.
class PageView extends LogView {
  constructor(container, options) {
    super(container, options);
    this.anchor = null; // the seq the view is anchored at, or null
  }

  queue(entries) {
    if (this.follow || this.anchor === null) {
      super.queue(entries);
      return;
    }
    if (this.entries.length > MAX_STORE * 1.1) this.entries.splice(0, this.entries.length - MAX_STORE);
    let i = 0;
    if (!this.unseen) {
      let room = MAX_DOM - this.el.childElementCount - this.pending.length;
      for (; i < entries.length && room > 0; i++) {
        if (this.matches(entries[i])) {
          this.pending.push(entries[i]);
          room--;
        }
      }
      if (this.pending.length && !this.frame) this.frame = requestAnimationFrame(() => this.flush());
    }
    this.unseen += entries.length - i;
    this.onChange();
  }

  rerender() {
    if (this.anchor === null) {
      super.rerender();
      return;
    }
    const from = this.anchor - CONTEXT;
    let i = this.entries.findIndex((e) => e.kind !== "line" || e.seq > from);
    if (i < 0) i = this.entries.length;
    const shown = [];
    for (; i < this.entries.length && shown.length < MAX_DOM; i++) {
      if (this.matches(this.entries[i])) shown.push(this.entries[i]);
    }
    this.unseen = this.entries.length - i;
    this.pending = [];
    const fragment = document.createDocumentFragment();
    for (const entry of shown) fragment.appendChild(this.render(entry));
    this.el.replaceChildren(fragment);
    const target = this.el.querySelector(`.line[data-seq="${Number(this.anchor)}"]`);
    if (target) {
      target.classList.add("target");
      target.scrollIntoView({ block: "center" });
    } else {
      this.el.scrollTop = 0;
    }
    this.onChange();
  }

  setFollow(on) {
    if (on) this.anchor = null;
    super.setFollow(on);
  }

  // Empty the view for a new stream, following or not.
  reset({ follow = true } = {}) {
    cancelAnimationFrame(this.frame);
    Object.assign(this, { frame: 0, entries: [], pending: [], unseen: 0, received: 0, anchor: null, follow });
    this.el.replaceChildren();
    this.onChange();
  }

  // Anchor the view at line `seq`, once the stored lines reach it (or the stream ended).
  showAt(seq) {
    this.follow = false;
    this.anchor = seq;
    this.rerender();
  }
}

const state = {
  ws: null,
  lastSeq: 0, // highest seq shown: a reconnect resumes after it (no duplicates)
  finished: false,
  fatal: false,
  attempt: 0,
  retry: 0, // the timer of a scheduled reconnect
  target: null, // in context: the seq the view opens at (?from=SEQ), until it is shown
  lost: false, // lines before or among those held are missing (a gap, dropped, in context)
  filter: null, // the filter as the server takes it, {grep, regex, pattern (a RegExp)}, or null
  server: false, // the stream is filtered on the server (by state.filter)
};

const view = new PageView($("log"), { onChange: updateCounts });

function updateCounts() {
  const follow = $("follow");
  follow.setAttribute("aria-pressed", String(view.follow));
  follow.textContent = view.follow ? "Following" : `Paused — follow (${view.unseen} new)`;
  const n = view.received;
  $("counts").textContent = state.server
    ? `${n} match${n === 1 ? "" : "es"}`
    : `${n} lines` + (view.pattern ? `, ${$("log").childElementCount} shown` : "");
}

function showEnd(msg) {
  const banner = $("banner");
  banner.textContent = endSummary(msg);
  banner.classList.toggle("bad", msg.status !== "success");
  banner.hidden = false;
  $("task-meta").textContent = `status ${msg.status}`;
}

function onFrame(msg) {
  switch (msg.type) {
    case "batch": {
      const fresh = msg.lines.filter((l) => l.seq > state.lastSeq);
      if (fresh.length) {
        state.lastSeq = fresh[fresh.length - 1].seq;
        view.addLines(fresh);
      }
      break;
    }
    case "log":
      if (msg.isComplete) {
        state.finished = true;
        showEnd(msg);
        setConn("finished");
      } else if (msg.seq > state.lastSeq) {
        state.lastSeq = msg.seq;
        view.addLines([msg]);
      }
      break;
    case "gap":
      state.lost = true;
      view.addNotice(gapNotice(msg));
      state.lastSeq = Math.max(state.lastSeq, msg.toSeq);
      break;
    case "dropped":
      state.lost = true;
      view.addNotice(droppedNotice(msg));
      state.lastSeq = Math.max(state.lastSeq, msg.toSeq);
      break;
    case "state":
      setConn(msg.state === "streaming" ? "live" : msg.state);
      if (msg.state !== "streaming") view.addNotice(stateNotice(msg.state));
      break;
    case "error":
      if (msg.code === "invalid_request" && state.server && state.filter.regex) {
        // RE2 refused a pattern JavaScript takes (a lookahead, a backreference): as text then
        state.filter = literalFilter(state.filter.grep, true);
        reopen();
        return;
      }
      state.fatal = msg.code !== "unavailable";
      setConn("error", `error: ${msg.message}`);
      if (state.fatal) view.addNotice(`error: ${msg.message}`);
      break;
    default:
      break; // a newer server may send more: ignore what we do not know
  }
  if (state.target !== null && (state.lastSeq >= state.target || state.finished)) {
    if (!view.follow) view.showAt(state.target); // (unless Follow was pressed meanwhile)
    state.target = null;
  }
  checkFilterScope();
}

function connect() {
  const params = new URLSearchParams({ batch: "1" });
  // in context from the first lines: after=0 (everything), not the default tail of 1000
  if (state.lastSeq > 0 || state.target !== null) params.set("after", String(state.lastSeq));
  if (state.server) addFilterParams(params);
  const ws = new WebSocket(socketUrl(`/logs/${encodeURIComponent(taskId)}`, params));
  state.ws = ws;
  ws.onopen = () => {
    if (ws !== state.ws) return; // replaced by openAt
    state.attempt = 0;
    setConn("live");
  };
  ws.onmessage = (event) => {
    if (ws === state.ws) onFrame(JSON.parse(event.data));
  };
  ws.onclose = async (event) => {
    if (ws !== state.ws || state.finished || state.fatal) return;
    if (event.code === 1006 && (await sessionEnded())) {
      location.replace("/login"); // refused before the upgrade: the session ended
      return;
    }
    if (ws !== state.ws) return;
    const delay = retryDelay(state.attempt);
    state.attempt += 1;
    setConn("reconnecting", `reconnecting (attempt ${state.attempt})…`);
    state.retry = setTimeout(connect, delay);
  };
}

// The view in context: a new stream after `seq` - CONTEXT (as a reconnect resumes, with
// after=), the view paused and anchored at line `seq` once it arrives. The address becomes
// ?from=SEQ, so a reload or a shared link shows the same.
function openAt(seq) {
  clearTimeout(state.retry);
  const old = state.ws;
  state.ws = null; // its handlers now ignore it
  if (old) old.close(1000, "reopened at another line");
  Object.assign(state, { lastSeq: Math.max(0, seq - CONTEXT), finished: false, fatal: false, attempt: 0, target: seq });
  state.lost = seq - CONTEXT > 0; // (the lines before its context are not held)
  view.reset({ follow: false });
  if (state.server) {
    // the context is every line: the filter filters the lines held there, as before
    state.server = false;
    view.setFilter(state.filter.pattern);
    showFilterState();
  }
  $("banner").hidden = true;
  setConn("connecting", "connecting…");
  history.replaceState(null, "", `${location.pathname}?from=${seq}`);
  connect();
}

// ?from=SEQ (a positive integer), or null.
function fromParam() {
  const text = new URLSearchParams(location.search).get("from") || "";
  return /^[0-9]{1,15}$/.test(text) && Number(text) > 0 ? Number(text) : null;
}

function compileFilter() {
  const input = $("filter");
  const text = input.value;
  input.classList.remove("invalid");
  if (!text) return null;
  const asRegex = $("regex").checked || (text.length > 2 && text.startsWith("/") && text.endsWith("/"));
  if (!asRegex) return literalFilter(text);
  const source = text.replace(/^\/(.*)\/$/, "$1");
  if (!source) return null; // (an empty pattern keeps every line)
  try {
    return { grep: source, regex: true, pattern: new RegExp(source, "i") };
  } catch {
    input.classList.add("invalid");
    return undefined; // keep the previous filter
  }
}

// `text` as a substring (ignoring case); `refused`: the server refused it as a regex.
function literalFilter(text, refused = false) {
  return { grep: text, regex: false, refused, pattern: new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i") };
}

// The filter as the WebSocket and the download take it (case is always ignored, as here).
function addFilterParams(params) {
  params.set("grep", state.filter.grep);
  if (state.filter.regex) params.set("regex", "1");
  params.set("i", "1");
}

// Whether the page holds the whole log so far: every line from seq 1 (or none yet), none
// lost to a gap or dropped, none trimmed from its store.
function holdsWholeLog() {
  if (state.lost) return false;
  const first = view.entries.find((e) => e.kind === "line");
  return !first || first.seq === 1;
}

// A new stream for state.filter: filtered on the server over the whole log (its newest
// 1,000 matches, then the live ones), or, without a filter, the live view (the last 1,000
// lines). The view starts again, following.
function reopen() {
  clearTimeout(state.retry);
  const old = state.ws;
  state.ws = null; // its handlers now ignore it
  if (old) old.close(1000, "reopened with another filter");
  Object.assign(state, { lastSeq: 0, finished: false, fatal: false, attempt: 0, target: null, lost: false });
  state.server = state.filter !== null;
  view.reset({ follow: true });
  view.setFilter(state.filter && state.filter.pattern, state.server);
  $("banner").hidden = true;
  setConn("connecting", "connecting…");
  if (location.search) history.replaceState(null, "", location.pathname); // no longer a place in the log
  showFilterState();
  connect();
}

function sameFilter(a, b) {
  return a === b || (a !== null && b !== null && a.grep === b.grep && a.regex === b.regex);
}

// The filter typed (null: none): on the lines held while the page holds the whole log,
// else (or already) on the server.
function applyFilter(filter) {
  if (state.server && sameFilter(filter, state.filter)) return;
  state.filter = filter;
  if (state.server || (filter !== null && !holdsWholeLog())) {
    reopen();
    return;
  }
  view.setFilter(filter && filter.pattern);
  showFilterState();
}

// A filter on the lines held, once the page no longer holds the whole log (its history
// began after seq 1, or lines were lost): on the server from then on. (Not in context: a
// search result opened with a filter in the box stays at its line until Follow.)
function checkFilterScope() {
  if (state.filter === null || state.server || view.anchor !== null || state.target !== null) return;
  if (!holdsWholeLog()) reopen();
}

// Where the filter runs (the note by the box) and what Download saves.
function showFilterState() {
  const note = $("filter-scope");
  note.hidden = !state.server;
  note.textContent = state.server && state.filter.refused ? "filter: whole log (server, as text)" : "filter: whole log (server)";
  note.title = state.server && state.filter.refused
    ? "the server's RE2 refused this regex: it matches the text as typed"
    : "the page does not hold the whole log: the worker filters all of it, then the live lines";
  const link = $("download");
  link.href = downloadUrl();
  link.textContent = state.filter ? "Download (filtered)" : "Download";
  link.title = state.filter ? "the lines of the whole log that pass the filter" : "the whole log";
}

let filterTimer = 0;
function onFilterInput() {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => {
    const filter = compileFilter();
    if (filter !== undefined) applyFilter(filter);
  }, 120);
}

// Download: the whole stored log from the server (not just what this page received), as
// `docker logs` prints it; the server names the file (Content-Disposition: attachment).
// With a filter, the lines of the whole log that pass it.
function downloadUrl() {
  const params = new URLSearchParams({ format: "text" });
  if ($("timestamps").checked) params.set("timestamps", "1");
  if (state.filter) addFilterParams(params);
  return `/api/tasks/${encodeURIComponent(taskId)}/log?${params}`;
}

// ---------------------------------------------------------------- search

let searching = null; // the AbortController of the search in progress

function searchStatus(text, bad = false) {
  const summary = $("search-summary");
  summary.textContent = text;
  summary.classList.toggle("bad", bad);
  $("search-results").hidden = false;
}

function searchSummary(r, shown) {
  const n = r.match_count;
  let text = `${n} match${n === 1 ? "" : "es"}`;
  if (shown < n) text += `, newest ${shown} shown`;
  const range = r.scanned ? `, seq ${r.lowest}–${r.highest}` : "";
  text += ` · ${r.scanned} line${r.scanned === 1 ? "" : "s"} searched${range}`;
  if (r.complete) text += " · complete";
  else if (r.stopped) {
    const why = r.stopped === "capped" ? `at ${n} matches` : r.stopped;
    text += ` · stopped (${why}): lines before seq ${r.lowest} not searched`;
  }
  else text += " · incomplete";
  return text;
}

// One result: a link to the view in context (?from=SEQ), its seq and the line as plain text.
function resultItem(match) {
  const li = document.createElement("li");
  const a = document.createElement("a");
  a.className = "hit";
  a.href = `?from=${Number(match.seq)}`;
  a.dataset.seq = String(Number(match.seq));
  const seq = document.createElement("span");
  seq.className = "hit-seq";
  seq.textContent = String(match.seq);
  const text = document.createElement("span");
  text.className = "hit-text";
  text.textContent = plainText(String(match.content)); // log lines are data: text only
  a.append(seq, text);
  li.appendChild(a);
  return li;
}

async function onSearch(event) {
  event.preventDefault(); // the page searches; the form never navigates
  const pattern = $("search-q").value;
  if (!pattern) return;
  if (searching) searching.abort();
  const controller = new AbortController();
  searching = controller;
  const params = new URLSearchParams({ q: pattern, limit: String(SEARCH_LIMIT) });
  if ($("search-regex").checked) params.set("regex", "1");
  if ($("search-icase").checked) params.set("i", "1");
  $("search-list").replaceChildren();
  searchStatus("searching…");
  let response;
  let body;
  try {
    response = await fetch(`/api/tasks/${encodeURIComponent(taskId)}/search?${params}`, {
      credentials: "same-origin",
      signal: controller.signal,
    });
    body = response.ok ? await response.json() : await response.text();
  } catch (err) {
    if (controller.signal.aborted) return; // a newer search replaced this one
    searchStatus(`search failed: ${err.message || err}`, true);
    return;
  } finally {
    if (searching === controller) searching = null;
  }
  if (controller.signal.aborted) return;
  if (response.status === 401) {
    location.replace("/login"); // the session ended
    return;
  }
  if (!response.ok) {
    const what = response.status === 400 ? "bad search" : `search failed (${response.status})`;
    searchStatus(`${what}: ${String(body).trim()}`, true);
    return;
  }
  const matches = body.matches.slice(0, SEARCH_LIMIT);
  searchStatus(searchSummary(body, matches.length));
  $("search-list").replaceChildren(...matches.map(resultItem));
}

function onResultClick(event) {
  const hit = event.target.closest("a.hit");
  if (!hit || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  event.preventDefault(); // (a modified click opens the link as any: a new tab, say)
  for (const other of $("search-list").querySelectorAll("a.hit.current")) other.classList.remove("current");
  hit.classList.add("current");
  openAt(Number(hit.dataset.seq));
}

function closeSearch() {
  if (searching) searching.abort();
  $("search-results").hidden = true;
  $("search-list").replaceChildren();
}

// ---------------------------------------------------------------- page

async function loadInfo() {
  try {
    const tasks = await (await fetch("/api/tasks?limit=1000")).json();
    const info = tasks.find((t) => t.task_id === taskId);
    if (info && !state.finished) $("task-meta").textContent = `status ${info.status} · worker ${info.worker} · ${info.image}`;
  } catch {
    // the log stream reports connection problems itself
  }
}

function main() {
  document.title = `logcast — ${taskId}`;
  $("task-id").textContent = taskId;
  $("filter").addEventListener("input", onFilterInput);
  $("regex").addEventListener("change", onFilterInput);
  $("timestamps").addEventListener("change", (e) => {
    $("log").classList.toggle("show-ts", e.target.checked);
    $("download").href = downloadUrl();
  });
  $("wrap").addEventListener("change", (e) => $("log").classList.toggle("wrap", e.target.checked));
  $("pretty-json").addEventListener("change", (e) => view.setPretty(e.target.checked));
  $("follow").addEventListener("click", () => {
    view.setFollow(!view.follow);
    // following again: the newest lines, no longer a place in the log
    if (view.follow && location.search) history.replaceState(null, "", location.pathname);
    checkFilterScope();
  });
  showFilterState();
  $("search").addEventListener("submit", onSearch);
  $("search-close").addEventListener("click", closeSearch);
  $("search-list").addEventListener("click", onResultClick);
  updateCounts();
  loadInfo();
  const from = fromParam();
  if (from === null) connect();
  else openAt(from);
}

main();
