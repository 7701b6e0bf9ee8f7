/**
 * Receivables: what a debtor owes, as pieces that can be split, moved and settled.
 *
 *   recv/p/<id>   Piece { root, parent | (face, outstanding), debtor, holder, amount,
 *                         dueHeight, status, history }
 *
 * `recv.issue` creates a root piece (its `root` is its own id); `recv.split` carves a new
 * piece off a live one (same root, debtor and due height, `parent` the piece split). Only
 * the root piece records the face amount issued and the outstanding amount (face minus what
 * was settled), so one proven value states what the debtor still owes on the whole
 * receivable. The invariant the module keeps:
 *
 *   sum of the amounts of the live pieces of a root = the root's outstanding
 *
 * Pieces are never deleted: a settled piece keeps its amount (what was paid), its holder and
 * its history, and its id stays taken.
 */
import { ADDRESS_LENGTH } from '../../chain/address.ts';
import { decode, expectVersion } from '../../codec/reader.ts';
import { encode } from '../../codec/writer.ts';
import { concatBytes } from '../../crypto/bytes.ts';
import { CivitasError } from '../../errors/index.ts';
import { type History, readHistory, writeHistory } from '../history.ts';
import { checkObjectId, OBJECT_ID_MAX, objectIdBytes } from '../object-id.ts';
import type { StateRead, ValueCodec } from '../state-view.ts';

export const PIECE_STATUSES = ['live', 'settled'] as const;
export type PieceStatus = (typeof PIECE_STATUSES)[number];

/** What the root piece alone records about its whole receivable. */
export interface RootTotals {
  /** The amount issued. */
  readonly face: bigint;
  /** The face minus every settled piece: the sum of the live pieces. */
  readonly outstanding: bigint;
}

export interface Piece {
  /** The id of the root piece (the one issued); a root piece's own id. */
  readonly root: string;
  /** The piece this one was split from; null on the root piece. */
  readonly parent: string | null;
  /** Set on the root piece only (parent null). */
  readonly totals: RootTotals | null;
  /** Who owes (the issuer), and pays at settlement. */
  readonly debtor: Uint8Array;
  /** Who is owed: paid at settlement; splits and transfers the piece. */
  readonly holder: Uint8Array;
  /** The piece's amount (on a settled piece: what was paid). */
  readonly amount: bigint;
  /** The height the debtor promised to pay by (informational: a late settlement is allowed). */
  readonly dueHeight: number;
  readonly status: PieceStatus;
  readonly history: History;
}

const PIECE_PREFIX = objectIdBytes('recv/p/');

/** The state key of piece `id` (an object id, see object-id.ts). */
export function pieceKey(id: string): Uint8Array {
  return concatBytes(PIECE_PREFIX, objectIdBytes(id));
}

/** Origin tags: a root piece carries its totals, a split piece its parent. */
const ROOT_PIECE = 0;
const SPLIT_PIECE = 1;

export const pieceCodec: ValueCodec<Piece> = {
  encode: (p) =>
    encode((w) => {
      w.u8(1).string(p.root);
      if (p.totals !== null) w.u8(ROOT_PIECE).varbig(p.totals.face).varbig(p.totals.outstanding);
      else w.u8(SPLIT_PIECE).string(p.parent!);
      w.fixed(p.debtor, ADDRESS_LENGTH).fixed(p.holder, ADDRESS_LENGTH);
      w.varbig(p.amount).varuint(p.dueHeight).u8(PIECE_STATUSES.indexOf(p.status));
      writeHistory(w, p.history);
    }),
  decode: (bytes) =>
    decode(bytes, (r) => {
      expectVersion(r, 1, 'recv piece');
      const root = checkObjectId(r.string(OBJECT_ID_MAX), 'root', 'CODEC_BAD_VALUE');
      const tag = r.u8();
      let parent: string | null = null;
      let totals: RootTotals | null = null;
      if (tag === ROOT_PIECE) totals = { face: r.varbig(), outstanding: r.varbig() };
      else if (tag === SPLIT_PIECE) {
        parent = checkObjectId(r.string(OBJECT_ID_MAX), 'parent', 'CODEC_BAD_VALUE');
      } else throw new CivitasError('CODEC_BAD_VALUE', `recv piece: unknown origin ${tag}`);
      const debtor = r.fixed(ADDRESS_LENGTH);
      const holder = r.fixed(ADDRESS_LENGTH);
      const amount = r.varbig();
      const dueHeight = r.varuint();
      const status = PIECE_STATUSES[r.u8()];
      if (status === undefined) throw new CivitasError('CODEC_BAD_VALUE', 'recv piece: status');
      return {
        root,
        parent,
        totals,
        debtor,
        holder,
        amount,
        dueHeight,
        status,
        history: readHistory(r),
      };
    }),
};

/** The piece `id`, live or settled, if it was ever issued or split off. */
export function piece(state: StateRead, id: string): Piece | undefined {
  return state.get(pieceKey(id), pieceCodec);
}
