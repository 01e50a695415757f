/// <reference lib="dom" />
// The one way this app builds DOM: elements by tag, attributes by name, and every string child as a text
// node. Model output and run data are untrusted, so no HTML string is ever parsed (no innerHTML), and no
// data ever names an element or an attribute.

export type Child = Node | string | null | undefined | false;

/** Attribute names are always literals in this app's code; event handler attributes are refused anyway. */
export function h<Tag extends keyof HTMLElementTagNameMap>(
  tag: Tag,
  attributes: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[Tag] {
  const element = document.createElement(tag);
  setAttributes(element, attributes);
  element.append(...children.filter((child): child is Node | string => child !== null && child !== undefined && child !== false));
  return element;
}

/** A custom element (vscode-elements), built the same way. */
export function custom(tag: `vscode-${string}`, attributes: Record<string, string | undefined> = {}, ...children: Child[]): HTMLElement {
  const element = document.createElement(tag);
  setAttributes(element, attributes);
  element.append(...children.filter((child): child is Node | string => child !== null && child !== undefined && child !== false));
  return element;
}

function setAttributes(element: Element, attributes: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (/^on/i.test(name)) throw new Error(`refusing event handler attribute ${name}`);
    if (value !== undefined) element.setAttribute(name, value);
  }
}
