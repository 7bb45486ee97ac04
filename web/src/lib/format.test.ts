import { describe, expect, it } from 'vitest';
import { fmtCountdown, fmtMs, fmtNumber, pct, splitList } from './format';
import { translate } from './i18n';

describe('format', () => {
  it('counts down', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(fmtCountdown('2024-01-01T00:00:42Z', now)).toBe('42s');
    expect(fmtCountdown('2024-01-01T00:03:05Z', now)).toBe('3m 05s');
    expect(fmtCountdown('2024-01-01T02:01:00Z', now)).toBe('2h 01m');
    expect(fmtCountdown('2023-12-31T00:00:00Z', now)).toBe('0s');
  });
  it('formats numbers', () => {
    expect(fmtNumber(999)).toBe('999');
    expect(fmtNumber(12345)).toBe('12.3k');
    expect(fmtNumber(undefined)).toBe('–');
    expect(fmtMs(120)).toBe('120 ms');
    expect(pct(1, 4)).toBe('25.0%');
    expect(pct(1, 0)).toBe('0%');
  });
  it('splits lists', () => {
    expect(splitList('a, b\nc,,')).toEqual(['a', 'b', 'c']);
  });
  it('translates with variables, in both languages', () => {
    expect(translate('en', 'keys.added', { n: 3 })).toBe('Added 3 key(s).');
    expect(translate('zh-CN', 'keys.added', { n: 3 })).toBe('已添加 3 个密钥。');
  });
});
