// The contract's words for people, as master/presentation.py says them (plain output and the
// monitor TUI use that module; tests/web/test_wording.py checks this file gives the same text).

export function stateNotice(state) {
  return `connection: ${state}`;
}

export function gapNotice(frame) {
  return `lines ${frame.fromSeq}-${frame.toSeq} are no longer available (${frame.reason})`;
}

export function droppedNotice(frame) {
  return `${frame.count} lines dropped (seq ${frame.fromSeq}-${frame.toSeq}): this viewer fell behind`;
}

export function truncatedNote(cut) {
  return `[logcast: ${cut} more bytes truncated]`;
}

// The final message ({type: "log", isComplete: true, status, exitCode?, error?}) as the banner.
export function endSummary(frame) {
  let text = `Task Completed - Status: ${frame.status}`;
  if (frame.exitCode !== undefined && frame.exitCode !== null) text += ` (exit code ${frame.exitCode})`;
  if (frame.error && frame.status !== "success") text += ` — ${frame.error}`;
  return text;
}
