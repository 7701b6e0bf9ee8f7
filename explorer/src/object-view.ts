/**
 * A proven object's JSON view (the module's own, rendered in the browser from the proven
 * bytes) as the page shows it: its fields as a definition list — addresses linked to their
 * accounts, hashes shortened — an asset's lease and the grants of an asset or a document as
 * their own lists, and a freeze order with its legal basis. Nothing here is taken from the
 * node: the caller renders only what verifyStateProof returned.
 */
import { type Children, fields, h, json, link, short, table } from './dom.ts';

type Json = Record<string, unknown>;

/** Labels where the field's name alone would not say enough. */
const LABELS: Readonly<Record<string, string>> = {
  org: 'Organisation',
  hist: 'History hash',
  rev: 'Revision',
  metaHash: 'Metadata hash',
  schemaHash: 'Schema hash',
  termsHash: 'Terms hash',
  purposeHash: 'Purpose hash',
  dataHash: 'Data hash',
  disclosureHash: 'Disclosure hash',
  legalBasis: 'Legal basis',
  anchoredBy: 'Anchored by',
  supersededBy: 'Superseded by',
  lastRecord: 'Last record',
  lastAccess: 'Last access',
  records: 'Records appended',
  accesses: 'Accesses logged',
  issuerOrg: 'Issuer organisation',
  transferNeedsAcceptance: 'Transfer needs acceptance',
};

/** endHeight → "End height". */
function label(name: string): string {
  const known = LABELS[name];
  if (known !== undefined) return known;
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return `${words.charAt(0).toUpperCase()}${words.slice(1)}`;
}

function isAddress(value: string): boolean {
  return /^[0-9a-f]{40}$/.test(value);
}

/** One value: an address links to its account, a hash is shortened, a list is joined. */
export function valueView(value: unknown): Children {
  if (value === null || value === undefined) return 'none';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') {
    if (isAddress(value)) return link(`#/object/bank/${value}`, short(value, 12));
    if (/^[0-9a-f]{64,}$/.test(value)) return short(value, 16);
    return value;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return 'none';
    if (value.every((v) => typeof v !== 'object' || v === null)) {
      return value.map((v, i) => [i > 0 ? ', ' : null, valueView(v)]);
    }
    return json(value);
  }
  return fields(Object.entries(value as Json).map(([k, v]) => [label(k), valueView(v)]));
}

/** An asset's lease: who holds it, since when, and from when the owner may end it alone. */
function leaseView(lease: Json | null): HTMLElement {
  if (lease === null) return h('p', { 'data-lease': 'none' }, 'Not leased: the owner holds it.');
  const lessee = String(lease.lessee);
  return h(
    'div',
    { 'data-lease': 'leased' },
    fields([
      ['Lessee', link(`#/object/bank/${lessee}`, short(lessee, 12))],
      ['Since', ['height ', link(`#/block/${lease.since}`, String(lease.since))]],
      ['Ends', `the lessee may end it any time; the owner alone from height ${lease.endHeight} on`],
      ['Terms', ['hash of the lease contract ', short(String(lease.termsHash), 16)]],
    ]),
  );
}

/** Whether a grant still holds at the proven height. */
function validity(untilHeight: unknown, provenAt: number): string {
  return Number(untilHeight) >= provenAt
    ? `valid to height ${untilHeight}`
    : `expired after height ${untilHeight}`;
}

/** An asset's grants: who may append which kinds of record, given by whom, until when. */
function assetGrantsView(grants: Json[], provenAt: number): HTMLElement {
  if (grants.length === 0) return h('p', { 'data-grants': 'none' }, 'No grants.');
  return table(
    'Who may append records to this asset; a grant the lessee gave ends with the lease',
    ['Grantee', 'Record kinds', 'Given by', 'Validity'],
    grants.map((g) => [
      valueView(g.grantee),
      (g.kinds as string[]).map((k, i) => [i > 0 ? ', ' : null, h('code', {}, k)]),
      valueView(g.grantor),
      validity(g.untilHeight, provenAt),
    ]),
    { 'data-grants': 'asset' },
  );
}

/** A document's grants: which organisation may receive which fields, for what, until when. */
function docGrantsView(grants: Json[], provenAt: number): HTMLElement {
  if (grants.length === 0) return h('p', { 'data-grants': 'none' }, 'No grants.');
  return table(
    'Organisations that may receive fields of this document, for a purpose, and log each access',
    ['Organisation', 'Fields', 'Purpose hash', 'Since', 'Validity'],
    grants.map((g) => [
      link(`#/object/org/${g.org}`, String(g.org)),
      (g.fields as string[]).map((f, i) => [i > 0 ? ', ' : null, h('code', {}, f)]),
      valueView(g.purposeHash),
      ['height ', link(`#/block/${g.since}`, String(g.since))],
      validity(g.untilHeight, provenAt),
    ]),
    { 'data-grants': 'doc' },
  );
}

/**
 * The proven value of `module`'s object, proven at height `provenAt`: its fields, then the
 * lease and grants where the module has them, then the JSON as the module renders it.
 */
export function objectView(module: string, value: Json, provenAt: number): HTMLElement {
  const sections: Array<[string, HTMLElement]> = [];
  const rest = { ...value };
  if (module === 'asset' && 'lease' in value) {
    sections.push(['Lease', leaseView(value.lease as Json | null)]);
    delete rest.lease;
  }
  if ((module === 'asset' || module === 'doc') && Array.isArray(value.grants)) {
    const grants = value.grants as Json[];
    sections.push([
      `Grants (${grants.length})`,
      module === 'asset' ? assetGrantsView(grants, provenAt) : docGrantsView(grants, provenAt),
    ]);
    delete rest.grants;
  }
  return h(
    'div',
    { class: 'object-view', 'data-object': module },
    fields(Object.entries(rest).map(([k, v]) => [label(k), valueView(v)])),
    sections.map(([title, body]) => [h('h3', {}, title), body]),
    h('details', {}, h('summary', {}, 'The value as JSON'), json(value)),
  );
}

/**
 * A freeze order: in force, lifted, or approved by fewer regulators than the threshold; on
 * what legal basis, for what reason, by whom (the module keeps the regulators of the order in
 * force, or toward it: a lift clears them); proven at height `provenAt`.
 */
export function freezeView(order: Json | null, provenAt: number): HTMLElement {
  if (order === null) {
    return h('p', { 'data-freeze': 'never' }, 'Never frozen (proven: no freeze order names it).');
  }
  const approvals = (order.approvals as string[]) ?? [];
  const lifts = (order.lifts as string[]) ?? [];
  const state = order.active === true ? 'active' : approvals.length > 0 ? 'approving' : 'lifted';
  const status = {
    active: `Frozen since height ${order.since}: it cannot be disposed of, only observed`,
    approving: `Not frozen: ${approvals.length} regulator(s) approved an order, fewer than the threshold`,
    lifted: `Not frozen: the order was lifted at height ${order.since}`,
  }[state];
  return h(
    'div',
    { 'data-freeze': state },
    fields([
      ['Status', h('strong', {}, status)],
      ['Legal basis', ['hash of the order document ', short(String(order.legalBasis), 16)]],
      ['Reason', String(order.reason)],
      ...(approvals.length > 0
        ? [[state === 'active' ? 'Imposed by' : 'Approved by', valueView(approvals)] as const]
        : []),
      ...(lifts.length > 0 ? [['Lifting so far', valueView(lifts)] as const] : []),
      ['Revision', `${order.rev}, proven at height ${provenAt}`],
    ]),
    h('details', {}, h('summary', {}, 'The order as JSON'), json(order)),
  );
}
