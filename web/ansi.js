// ANSI text -> styled segments, for the log view. Pure: no DOM.
//
// Only SGR sequences (ESC [ ... m: colours, bold, italic, underline, ...) are interpreted.
// Every other control sequence (cursor moves, clear screen, OSC titles and hyperlinks, DCS,
// APC, ...) and every other control character (C0 but TAB, DEL, C1) is removed. A carriage
// return keeps what a terminal would show last: the text after the last "\r" (progress bars).
// Segments carry text only: the view inserts them with textContent, never as HTML.

const SEQUENCE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\|$)|\x1b[PX^_][\s\S]*?(?:\x1b\\|$)|\x1b[ -/]*[0-~]?/g;
const SGR = /^\x1b\[([0-9;:]*)m$/;
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

function emptyStyle() {
  return { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, inverse: false, strike: false };
}

function xterm256(n) {
  if (n < 16) return n;
  if (n < 232) {
    const v = [0, 95, 135, 175, 215, 255];
    const i = n - 16;
    return `rgb(${v[Math.floor(i / 36)]}, ${v[Math.floor(i / 6) % 6]}, ${v[i % 6]})`;
  }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g}, ${g}, ${g})`;
}

// Apply one SGR parameter list to a style (mutates a copy, returns it).
export function applySgr(style, params) {
  const s = { ...style };
  const codes = params === "" ? [0] : params.split(/[;:]/).map((p) => (p === "" ? 0 : Number(p)));
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === 0) Object.assign(s, emptyStyle());
    else if (c === 1) s.bold = true;
    else if (c === 2) s.dim = true;
    else if (c === 3) s.italic = true;
    else if (c === 4) s.underline = true;
    else if (c === 7) s.inverse = true;
    else if (c === 9) s.strike = true;
    else if (c === 22) { s.bold = false; s.dim = false; }
    else if (c === 23) s.italic = false;
    else if (c === 24) s.underline = false;
    else if (c === 27) s.inverse = false;
    else if (c === 29) s.strike = false;
    else if (c >= 30 && c <= 37) s.fg = c - 30;
    else if (c === 39) s.fg = null;
    else if (c >= 40 && c <= 47) s.bg = c - 40;
    else if (c === 49) s.bg = null;
    else if (c >= 90 && c <= 97) s.fg = c - 90 + 8;
    else if (c >= 100 && c <= 107) s.bg = c - 100 + 8;
    else if (c === 38 || c === 48) {
      let colour = null;
      if (codes[i + 1] === 5 && i + 2 < codes.length) {
        colour = xterm256(Math.max(0, Math.min(255, codes[i + 2])));
        i += 2;
      } else if (codes[i + 1] === 2 && i + 4 < codes.length) {
        const [r, g, b] = codes.slice(i + 2, i + 5).map((v) => Math.max(0, Math.min(255, v)));
        colour = `rgb(${r}, ${g}, ${b})`;
        i += 4;
      }
      if (c === 38) s.fg = colour; else s.bg = colour;
    }
  }
  return s;
}

// The text a terminal would show for a line, before colour parsing.
function lastCarriageReturn(text) {
  if (!text.includes("\r")) return text;
  const parts = text.split("\r");
  for (let i = parts.length - 1; i >= 0; i--) if (parts[i]) return parts[i];
  return "";
}

// Parse a line into [{text, style}] segments (adjacent text with one style merged).
export function parseAnsi(text) {
  const src = lastCarriageReturn(text);
  const segments = [];
  let style = emptyStyle();
  let last = 0;
  const push = (chunk) => {
    const clean = chunk.replace(CONTROLS, "");
    if (!clean) return;
    const prev = segments[segments.length - 1];
    if (prev && prev.style === style) prev.text += clean;
    else segments.push({ text: clean, style });
  };
  SEQUENCE.lastIndex = 0;
  for (let m = SEQUENCE.exec(src); m !== null; m = SEQUENCE.exec(src)) {
    if (m[0] === "") { SEQUENCE.lastIndex++; continue; }
    push(src.slice(last, m.index));
    const sgr = SGR.exec(m[0]);
    if (sgr) style = applySgr(style, sgr[1]);
    last = m.index + m[0].length;
  }
  push(src.slice(last));
  return segments;
}

// The plain text of a line (what filters match).
export function plainText(text) {
  return parseAnsi(text).map((s) => s.text).join("");
}

// CSS classes and colours (applied through the CSSOM, never as markup) for a style.
export function styleClasses(style) {
  const classes = [];
  let fg = style.fg;
  let bg = style.bg;
  if (style.inverse) [fg, bg] = [bg ?? 7, fg ?? 0];
  if (typeof fg === "number") classes.push(`fg-${fg}`);
  if (typeof bg === "number") classes.push(`bg-${bg}`);
  if (style.bold) classes.push("b");
  if (style.dim) classes.push("d");
  if (style.italic) classes.push("i");
  if (style.underline) classes.push("u");
  if (style.strike) classes.push("s");
  return {
    classes,
    color: typeof fg === "string" ? fg : null,
    background: typeof bg === "string" ? bg : null,
  };
}
