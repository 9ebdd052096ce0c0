// Provider text is data, never control: titles reach a terminal (tables) and a spreadsheet (CSV).
// JSON keeps it exact and the HTML page escapes it itself.

/**
 * C0 and C1 control characters and DEL (ESC/OSC/CSI sequences, BEL, CR, LF, TAB), and the
 * invisible characters that reorder or break a line (bidi overrides and isolates, line and
 * paragraph separators).
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/gu; // eslint-disable-line no-control-regex -- matching control characters is the point

/** Text for a terminal: every control character shown as a visible \u{..} escape, so nothing in
 * it can move the cursor, retitle the window, ring the bell or break a table row. */
export function terminalText(text: string): string {
  return text.replace(CONTROL, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`);
}

/**
 * One CSV cell: RFC 4180 quoting, and OWASP's advice against formula injection: a cell a spreadsheet
 * would read as a formula (starting with =, +, -, @, tab or carriage return) gets a leading `'`.
 * Cells holding `;` or a tab are quoted too, for spreadsheets that split on those.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",;\t\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
