// Modal dialogs on Headless UI's Dialog: focus moves to the first control
// inside (as before; Headless UI alone would focus the dialog box) and
// stays inside (Tab wraps), Escape and a click outside close it,
// focus returns to what opened it, and the page behind neither scrolls nor
// is reachable (inert). Radix's dialog does the same, but its scroll lock
// injects a <style> element, which the gateway's CSP (style-src 'self',
// src/ui.c) refuses; Headless UI locks scrolling through element.style,
// which CSP allows.
import { Dialog as Root, DialogBackdrop, DialogPanel, DialogTitle } from '@headlessui/react';
import { ReactNode, useCallback, useRef } from 'react';
import { useI18n } from '../../lib/i18n';
import { Button } from './button';

export function Dialog({
  title,
  open,
  onClose,
  children,
  footer,
  wide,
  role = 'dialog',
}: {
  title: string;
  open: boolean;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  wide?: boolean;
  role?: 'dialog' | 'alertdialog';
}) {
  const first = useRef<HTMLElement | null>(null);
  const panel = useCallback((el: HTMLElement | null) => {
    first.current = el?.querySelector<HTMLElement>('input, select, textarea, button') ?? null;
  }, []);
  return (
    <Root open={open} onClose={onClose} role={role} initialFocus={first} className="relative z-50">
      <DialogBackdrop className="fixed inset-0 bg-slate-900/50" />
      <div className="fixed inset-0 flex items-end justify-center sm:items-center">
        <DialogPanel
          ref={panel}
          className={`relative flex max-h-[92vh] w-full flex-col rounded-t-xl bg-white shadow-xl dark:bg-slate-900 sm:rounded-xl ${
            wide ? 'sm:max-w-2xl' : 'sm:max-w-lg'
          }`}
        >
          <div className="flex items-center justify-between border-b border-slate-200 px-5 py-3 dark:border-slate-800">
            <DialogTitle as="h2" className="text-base font-semibold">
              {title}
            </DialogTitle>
          </div>
          <div className="overflow-y-auto px-5 py-4">{children}</div>
          {footer && (
            <div className="flex justify-end gap-2 border-t border-slate-200 px-5 py-3 dark:border-slate-800">{footer}</div>
          )}
        </DialogPanel>
      </div>
    </Root>
  );
}

// A confirmation (alertdialog): focus starts on Cancel, so Enter does not
// delete.
export function ConfirmDialog({
  open,
  message,
  onConfirm,
  onCancel,
  busy,
  confirmLabel,
}: {
  open: boolean;
  message: string;
  onConfirm: () => void;
  onCancel: () => void;
  busy?: boolean;
  confirmLabel?: string;
}) {
  const { t } = useI18n();
  return (
    <Dialog
      title={confirmLabel ?? t('common.delete')}
      open={open}
      onClose={onCancel}
      role="alertdialog"
      footer={
        <>
          <Button variant="secondary" onClick={onCancel}>
            {t('common.cancel')}
          </Button>
          <Button variant="danger" onClick={onConfirm} disabled={busy}>
            {confirmLabel ?? t('common.delete')}
          </Button>
        </>
      }
    >
      <p className="text-sm">{message}</p>
    </Dialog>
  );
}
