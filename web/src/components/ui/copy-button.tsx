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

// A secret shown once: selectable in one click, with its copy button.
export function SecretLine({ text, testId }: { text: string; testId?: string }) {
  return (
    <div className="flex items-center gap-2">
      <code
        data-testid={testId}
        className="min-w-0 flex-1 select-all break-all rounded bg-slate-100 px-2 py-1.5 font-mono text-xs dark:bg-slate-800"
      >
        {text}
      </code>
      <CopyButton text={text} />
    </div>
  );
}
