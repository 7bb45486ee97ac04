import { Switch as HSwitch } from '@headlessui/react';
import { forwardRef, InputHTMLAttributes, ReactNode, SelectHTMLAttributes, TextareaHTMLAttributes } from 'react';

// Full width unless the caller gives a width (w-48): Tailwind's own order
// would otherwise decide which of two widths wins.
const width = (c: string) => (/(^|\s)w-/.test(c) ? '' : 'w-full');
const base =
  'block rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900 placeholder-slate-400 focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500 dark:border-slate-600 dark:bg-slate-900 dark:text-slate-100';

export const Input = forwardRef<HTMLInputElement, InputHTMLAttributes<HTMLInputElement>>(function Input(
  { className = '', ...rest },
  ref,
) {
  return <input ref={ref} className={`${base} ${width(className)} ${className}`} {...rest} />;
});

export function Textarea({ className = '', ...rest }: TextareaHTMLAttributes<HTMLTextAreaElement>) {
  return <textarea className={`${base} ${width(className)} font-mono ${className}`} {...rest} />;
}

export function Select({ className = '', ...rest }: SelectHTMLAttributes<HTMLSelectElement>) {
  return <select className={`${base} ${width(className)} ${className}`} {...rest} />;
}

// A labelled field; the label wraps the control so clicking it focuses.
export function Field({ label, hint, children }: { label: string; hint?: string; children: ReactNode }) {
  return (
    <label className="block space-y-1">
      <span className="text-sm font-medium text-slate-700 dark:text-slate-300">{label}</span>
      {children}
      {hint && <span className="block text-xs text-slate-500 dark:text-slate-400">{hint}</span>}
    </label>
  );
}

// A switch on Headless UI's (role="switch", Space toggles it).
export function Switch({
  checked,
  onChange,
  label,
  disabled,
}: {
  checked: boolean;
  onChange: (v: boolean) => void;
  label: string;
  disabled?: boolean;
}) {
  return (
    <HSwitch
      checked={checked}
      onChange={onChange}
      aria-label={label}
      title={label}
      disabled={disabled}
      className="group relative inline-flex h-5 w-9 shrink-0 items-center rounded-full bg-slate-300 transition-colors focus:outline-none data-[checked]:bg-emerald-500 data-[disabled]:opacity-50 data-[focus]:ring-2 data-[focus]:ring-indigo-500 dark:bg-slate-600 dark:data-[checked]:bg-emerald-500"
    >
      <span className="inline-block h-4 w-4 translate-x-0.5 transform rounded-full bg-white shadow transition-transform group-data-[checked]:translate-x-4" />
    </HSwitch>
  );
}

export function Checkbox({ label, ...rest }: InputHTMLAttributes<HTMLInputElement> & { label: string }) {
  return (
    <label className="inline-flex items-center gap-2 text-sm">
      <input type="checkbox" className="h-4 w-4 rounded border-slate-300 text-indigo-600" {...rest} />
      {label}
    </label>
  );
}
