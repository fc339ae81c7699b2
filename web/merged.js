// The merged live view of several tasks, `/tasks?ids=task-1,task-2`: one WebSocket for all of
// them (`/logs?tasks=...`), each line tagged with its task in the task's colour, each task's
// end shown as it comes, and reconnects that resume every task exactly after its last line
// (`after=task-1:120,task-2:98`). Log lines are data: they reach the page as text only.

import { retryDelay, sessionEnded, setConn, socketUrl } from "./connection.js";
import { LogView } from "./logview.js";
import { droppedNotice, endSummary, gapNotice, stateNotice } from "./wording.js";

const $ = (id) => document.getElementById(id);
const TASK_ID = /^task-[a-z0-9][a-z0-9_-]{0,62}$/; // shared/ids.py TASK_ID_PATTERN
const MAX_TASKS = 50; // shared/merge.py MAX_TASKS
const PALETTE_SIZE = 8; // shared/merge.py PALETTE_SIZE

// The colour of a task's tag: FNV-1a (32 bits) of its id, as shared/merge.py colour_index
// computes it (the terminal and the TUI give a task the same colour).
export function colourIndex(taskId, size = PALETTE_SIZE) {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(taskId)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h % size;
}

// The tasks of ?ids=a,b (valid ids, each once, at most MAX_TASKS); null when there are none
// or one is no task id.
function taskIds() {
  const text = new URLSearchParams(location.search).get("ids") || "";
  const ids = [...new Set(text.split(",").map((s) => s.trim()).filter(Boolean))];
  if (!ids.length || ids.length > MAX_TASKS || !ids.every((id) => TASK_ID.test(id))) return null;
  return ids;
}

// LogView, each line tagged with its task (a span before the line's text).
class MergedView extends LogView {
  addTaskLines(task, lines) {
    this.addLines(lines);
    for (const entry of this.entries.slice(-lines.length)) entry.task = task;
  }

  render(entry) {
    const div = super.render(entry);
    if (entry.task !== undefined) {
      const tag = document.createElement("span");
      tag.className = `tag tag-${colourIndex(entry.task)}`;
      tag.textContent = entry.task;
      div.dataset.task = entry.task;
      div.insertBefore(tag, div.firstChild);
    }
    return div;
  }
}

const tasks = taskIds() || [];
const state = {
  ws: null,
  lastSeq: new Map(), // per task, the highest seq accounted for: a reconnect resumes after it
  ends: new Map(), // per task, its final frame
  fatal: false,
  attempt: 0,
};
const view = new MergedView($("log"), { onChange: updateCounts });

function updateCounts() {
  const follow = $("follow");
  follow.setAttribute("aria-pressed", String(view.follow));
  follow.textContent = view.follow ? "Following" : `Paused — follow (${view.unseen} new)`;
  $("counts").textContent = `${view.received} lines` + (view.pattern ? `, ${$("log").childElementCount} shown` : "");
}

// The header: one chip per task (a link to its own view), its colour and its status.
function renderChips() {
  const chips = tasks.map((task) => {
    const a = document.createElement("a");
    a.href = `/tasks/${encodeURIComponent(task)}`;
    a.className = `chip tag-${colourIndex(task)}`;
    a.dataset.task = task;
    a.textContent = task;
    const status = document.createElement("span");
    status.className = "chip-status";
    a.appendChild(status);
    return a;
  });
  $("chips").replaceChildren(...chips);
}

function setStatus(task, text, ended = null) {
  const chip = $("chips").querySelector(`[data-task="${task}"]`); // (a checked task id)
  if (!chip) return;
  chip.querySelector(".chip-status").textContent = text;
  if (ended !== null) chip.classList.add(ended === "success" ? "ended-success" : "ended-bad");
}

function accountFor(task, seq) {
  state.lastSeq.set(task, Math.max(state.lastSeq.get(task) || 0, seq));
}

