// A few helpers for building the pages from plain DOM elements: no framework, just elements
// made in one expression with their attributes, listeners and children.

type Child = Node | string | number | null | undefined | false;
// No `style`: the pages' Content-Security-Policy (style-src 'self') refuses style attributes. Use a
// class, or set the element's `style` properties from script (the CSSOM), which it allows.
type Attributes = Record<string, string | number | boolean | null | undefined | EventListener> & { style?: never };

/**
 * `h('button', { class: 'primary', onclick: go }, 'Svara')`. Attributes starting with `on` are
 * listeners; `false`, `null` and `undefined` leave an attribute out; `true` sets it empty.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else if (value !== false && value !== null && value !== undefined) {
      element.setAttribute(name, String(value));
    }
  }
  append(element, ...children);
  return element;
}

export function append(parent: Element, ...children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces everything inside `parent`. */
export function replace(parent: Element, ...children: (Child | Child[])[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** Says `text` to screen readers through the page's polite live region. */
export function announce(text: string): void {
  const region = document.getElementById('announcer');
  if (!region) return;
  // A change is what is read out: clear first so the same sentence twice is read twice.
  region.textContent = '';
  window.setTimeout(() => {
    region.textContent = text;
  }, 50);
}

let nextId = 0;
/** A fresh id for tying a label to its control. */
export function uid(prefix: string): string {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/** A labelled form field: the label above, the control, and a hint if any. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  control.id ||= uid('field');
  const hintElement = hint ? h('small', { id: `${control.id}-hint`, class: 'hint' }, hint) : null;
  if (hintElement) control.setAttribute('aria-describedby', hintElement.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintElement);
}

/** `<select>` with options given as [value, text]. */
export function select(name: string, options: [string, string][], selected?: string): HTMLSelectElement {
  return h(
    'select',
    { name },
    options.map(([value, text]) => h('option', { value, selected: value === selected }, text)),
  );
}

/** Minutes and seconds, e.g. 2:05; hours when it runs that long. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}
