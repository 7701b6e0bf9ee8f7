/** Building the page: elements from tag, attributes and children; short forms of hashes. */

export type Child = Node | string | number | null | undefined | false;
/** A child, or (nested) lists of them. */
export type Children = Child | readonly Children[];

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Readonly<Record<string, string | number | boolean | undefined>> = {},
  ...children: Children[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, ...children);
  return el;
}

export function append(el: Element, ...children: Children[]): void {
  for (const child of (children as Child[]).flat(Number.POSITIVE_INFINITY) as Child[]) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** The first and last characters of a long hex string, the whole of it in the title. */
export function short(hex: string, keep = 8): HTMLElement {
  const text = hex.length > keep * 2 + 1 ? `${hex.slice(0, keep)}…${hex.slice(-4)}` : hex;
  return h('code', { title: hex, class: 'hash' }, text);
}

export function link(href: string, ...children: Children[]): HTMLAnchorElement {
  return h('a', { href }, ...children);
}

/** A definition list of label/value pairs. */
export function fields(rows: ReadonlyArray<readonly [string, Children]>): HTMLElement {
  return h(
    'dl',
    { class: 'fields' },
    rows.map(([label, value]) => [h('dt', {}, label), h('dd', {}, value)]),
  );
}

/** A table with a caption and column headers; rows of cells. */
export function table(
  caption: string,
  columns: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<Children>>,
  attrs: Readonly<Record<string, string>> = {},
): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      attrs,
      h('caption', {}, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          columns.map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((cells) =>
          h(
            'tr',
            {},
            cells.map((c) => h('td', {}, c)),
          ),
        ),
      ),
    ),
  );
}

export function time(ms: number): HTMLElement {
  const date = new Date(ms);
  return h('time', { datetime: date.toISOString() }, date.toLocaleString());
}

/** JSON as an indented block, bigints as strings. */
export function json(value: unknown): HTMLElement {
  return h(
    'pre',
    { class: 'json' },
    JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2),
  );
}
