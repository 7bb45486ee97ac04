import { describe, expect, it } from 'vitest';
import { budgetResets, fmtCountdown, fmtMoney, fmtMs, fmtNumber, parseMoney, pct, splitList } from './format';
import { translate } from './i18n';

describe('format', () => {
  it('counts down', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(fmtCountdown('2024-01-01T00:00:42Z', now)).toBe('42s');
    expect(fmtCountdown('2024-01-01T00:03:05Z', now)).toBe('3m 05s');
    expect(fmtCountdown('2024-01-01T02:01:00Z', now)).toBe('2h 01m');
    expect(fmtCountdown('2023-12-31T00:00:00Z', now)).toBe('0s');
  });
  it('formats and parses money exactly, in micro-units', () => {
    expect(fmtMoney(2500000)).toBe('2.50');
    expect(fmtMoney(1234)).toBe('0.001234');
    expect(fmtMoney(0, 'USD')).toBe('0.00 USD');
    expect(fmtMoney(10000000001)).toBe('10000.000001');
    expect(parseMoney('2.50')).toBe(2500000);
    expect(parseMoney('0.000001')).toBe(1);
    expect(parseMoney('3')).toBe(3000000);
    expect(parseMoney('0.1234567')).toBe(null);
    expect(parseMoney('-1')).toBe(null);
    expect(parseMoney('1e3')).toBe(null);
  });
  it('says when budgets reset', () => {
    const now = Date.parse('2024-02-29T23:30:00Z');
    expect(budgetResets('UTC', now)).toEqual({ day: '2024-03-01T00:00:00.000Z', month: '2024-03-01T00:00:00.000Z' });
    expect(budgetResets('UTC+08:00', now)).toEqual({ day: '2024-03-01T16:00:00.000Z', month: '2024-03-31T16:00:00.000Z' });
    expect(budgetResets('-05:00', now).day).toBe('2024-03-01T05:00:00.000Z');
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
