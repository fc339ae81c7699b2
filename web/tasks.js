// The task list: polls /api/tasks every 2 s and links each task to its log view.

const $ = (id) => document.getElementById(id);

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
