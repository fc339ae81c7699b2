// The live log view of one task: WebSocket connection, reconnects, and the page's controls.

import { LogView } from "./logview.js";
import { droppedNotice, endSummary, gapNotice, stateNotice } from "./wording.js";

const taskId = decodeURIComponent(location.pathname.split("/")[2] || "");
const $ = (id) => document.getElementById(id);
const RETRY_DELAYS = [500, 1000, 2000, 4000, 5000];

const state = {
  ws: null,
  lastSeq: 0, // highest seq shown: a reconnect resumes after it (no duplicates)
  finished: false,
  fatal: false,
  attempt: 0,
};

const view = new LogView($("log"), { onChange: updateCounts });

function setConn(name, text = name) {
  const conn = $("conn");
  conn.dataset.state = name;
  conn.textContent = text;
}

function updateCounts() {
  const follow = $("follow");
  follow.setAttribute("aria-pressed", String(view.follow));
  follow.textContent = view.follow ? "Following" : `Paused — follow (${view.unseen} new)`;
  $("counts").textContent = `${view.received} lines` + (view.pattern ? `, ${$("log").childElementCount} shown` : "");
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
      view.addNotice(gapNotice(msg));
      state.lastSeq = Math.max(state.lastSeq, msg.toSeq);
      break;
    case "dropped":
      view.addNotice(droppedNotice(msg));
      state.lastSeq = Math.max(state.lastSeq, msg.toSeq);
      break;
    case "state":
      setConn(msg.state === "streaming" ? "live" : msg.state);
      if (msg.state !== "streaming") view.addNotice(stateNotice(msg.state));
      break;
    case "error":
      state.fatal = msg.code !== "unavailable";
      setConn("error", `error: ${msg.message}`);
      if (state.fatal) view.addNotice(`error: ${msg.message}`);
      break;
    default:
      break; // a newer server may send more: ignore what we do not know
  }
}

// A WebSocket refused before its upgrade shows only as 1006: ask the API whether we are
// still logged in (false when the master cannot be reached: then we keep retrying).
async function sessionEnded() {
  try {
    return (await fetch("/api/tasks?limit=1")).status === 401;
  } catch {
    return false;
  }
}

function connect() {
  const params = new URLSearchParams({ batch: "1" });
  if (state.lastSeq > 0) params.set("after", String(state.lastSeq));
  const scheme = location.protocol === "https:" ? "wss" : "ws"; // behind a proxy that ends TLS
  const ws = new WebSocket(`${scheme}://${location.host}/logs/${encodeURIComponent(taskId)}?${params}`);
  state.ws = ws;
  ws.onopen = () => {
    state.attempt = 0;
    setConn("live");
  };
  ws.onmessage = (event) => onFrame(JSON.parse(event.data));
  ws.onclose = async (event) => {
    if (state.finished || state.fatal) return;
    if (event.code === 1006 && (await sessionEnded())) {
      location.replace("/login"); // refused before the upgrade: the session ended
      return;
    }
    const delay = RETRY_DELAYS[Math.min(state.attempt, RETRY_DELAYS.length - 1)];
    state.attempt += 1;
    setConn("reconnecting", `reconnecting (attempt ${state.attempt})…`);
    setTimeout(connect, delay);
  };
}

function compileFilter() {
  const input = $("filter");
  const text = input.value;
  input.classList.remove("invalid");
  if (!text) return null;
  const asRegex = $("regex").checked || (text.length > 2 && text.startsWith("/") && text.endsWith("/"));
  const source = asRegex ? text.replace(/^\/(.*)\/$/, "$1") : text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  try {
    return new RegExp(source, "i");
  } catch {
    input.classList.add("invalid");
    return undefined; // keep the previous filter
  }
}

let filterTimer = 0;
function onFilterInput() {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(() => {
    const pattern = compileFilter();
    if (pattern !== undefined) view.setFilter(pattern);
  }, 120);
}

// Download: the whole stored log from the server (not just what this page received), as
// `docker logs` prints it; the server names the file (Content-Disposition: attachment).
function downloadUrl() {
  const params = new URLSearchParams({ format: "text" });
  if ($("timestamps").checked) params.set("timestamps", "1");
  return `/api/tasks/${encodeURIComponent(taskId)}/log?${params}`;
}

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
  $("follow").addEventListener("click", () => view.setFollow(!view.follow));
  $("download").href = downloadUrl();
  updateCounts();
  loadInfo();
  connect();
}

main();
