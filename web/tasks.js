// The task list: polls /api/tasks every 2 s and links each task to its log view. Tasks picked
// with their checkbox open together in the merged view (/tasks?ids=a,b).

const $ = (id) => document.getElementById(id);
const MAX_SELECTED = 50; // shared/merge.py MAX_TASKS
const selected = new Set(); // task ids picked (kept across polls)

function updateSelection() {
  const link = $("view-selected");
  const ids = [...selected];
  const usable = ids.length > 0 && ids.length <= MAX_SELECTED;
  link.setAttribute("aria-disabled", String(!usable));
  if (usable) link.href = `/tasks?ids=${ids.map(encodeURIComponent).join(",")}`;
  else link.removeAttribute("href");
  $("selected-count").textContent = ids.length
    ? `${ids.length} selected` + (usable ? "" : ` (at most ${MAX_SELECTED})`)
    : "";
}

function pickCell(row, taskId) {
  const td = document.createElement("td");
  td.className = "pick";
  const box = document.createElement("input");
  box.type = "checkbox";
  box.dataset.task = taskId;
  box.checked = selected.has(taskId);
  box.setAttribute("aria-label", `select ${taskId}`);
  box.addEventListener("change", () => {
    if (box.checked) selected.add(taskId);
    else selected.delete(taskId);
    updateSelection();
  });
  td.appendChild(box);
  row.appendChild(td);
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function render(tasks) {
  const body = $("tasks").tBodies[0];
  const rows = document.createDocumentFragment();
  for (const t of tasks) { // newest first, as /api/tasks lists them
    const tr = document.createElement("tr");
    pickCell(tr, t.task_id);
    const td = document.createElement("td");
    const a = document.createElement("a");
    a.href = `/tasks/${encodeURIComponent(t.task_id)}`;
    a.textContent = t.task_id;
    td.appendChild(a);
    tr.appendChild(td);
    cell(tr, t.status, `status-${t.status}`);
    cell(tr, t.exit_code === null ? "" : String(t.exit_code));
    cell(tr, t.worker);
    cell(tr, String(t.lines));
    cell(tr, t.created_at ? new Date(t.created_at * 1000).toLocaleTimeString() : "");
    cell(tr, [t.image, ...t.command].join(" ").slice(0, 80));
    rows.appendChild(tr);
  }
  body.replaceChildren(rows);
  $("empty").hidden = tasks.length > 0;
}

async function poll() {
  try {
    const response = await fetch("/api/tasks");
    if (response.status === 401) {
      location.replace("/login"); // the session ended (logged out, token revoked or expired)
      return;
    }
    render(await response.json());
    $("conn").dataset.state = "live";
    $("conn").textContent = "live";
  } catch {
    $("conn").dataset.state = "reconnecting";
    $("conn").textContent = "master unreachable, retrying…";
  }
  setTimeout(poll, 2000);
}

poll();
