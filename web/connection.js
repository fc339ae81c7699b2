// What the log pages (task.js, merged.js) share about their WebSocket: its address, the
// delays between reconnects, whether a refused connection means the session ended, and the
// connection badge (#conn).

const RETRY_DELAYS = [500, 1000, 2000, 4000, 5000];

// How long to wait before reconnect number `attempt` (0, 1, 2, ...).
export function retryDelay(attempt) {
  return RETRY_DELAYS[Math.min(attempt, RETRY_DELAYS.length - 1)];
}

// ws(s)://this host/`path`?`params` (wss behind a proxy that ends TLS).
export function socketUrl(path, params) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${path}?${params}`;
}

// A WebSocket refused before its upgrade shows only as 1006: ask the API whether we are
// still logged in (false when the master cannot be reached: then we keep retrying).
export async function sessionEnded() {
  try {
    return (await fetch("/api/tasks?limit=1")).status === 401;
  } catch {
    return false;
  }
}

// The connection badge: its state (for the style) and what it says.
export function setConn(name, text = name) {
  const conn = document.getElementById("conn");
  conn.dataset.state = name;
  conn.textContent = text;
}