function addLines(task, lines) {
  const last = state.lastSeq.get(task) || 0;
  const fresh = lines.filter((l) => l.seq > last);
  if (!fresh.length) return;
  accountFor(task, fresh[fresh.length - 1].seq);
  view.addTaskLines(task, fresh);
  if (!state.ends.has(task)) setStatus(task, "running");
}

function onEnd(task, msg) {
  if (state.ends.has(task)) return; // (a reconnect hears an ended task's end again)
  state.ends.set(task, msg);
  view.addNotice(`${task}: ${endSummary(msg)}`);
  setStatus(task, msg.status, msg.status);
  if (state.ends.size < tasks.length) return;
  const banner = $("banner");
  banner.replaceChildren(
    ...tasks.map((t) => {
      const line = document.createElement("span");
      line.className = "end";
      line.textContent = `${t}: ${endSummary(state.ends.get(t))}`;
      return line;
    }),
  );
  banner.classList.toggle("bad", [...state.ends.values()].some((m) => m.status !== "success"));
  banner.hidden = false;
  setConn("finished");
}

function onFrame(msg) {
  if (msg.type === "error") {
    state.fatal = msg.code !== "unavailable";
    setConn("error", `error: ${msg.message}`);
    if (state.fatal) view.addNotice(`error: ${msg.message}`);
    return;
  }
  const task = msg.task;
  if (!tasks.includes(task)) return; // a newer server may send more: ignore what we do not know
  switch (msg.type) {
    case "batch":
      addLines(task, msg.lines);
      break;
    case "log":
      if (msg.isComplete) onEnd(task, msg);
      else addLines(task, [msg]);
      break;
    case "gap":
      view.addNotice(`${task}: ${gapNotice(msg)}`);
      accountFor(task, msg.toSeq);
      break;
    case "dropped":
      view.addNotice(`${task}: ${droppedNotice(msg)}`);
      accountFor(task, msg.toSeq);
      break;
    case "state":
      if (state.ends.size < tasks.length) setConn(msg.state === "streaming" ? "live" : msg.state);
      if (msg.state !== "streaming") view.addNotice(`${task}: ${stateNotice(msg.state)}`);
      break;
    default:
      break;
  }
}

function connect() {
  const params = new URLSearchParams({ tasks: tasks.join(","), batch: "1" });
  const cursor = [...state.lastSeq].filter(([, seq]) => seq > 0).map(([t, seq]) => `${t}:${seq}`);
  if (cursor.length) params.set("after", cursor.join(","));
  const ws = new WebSocket(socketUrl("/logs", params));
  state.ws = ws;
  ws.onopen = () => {
    state.attempt = 0;
    setConn("live");
  };
  ws.onmessage = (event) => onFrame(JSON.parse(event.data));
  ws.onclose = async (event) => {
    if (state.ends.size === tasks.length || state.fatal) return;
    if (event.code === 1006 && (await sessionEnded())) {
      location.replace("/login"); // refused before the upgrade: the session ended
      return;
    }
    const delay = retryDelay(state.attempt);
    state.attempt += 1;
    setConn("reconnecting", `reconnecting (attempt ${state.attempt})…`);
    setTimeout(connect, delay);
  };
}

function main() {
  if (!tasks.length) {
    setConn("error", "error: give ?ids=task-1,task-2 (valid task ids, at most 50)");
    return;
  }
  document.title = `logcast — ${tasks.length} tasks`;
  $("title").textContent = `${tasks.length} tasks`;
  $("log").style.setProperty("--tag-width", `${Math.max(...tasks.map((t) => t.length))}ch`);
  renderChips();
  $("filter").addEventListener("input", (e) => {
    const text = e.target.value;
    view.setFilter(text ? new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i") : null);
  });
  $("timestamps").addEventListener("change", (e) => $("log").classList.toggle("show-ts", e.target.checked));
  $("wrap").addEventListener("change", (e) => $("log").classList.toggle("wrap", e.target.checked));
  $("follow").addEventListener("click", () => view.setFollow(!view.follow));
  updateCounts();
  connect();
}

main();
