import { useState } from 'react';
import { useI18n } from '../../lib/i18n';
import { Button } from './button';

// Copies text; falls back to selecting a hidden textarea where the
// Clipboard API is unavailable (plain HTTP on another host).
export function CopyButton({ text }: { text: string }) {
  const { t } = useI18n();
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const ta = document.createElement('textarea');
      ta.value = text;
      document.body.appendChild(ta);
      ta.select();
      document.execCommand('copy');
      ta.remove();
    }
    setDone(true);
    setTimeout(() => setDone(false), 2000);
  };
  return (
    <Button variant="secondary" size="sm" onClick={copy}>
      {done ? t('common.copied') : t('common.copy')}
    </Button>
  );
}
