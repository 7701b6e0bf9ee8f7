/**
 * The verification badge: "Verifying…", then green "Verified" with what was checked, or red
 * "Not verified" with the VERIFY_* code and message of the check that failed. Tests and
 * assistive technology read its state from data-verify and role="status".
 */
import { h } from './dom.ts';

export interface BadgeResult {
  /** What was checked, in a sentence. */
  summary: string;
}

export function badge(label: string, check: () => Promise<BadgeResult>): HTMLElement {
  const el = h(
    'div',
    { class: 'badge pending', role: 'status', 'data-verify': 'pending' },
    h('strong', {}, 'Verifying…'),
    ` ${label}`,
  );
  check().then(
    (done) => {
      el.className = 'badge ok';
      el.dataset.verify = 'ok';
      el.replaceChildren(h('strong', {}, '✓ Verified'), ` ${label}: ${done.summary}`);
    },
    (err: Error & { code?: string }) => {
      const code = err.code ?? 'ERROR';
      el.className = 'badge failed';
      el.dataset.verify = 'failed';
      el.dataset.code = code;
      el.replaceChildren(
        h('strong', {}, '✗ Not verified'),
        ` ${label}: `,
        h('code', {}, code),
        ` — ${err.message}. What the page shows here is only what the node says.`,
      );
    },
  );
  return el;
}
