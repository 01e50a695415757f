// Virtual scrolling arithmetic for a list of fixed-height rows: which rows to render for a scroll position,
// and where to scroll so that a row is visible. Pure, so it is unit-tested in Node.

export interface Viewport {
  scrollTop: number;
  /** Visible height of the scrolling element, in pixels. */
  height: number;
  rowHeight: number;
}

export interface RowWindow {
  /** First row to render. */
  start: number;
  /** One past the last row to render. */
  end: number;
  /** The rendered rows' offset from the top of the list, in pixels (start × rowHeight). */
  offset: number;
}

/** The rows that intersect the viewport, plus `overscan` rows on each side, clamped to [0, count). */
export function rowWindow(viewport: Viewport, count: number, overscan = 8): RowWindow {
  if (count <= 0 || viewport.rowHeight <= 0) return { start: 0, end: 0, offset: 0 };
  const first = Math.floor(Math.max(0, viewport.scrollTop) / viewport.rowHeight);
  const visible = Math.ceil(Math.max(0, viewport.height) / viewport.rowHeight) + 1;
  const start = Math.min(count, Math.max(0, first - overscan));
  const end = Math.min(count, first + visible + overscan);
  return { start, end, offset: start * viewport.rowHeight };
}

/** The scrollTop that brings row `index` fully into view with the least movement (unchanged if it is). */
export function revealRow(viewport: Viewport, index: number): number {
  const top = index * viewport.rowHeight;
  const bottom = top + viewport.rowHeight;
  if (top < viewport.scrollTop) return top;
  if (bottom > viewport.scrollTop + viewport.height) return Math.max(0, bottom - viewport.height);
  return viewport.scrollTop;
}

/** Rows that fit in the viewport (Page Up / Page Down move by this many). */
export function pageRows(viewport: Viewport): number {
  return Math.max(1, Math.floor(viewport.height / viewport.rowHeight) - 1);
}
