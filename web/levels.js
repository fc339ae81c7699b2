// A log line's level (error, warn, ...), where the line says one, and JSON lines indented.
// Pure: no DOM.
//
// The rules of shared/levels.py, mirrored (read its docstring): a JSON object's level key; klog
// (E1123 10:00:00) and Ruby's Logger (E, [); the first words of the line, past timestamps and
// fields; logfmt's level=. tests/unit/shared/level_cases.json holds both to the same answers.

// Levels, least severe first: the CSS classes are `lvl-<name>`.
export const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"];

// Every name a line may give its level by (lower case), and the level it means.
export const NAMES = {
  trace: "trace", trc: "trace", verbose: "trace", finest: "trace", finer: "trace",
  debug: "debug", dbg: "debug", fine: "debug",
  info: "info", inf: "info", information: "info", informational: "info", notice: "info",
  warn: "warn", warning: "warn", wrn: "warn",
  error: "error", err: "error", severe: "error",
  fatal: "fatal", ftl: "fatal", critical: "fatal", crit: "fatal", alert: "fatal",
  emerg: "fatal", emergency: "fatal", panic: "fatal", dpanic: "fatal",
};

const JSON_SCAN = 2000; // characters of a JSON object searched for its level key
const LINE_SCAN = 300; // characters of another line searched for its level
const MAX_WORDS = 8; // of those, the first words looked at

const NUMBERS = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };
const KLOG = { I: "info", W: "warn", E: "error", F: "fatal" };
const RUBY = { D: "debug", ...KLOG };
const LOGRUS = { TRAC: "trace", DEBU: "debug", INFO: "info", WARN: "warn", ERRO: "error", FATA: "fatal", PANI: "fatal" };
const CALENDAR = new Set("jan feb mar apr may jun jul aug sep oct nov dec mon tue wed thu fri sat sun".split(" "));
const ANSI = /\x1b\[[0-9;:?]*[A-Za-z]/g;
const JSON_KEY = /"(?:level|lvl|severity|loglevel|log_level|levelname|log\.level)"\s*:\s*(?:"\s*([A-Za-z]{1,16})\s*"|(\d{2})(?![\d.]))/i;
const BRACKETED = /[[<(]\s*(?:[A-Za-z0-9_.-]+:)?([A-Za-z]{3,13})\s*[\]>)]/g;
const LOGFMT = /(?:^|\s)(?:level|lvl|severity|loglevel)="?([A-Za-z]{1,16})(?![A-Za-z0-9_])/;
const ALPHA = /^\p{L}+$/u;
const ALNUM = /^[\p{L}\p{N}]+$/u;
const DIGIT = /[0-9]/;

const name = (word) => (Object.hasOwn(NAMES, word) ? NAMES[word] : null);
const isUpper = (word) => word === word.toUpperCase() && word !== word.toLowerCase();
const count = (text, ch) => text.split(ch).length - 1;

// The level `content` says it has ("error", "warn", ...), or null when it says none.
export function detectLevel(content) {
  let head = content.slice(0, LINE_SCAN).trimStart();
  if (!head) return null;
  if (head.includes("\x1b")) {
    head = content.slice(0, JSON_SCAN).replace(ANSI, "").trimStart().slice(0, LINE_SCAN);
    if (!head) return null;
  }
  const first = head[0];
  if (first === "{") return fromJson(content.slice(0, JSON_SCAN));
  if (Object.hasOwn(RUBY, first) && head.length > 6) {
    if (Object.hasOwn(KLOG, first) && /^.[0-9]{4} [0-9]/.test(head)) return KLOG[first];
    if (head.startsWith(", [", 1)) return RUBY[first];
  }
  let level = fromWords(head);
  if (level === null && head.includes("=")) {
    const m = LOGFMT.exec(head);
    if (m) level = name(m[1].toLowerCase());
  }
  return level;
}

function fromJson(head) {
  const m = JSON_KEY.exec(head.includes("\x1b") ? head.replace(ANSI, "") : head);
  if (!m) return null;
  if (m[1] !== undefined) return name(m[1].toLowerCase());
  return Object.hasOwn(NUMBERS, m[2]) ? NUMBERS[Number(m[2])] : null;
}

function fromWords(head) {
  const words = head.match(/\S+/g) || [];
  let prose = 0;
  for (let i = 0; i < Math.min(words.length, MAX_WORDS); i++) {
    const word = words[i];
    if (ALPHA.test(word)) { // the common case, first: a word of letters only
      if (isUpper(word)) {
        const level = name(word.toLowerCase());
        if (level !== null) return level;
      } else if (word.length !== 3 || !CALENDAR.has(word.toLowerCase())) {
        prose += 1;
        if (prose === 2) return null;
      }
      continue;
    }
    if (DIGIT.test(word[0]) || ALNUM.test(word)) continue; // a timestamp, a number, an id
    if (word.includes("[") || word.includes("<") || word.includes("(")) {
      const level = bracketed(word, words[i + 1] || "");
      if (level !== null) return level;
      continue;
    }
    const colon = word.indexOf(":");
    const before = colon < 0 ? word : word.slice(0, colon);
    const core = before.replace(/[|!.,;]+$/, "");
    if (!ALPHA.test(core)) continue; // punctuation, a path, an address
    if (isUpper(core)) {
      const level = name(core.toLowerCase());
      const tail = before.slice(core.length);
      if (level !== null && (colon >= 0 || tail === "|" || tail === "!")) return level;
      continue; // GET:, or ERRORS.
    }
    if (colon >= 0 && prose === 0) {
      const level = name(core.toLowerCase());
      if (level !== null) return level;
    }
    if (!CALENDAR.has(core.toLowerCase())) {
      prose += 1;
      if (prose === 2) return null;
    }
  }
  return null;
}

function bracketed(word, after) {
  const lead = word.split("[", 1)[0];
  if (Object.hasOwn(LOGRUS, lead)) return LOGRUS[lead];
  // "[WARN ]" is two words; so are "[2026-11-23T10:00:01,123][INFO ]" and the rest
  let text = word;
  if (count(word, "[") > count(word, "]") || count(word, "<") > count(word, ">")) text = `${word} ${after}`;
  for (const m of text.matchAll(BRACKETED)) {
    const level = name(m[1].toLowerCase());
    if (level !== null) return level;
  }
  return null;
}

// `content` indented (two spaces a level, keys in their order) when it is a JSON object or
// array, else null.
export function prettyJson(content) {
  const text = content.trim();
  if (!text || !"{[".includes(text[0]) || !"}]".includes(text[text.length - 1])) return null;
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== "object") return null;
  return JSON.stringify(value, null, 2);
}
