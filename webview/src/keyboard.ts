// The pool's keyboard: one reducer from a key press (and where the selection is) to what the app does.
// Pure, so it is unit-tested in Node; main.ts only translates DOM events into `KeyPress`.
//
//   j / ↓  next row          k / ↑  previous row        g / Home, G / End  first / last row
//   PageDown / PageUp        a  accept                   v  veto           r  relabel (asks for the answer)
//   Enter  open the detail   /  search                   Escape  leave the search, close the detail

export interface KeyPress {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  /** The key went to a text field (search): only Escape and the arrows act on the list. */
  inTextField: boolean;
}

export interface ListPosition {
  /** Selected row's index in the view; -1 when none is selected or the filter hides it. */
  index: number;
  count: number;
  /** Rows per page, for Page Up / Page Down. */
  pageRows: number;
}

export type KeyAction =
  | { kind: 'select'; index: number }
  | { kind: 'accept' }
  | { kind: 'veto' }
  | { kind: 'relabel' }
  | { kind: 'open' }
  | { kind: 'focus-search' }
  | { kind: 'escape' };

/** Documented in the README; the app shows it as the list's hint. */
export const KEY_HELP = 'j/k or ↑/↓ move · Enter open · a accept · v veto · r relabel · / search · Esc close';

export function keyAction(press: KeyPress, position: ListPosition): KeyAction | null {
  if (press.ctrlKey || press.metaKey || press.altKey) return null;
  if (press.key === 'Escape') return { kind: 'escape' };
  if (press.inTextField) {
    if (press.key === 'ArrowDown') return move(position, 1);
    return null;
  }
  switch (press.key) {
    case 'j':
    case 'ArrowDown':
      return move(position, 1);
    case 'k':
    case 'ArrowUp':
      return move(position, -1);
    case 'PageDown':
      return move(position, position.pageRows);
    case 'PageUp':
      return move(position, -position.pageRows);
    case 'g':
    case 'Home':
      return position.count > 0 ? { kind: 'select', index: 0 } : null;
    case 'G':
    case 'End':
      return position.count > 0 ? { kind: 'select', index: position.count - 1 } : null;
    case '/':
      return { kind: 'focus-search' };
  }
  if (position.index < 0 || position.index >= position.count) return null;
  switch (press.key) {
    case 'a':
      return { kind: 'accept' };
    case 'v':
      return { kind: 'veto' };
    case 'r':
      return { kind: 'relabel' };
    case 'Enter':
      return { kind: 'open' };
  }
  return null;
}

function move(position: ListPosition, delta: number): KeyAction | null {
  if (position.count === 0) return null;
  // Nothing selected: the first step down lands on the first row, up on the last.
  if (position.index < 0) return { kind: 'select', index: delta > 0 ? 0 : position.count - 1 };
  const index = Math.min(position.count - 1, Math.max(0, position.index + delta));
  return index === position.index ? null : { kind: 'select', index };
}
