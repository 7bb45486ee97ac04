// Small formatting helpers shared by the pages.

export function fmtNumber(n: number | null | undefined): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

export function fmtMs(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  return n >= 10000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`;
}

export function fmtTime(iso: string | null | undefined, lang = 'en'): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(lang, { dateStyle: 'short', timeStyle: 'medium' });
}

// "1h 02m", "4m 05s", "12s": time left until iso from now.
export function fmtCountdown(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((new Date(iso).getTime() - now) / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

// "a, b\nc" -> ["a","b","c"]
export function splitList(s: string): string[] {
  return s
    .split(/[\n,]/)
    .map((x) => x.trim())
    .filter(Boolean);
}

export function pct(part: number, whole: number): string {
  if (!whole) return '0%';
  return `${((part / whole) * 100).toFixed(1)}%`;
}

// Micro-units as an exact decimal of units: 2500000 -> "2.50", 1234 ->
// "0.001234" (at least two decimals, never a float's rounding).
export function fmtMoney(micros: number | null | undefined, currency = ''): string {
  if (micros === null || micros === undefined || Number.isNaN(micros)) return '–';
  const neg = micros < 0;
  const v = Math.abs(Math.trunc(micros));
  let frac = String(v % 1000000).padStart(6, '0').replace(/0+$/, '');
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  const s = `${neg ? '-' : ''}${Math.floor(v / 1000000)}.${frac}`;
  return currency ? `${s} ${currency}` : s;
}

// "2.50" -> 2500000: units (up to six decimals) as micro-units; null
// when it is not such a number.
export function parseMoney(s: string): number | null {
  const m = /^\s*(\d+)(?:\.(\d{0,6}))?\s*$/.exec(s);
  if (!m) return null;
  return Number(m[1]) * 1000000 + Number((m[2] ?? '').padEnd(6, '0'));
}

// When the days and months of budgets next begin, at BUDGET_TIMEZONE
// (UTC or a fixed offset such as UTC+08:00), from now.
export function budgetResets(tz: string | undefined, now = Date.now()): { day: string; month: string } {
  const m = /^(?:UTC|GMT)?(?:([+-])(\d{1,2})(?::(\d\d))?)?$/.exec(tz ?? 'UTC');
  const off = m && m[1] ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60) * 1000 : 0;
  const local = new Date(now + off);
  const day = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + 1) - off;
  const month = Date.UTC(local.getUTCFullYear(), local.getUTCMonth() + 1, 1) - off;
  return { day: new Date(day).toISOString(), month: new Date(month).toISOString() };
}
