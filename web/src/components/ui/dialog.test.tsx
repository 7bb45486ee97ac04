import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { renderAt } from '../../test-utils';
import { Button } from './button';
import { ConfirmDialog, Dialog } from './dialog';
import { Input } from './form';

function Opener() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button onClick={() => setOpen(true)}>Open</Button>
      <Button>Behind</Button>
      <Dialog title="Edit thing" open={open} onClose={() => setOpen(false)} footer={<Button onClick={() => setOpen(false)}>Done</Button>}>
        <Input aria-label="Name" />
      </Dialog>
    </>
  );
}

describe('Dialog', () => {
  it('moves focus inside, keeps Tab there, closes on Escape and gives focus back to its trigger', async () => {
    const user = userEvent.setup();
    renderAt(<Opener />);
    const trigger = screen.getByRole('button', { name: 'Open' });
    await user.click(trigger);
    const dlg = await screen.findByRole('dialog', { name: 'Edit thing' });
    const name = screen.getByLabelText('Name');
    await waitFor(() => expect(name).toHaveFocus());

    // Tab goes round the dialog's controls, never to the page behind.
    await user.tab();
    expect(screen.getByRole('button', { name: 'Done' })).toHaveFocus();
    await user.tab();
    expect(name).toHaveFocus();
    await user.tab({ shift: true });
    expect(screen.getByRole('button', { name: 'Done' })).toHaveFocus();
    expect(dlg).toContainElement(document.activeElement as HTMLElement);

    // The page behind does not scroll while it is open.
    expect(document.documentElement.style.overflow).toBe('hidden');

    await user.keyboard('{Escape}');
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    await waitFor(() => expect(trigger).toHaveFocus());
    expect(document.documentElement.style.overflow).toBe('');
  });

  it('closes on a click outside it', async () => {
    const user = userEvent.setup();
    renderAt(<Opener />);
    await user.click(screen.getByRole('button', { name: 'Open' }));
    await screen.findByRole('dialog');
    await user.click(document.body);
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
  });
});

describe('ConfirmDialog', () => {
  it('is an alertdialog that starts on Cancel and cancels on Escape', async () => {
    const user = userEvent.setup();
    const onCancel = vi.fn();
    const onConfirm = vi.fn();
    renderAt(<ConfirmDialog open message="Delete g?" onCancel={onCancel} onConfirm={onConfirm} />);
    const dlg = await screen.findByRole('alertdialog', { name: 'Delete' });
    expect(dlg).toHaveTextContent('Delete g?');
    await waitFor(() => expect(screen.getByRole('button', { name: 'Cancel' })).toHaveFocus());
    await user.keyboard('{Escape}');
    expect(onCancel).toHaveBeenCalledOnce();
    expect(onConfirm).not.toHaveBeenCalled();
  });
});
