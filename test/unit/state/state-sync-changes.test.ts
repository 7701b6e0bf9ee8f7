/**
 * State sync across validator-set changes (docs/STATE-SYNC.md, "Trust"): real ledgers on a
 * chain whose set changes three times through governance, as a live chain does it — an
 * observer voted in after proving it is ready (block 12), a validator's key rotated (40), a
 * validator voted out in the snapshot's own block (120) — every block certified by a quorum
 * of the set in force at its height, the first members of the set signing. A joiner syncs
 * at 120, holds the same change log as the source, and validates 121..140 (certified by the
 * set the last change put in force) to the source's roots.
 *
 * Before it, the peers it asks first are each refused with STATE_SYNC_UNVERIFIED and the
 * next one used: a fork whose blocks after 120 are certified by the previous set (a
 * removed validator among the signers) offering a higher snapshot; three peers that each
 * hide one change from kind 7; a peer forging the rotation with a minority of the set
 * before it; a peer forging the last change with strangers' keys.
 *
 * The joiner then serves the next one (STATE-SYNC.md, item 8): it holds the blocks of the
 * first two changes (12 and 40, below its S − 63) only as the import's records of their
 * headers and certificates, and from them it answers GET /validators/changes' read (checked
 * as a light client does) and kind 7: a second node syncs at 160 from it alone.
 *
 * Whom the joiner lets in on such a chain (state-sync-members.ts): the genesis validators
 * and the keys in its bootstrap peers' ids.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { ValidatorChangesResponse } from '../../../src/api/types.ts';
import { civitasStateMachine } from '../../../src/app/index.ts';
import {
  type CommitCertificate,
  DEFAULT_PARAMS,
  decodeCertificate,
  encodeCertificate,
  encodeHeader,
  type Genesis,
  type Header,
  headerHash,
  makeTx,
  makeValidatorSet,
  type Receipt,
  type SealedBlock,
  type Tx,
  TxVerifier,
  type ValidatorSet,
  voteSigningHash,
} from '../../../src/chain/index.ts';
import { verifyValidatorChanges } from '../../../src/client/validator-changes.ts';
import { encode } from '../../../src/codec/writer.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { generateKeyPair, type KeyPair, sign, verifyNative } from '../../../src/crypto/ed25519.ts';
import { CivitasError, codeOf } from '../../../src/errors/index.ts';
import { MAX_CHANGES_PER_REQUEST } from '../../../src/node/block-sync.ts';
import { stateSync, stateSyncSource } from '../../../src/node/state-sync.ts';
import { stateSyncMembers } from '../../../src/node/state-sync-members.ts';
import { peerIdFromValidatorKey } from '../../../src/p2p/index.ts';
import { Ledger } from '../../../src/state/ledger.ts';
import { ChainStore } from '../../../src/state/store.ts';
import { encodeValidatorKeys } from '../../../src/state/validator-log.ts';
import { makeTestChain } from '../../helpers/chain.ts';
import { ledgerSyncServers } from '../../helpers/sync-servers.ts';
import { tempDir } from '../../helpers/temp.ts';
import { op, type Party, party } from '../app/harness.ts';

const CHAIN_ID = 'civitas-reconfigured';
const SPACING = 16;
const LIFETIME = 100;
/** The snapshot's height, and the block of the last change. */
const S = 120;
const FORK_SNAPSHOT = 130;
const END = 140;
/** The joiner's own snapshot: its blocks (from S − 63) cover this snapshot's lifetime window. */
const RELAY_SNAPSHOT = 160;

const validation = () => {
  const verifier = new TxVerifier();
  return {
    verifySignatures: (txs: readonly Tx[], hashes: readonly Uint8Array[]) =>
      verifier.verify(txs, hashes),
    checkSignature: verifyNative,
  };
};

/**
 * A COMMIT certificate of `block` by the members of `set` at `signers` (default: the first
 * quorum), with `keys` (by hex public key) standing in for whoever signs at those indices.
 */
function certifyBy(
  keys: ReadonlyMap<string, KeyPair>,
  set: ValidatorSet,
  block: { header: { height: number; timestamp: number }; hash: Uint8Array },
  signers: readonly KeyPair[] = set.validators.slice(0, set.quorum).map((k) => keys.get(toHex(k))!),
): CommitCertificate {
  const timestamp = block.header.timestamp + 1_000;
  return {
    height: block.header.height,
    view: 0,
    blockHash: block.hash,
    signatures: signers.map((signer, validatorIndex) => ({
      validatorIndex,
      signature: sign(
        voteSigningHash('commit', CHAIN_ID, block.header.height, 0, block.hash, timestamp),
        signer.secretKey,
      ),
      timestamp,
    })),
  };
}

/** The chain: its parties, and the source ledger every block is built on (and `followers`). */
class Reconfigured {
  readonly keys = new Map<string, KeyPair>();
  readonly source: Ledger;
  readonly followers: Ledger[];
  readonly admins: readonly Party[];
  readonly users: readonly Party[];
  private readonly nonces = new Map<string, number>();

  constructor(
    ledgers: { source: Ledger; followers: Ledger[] },
    parties: { admins: readonly Party[]; users: readonly Party[]; signers: readonly KeyPair[] },
  ) {
    this.source = ledgers.source;
    this.followers = ledgers.followers;
    this.admins = parties.admins;
    this.users = parties.users;
    for (const k of parties.signers) this.keys.set(toHex(k.publicKey), k);
  }

  tx(from: Party, ops: Parameters<typeof makeTx>[0]['ops']): Tx {
    const nonce = this.nonces.get(from.hex) ?? 0;
    this.nonces.set(from.hex, nonce + 1);
    return makeTx(
      {
        chainId: CHAIN_ID,
        sender: from.keys.publicKey,
        nonce,
        expiryHeight: this.source.height + 50,
        ops,
        cosigners: [],
      },
      from.keys.secretKey,
    );
  }

  /** The next block, certified by the set in force at its height, on every ledger. */
  async block(txs: Tx[]): Promise<readonly Receipt[]> {
    const { source } = this;
    const height = source.height + 1;
    const set = source.validatorsAt(height);
    const { block, executed } = await source.buildBlock({
      txs,
      proposer: set.validators[0]!,
      lastCommit: source.tip.certificate,
    });
    const certificate = certifyBy(this.keys, set, block);
    await source.commit(block, certificate, executed);
    for (const f of this.followers) {
      await f.commit(block, certificate, await f.validateBlock(block, validation()));
    }
    for (const l of [source, ...this.followers]) await l.snapshotsSettled();
    for (const r of executed.receipts) assert.equal(r.code, 'OK', `block ${height}: ${r.code}`);
    return executed.receipts;
  }

  /** Blocks with one transfer each until the chain is at `height`. */
  async fill(height: number): Promise<void> {
    while (this.source.height < height) {
      const from = this.users[this.source.height % this.users.length]!;
      const to = this.users[(this.source.height + 1) % this.users.length]!;
      await this.block([this.tx(from, [op('bank', 'transfer', { to: to.hex, amount: '1' })])]);
    }
  }

  /** A proposal of `actions` in block h − 1, three organisations' votes (passing it) in h. */
  async decide(actions: unknown[], h: number): Promise<void> {
    await this.fill(h - 2);
    const [proposed] = await this.block([
      this.tx(this.admins[0]!, [op('gov', 'propose', { actions, expiresAtHeight: h + 10 })]),
    ]);
    const id = Number(proposed!.events.find((e) => e.type === 'gov.proposed')!.attributes[0]![1]);
    const receipts = await this.block(
      this.admins.slice(0, 3).map((a) => this.tx(a, [op('gov', 'vote', { id })])),
    );
    const failed = receipts.at(-1)!.events.find((e) => e.type === 'gov.failed');
    assert.equal(failed, undefined, `proposal at ${h}: ${JSON.stringify(failed?.attributes)}`);
  }

  /** `who` proves it holds its key and follows the chain (validators.ready). */
  async ready(who: Party): Promise<void> {
    await this.block([
      this.tx(who, [
        op('validators', 'ready', {
          publicKey: toHex(who.keys.publicKey),
          recentBlockHash: toHex(this.source.tip.hash),
        }),
      ]),
    ]);
  }
}

/** A validator change as kind 7 carries it: the new set and the block that made it. */
interface Change {
  readonly fromHeight: number;
  readonly set: ValidatorSet;
  readonly header: Header;
  readonly certificate: CommitCertificate;
}

/** Kind 7's frame of one change, as stateSyncSource encodes it. */
function changeFrame(c: Change): Uint8Array {
  return encode((w) =>
    w
      .varuint(c.fromHeight)
      .bytes(encodeValidatorKeys(c.set))
      .bytes(encodeHeader(c.header))
      .bytes(encodeCertificate(c.certificate)),
  );
}

/** The source's answers, with kind 7 replaced by `changes` (an attacker's). */
function servingChanges(source: Ledger, changes: readonly Change[]) {
  const frames = changes.map(changeFrame);
  return {
    ledger: source,
    snapshots: {
      ...stateSyncSource(source),
      validatorChanges: async (first: number) =>
        frames.slice(first, first + MAX_CHANGES_PER_REQUEST),
    },
  };
}

/** `change` with its block's header naming `set` next, certified by `signers` at 0, 1, … */
function forged(change: Change, set: ValidatorSet, signers: readonly KeyPair[]): Change {
  const header = { ...change.header, nextValidatorSetHash: set.hash };
  const block = { header, hash: headerHash(header) };
  return { ...change, set, header, certificate: certifyBy(new Map(), set, block, signers) };
}

describe('state sync across validator-set changes', () => {
  test('follows three changes to the snapshot; refuses hidden, forged and outdated ones; serves the next joiner', async (t) => {
    const dir = await tempDir(t, 'civitas-state-sync-changes-');
    const validators = Array.from({ length: 4 }, () => generateKeyPair());
    const [c1, c2] = [party(), party()];
    const admins = Array.from({ length: 4 }, () => party());
    const users = Array.from({ length: 8 }, () => party());
    const genesis: Genesis = {
      chainId: CHAIN_ID,
      genesisTime: 1_700_000_000_000,
      validators: validators.map((k, i) => ({ name: `v${i}`, publicKey: k.publicKey })),
      accounts: [...admins, c1, c2, ...users].map((p) => ({
        address: p.address,
        balance: 1_000_000n,
      })),
      params: { ...DEFAULT_PARAMS, validatorChangeSpacing: SPACING, maxTxLifetime: LIFETIME },
      app: { org: admins.map((a, i) => ({ id: `org${i}`, name: `Org ${i}`, admins: [a.hex] })) },
    };
    const snapshots = { kept: 1, maxChunkBytes: 512 };
    const source = await Ledger.open(join(dir, 'source'), genesis, civitasStateMachine(), {
      snapshots: { ...snapshots, interval: S },
    });
    t.after(() => source.close());
    // A fork: the same blocks to S, then its own, certified by the set before the last change.
    const fork = await Ledger.open(join(dir, 'fork'), genesis, civitasStateMachine(), {
      snapshots: { ...snapshots, interval: FORK_SNAPSHOT },
    });
    t.after(() => fork.close());
    const chain = new Reconfigured(
      { source, followers: [fork] },
      { admins, users, signers: [...validators, c1.keys, c2.keys] },
    );
    const entry = (p: Party, name: string) => ({ publicKey: toHex(p.keys.publicKey), name });

    await chain.decide(
      [
        { call: 'validators.addObserver', args: entry(c1, 'c1') },
        { call: 'validators.addObserver', args: entry(c2, 'c2') },
      ],
      2,
    );
    await chain.ready(c1);
    await chain.decide([{ call: 'validators.add', args: entry(c1, 'c1') }], 12);
    await chain.fill(36);
    await chain.ready(c2);
    await chain.decide(
      [
        {
          call: 'validators.replace',
          args: { old: toHex(validators[1]!.publicKey), new: toHex(c2.keys.publicKey), name: 'c2' },
        },
      ],
      40,
    );
    await chain.decide(
      [{ call: 'validators.remove', args: { publicKey: toHex(validators[3]!.publicKey) } }],
      S,
    );
    const sets = [
      validators.map((k) => k.publicKey),
      [...validators.map((k) => k.publicKey), c1.keys.publicKey],
      [validators[0]!, c2.keys, validators[2]!, validators[3]!, c1.keys].map((k) => k.publicKey),
      [validators[0]!, c2.keys, validators[2]!, c1.keys].map((k) => k.publicKey),
    ].map(makeValidatorSet);
    assert.deepEqual(
      source.validatorChanges().map((c) => [c.fromHeight, toHex(c.set.hash)]),
      [13, 41, S + 1].map((h, i) => [h, toHex(sets[i + 1]!.hash)]),
    );

    // The fork goes on with the previous set signing (v3, removed at S, among them).
    chain.followers.length = 0;
    while (fork.height < FORK_SNAPSHOT) {
      const { block, executed } = await fork.buildBlock({
        txs: [],
        proposer: validators[0]!.publicKey,
        lastCommit: fork.tip.certificate,
      });
      await fork.commit(block, certifyBy(chain.keys, sets[2]!, block), executed);
      await fork.snapshotsSettled();
    }
    await chain.fill(END);

    // Kind 7 as the source serves it, and attackers' versions of it.
    const honest: Change[] = await Promise.all(
      source.validatorChanges().map(async ({ fromHeight, set }) => ({
        fromHeight,
        set,
        header: (await source.store.getBlock(fromHeight - 1))!.header,
        certificate: decodeCertificate((await source.store.getCertificateBytes(fromHeight - 1))!),
      })),
    );
    const strangers = Array.from({ length: 4 }, () => generateKeyPair());
    const strangersSet = makeValidatorSet(strangers.map((k) => k.publicKey));
    const minority = sets[1]!.validators.slice(0, sets[1]!.quorum - 1);
    const p2p = ledgerSyncServers({
      'previous-set': fork,
      'hides-1': servingChanges(source, [honest[1]!, honest[2]!]),
      'hides-2': servingChanges(source, [honest[0]!, honest[2]!]),
      'hides-3': servingChanges(source, [honest[0]!, honest[1]!]),
      minority: servingChanges(source, [
        honest[0]!,
        forged(
          honest[1]!,
          strangersSet,
          minority.map((k) => chain.keys.get(toHex(k))!),
        ),
        honest[2]!,
      ]),
      strangers: servingChanges(source, [
        honest[0]!,
        honest[1]!,
        forged(honest[2]!, strangersSet, strangers),
      ]),
      source,
    });
    const store = await ChainStore.open(join(dir, 'joiner'));
    const result = await stateSync(
      { p2p, store, check: verifyNative },
      genesis,
      ['previous-set', 'hides-1', 'hides-2', 'hides-3', 'minority', 'strangers', 'source'],
      { timeoutMs: 2_000 },
    );
    await store.close();
    assert.equal(result.height, S);
    assert.equal(result.peer, 'source');
    const refusals = result.refused.map((r) => [
      r.peer,
      codeOf(r.error),
      (r.error as Error).message,
      r.error instanceof CivitasError ? r.error.context.cause : undefined,
    ]);
    assert.deepEqual(refusals, [
      [
        'previous-set',
        'STATE_SYNC_UNVERIFIED',
        `the certificate of block ${FORK_SNAPSHOT}: invalid signature from validator 3`,
        'CERT_BAD_SIGNATURE',
      ],
      [
        'hides-1',
        'STATE_SYNC_UNVERIFIED',
        'validator change at 41: block 40 names another validator set than the changes before it put in force',
        undefined,
      ],
      [
        'hides-2',
        'STATE_SYNC_UNVERIFIED',
        `validator change at ${S + 1}: block ${S} names another validator set than the changes before it put in force`,
        undefined,
      ],
      [
        'hides-3',
        'STATE_SYNC_UNVERIFIED',
        `block ${S} names another next validator set than the changes put in force`,
        undefined,
      ],
      [
        'minority',
        'STATE_SYNC_UNVERIFIED',
        `validator change at 41: certificate has ${sets[1]!.quorum - 1} signatures, quorum is ${sets[1]!.quorum}`,
        'CERT_NO_QUORUM',
      ],
      [
        'strangers',
        'STATE_SYNC_UNVERIFIED',
        `validator change at ${S + 1}: invalid signature from validator 0`,
        'CERT_BAD_SIGNATURE',
      ],
    ]);

    const synced = await Ledger.open(join(dir, 'joiner'), genesis, civitasStateMachine(), {
      snapshots: { ...snapshots, interval: RELAY_SNAPSHOT },
    });
    t.after(() => synced.close());
    assert.deepEqual(
      synced.validatorChanges().map((c) => [c.fromHeight, toHex(c.set.hash)]),
      source.validatorChanges().map((c) => [c.fromHeight, toHex(c.set.hash)]),
    );
    assert.equal(toHex(synced.validatorsAt(S + 1).hash), toHex(sets[3]!.hash));
    // Block sync from S+1: each block's last commit is checked against the set of its parent
    // (the rotated one at S+1), its header against the set the removal put in force.
    for (let h = S + 1; h <= END; h++) {
      const block = (await source.store.getBlock(h)) as SealedBlock;
      const executed = await synced.validateBlock(block, validation());
      await synced.commit(block, (await source.store.getCertificate(h))!, executed);
      assert.equal(toHex(synced.tip.stateRoot), toHex(block.header.stateRoot), `root at ${h}`);
    }

    // The joiner's change log as GET /validators/changes reads it, though it holds neither
    // block 12 nor 40: a light client trusting the genesis set verifies every change.
    for (const h of [12, 40]) {
      await assert.rejects(synced.store.getBlock(h), (e) => codeOf(e) === 'LEDGER_BLOCK_PRUNED');
    }
    const response: ValidatorChangesResponse = {
      height: synced.height,
      changes: await Promise.all(
        synced.validatorChanges().map(async ({ fromHeight, set }) => {
          const made = await synced.store.validatorChangeBlock(fromHeight - 1);
          assert.ok(made, `the block of the change at ${fromHeight}`);
          return {
            fromHeight,
            validators: set.validators.map(toHex),
            headerBytes: toHex(made.header),
            certificateBytes: toHex(made.certificate),
          };
        }),
      ),
    };
    const verified = verifyValidatorChanges(
      { chainId: CHAIN_ID, validators: sets[0]! },
      response,
      verifyNative,
    );
    assert.deepEqual(
      verified.changes.map((c) => [c.fromHeight, toHex(c.set.hash)]),
      [13, 41, S + 1].map((h, i) => [h, toHex(sets[i + 1]!.hash)]),
    );

    // A second node joins from the first joiner alone, at the joiner's own snapshot.
    chain.followers.push(synced);
    await chain.fill(RELAY_SNAPSHOT);
    const second = await ChainStore.open(join(dir, 'second'));
    const relayed = await stateSync(
      { p2p: ledgerSyncServers({ joiner: synced }), store: second, check: verifyNative },
      genesis,
      ['joiner'],
      { timeoutMs: 2_000 },
    );
    await second.close();
    assert.equal(relayed.height, RELAY_SNAPSHOT);
    assert.deepEqual(relayed.refused, []);
    const next = await Ledger.open(join(dir, 'second'), genesis, civitasStateMachine());
    t.after(() => next.close());
    assert.deepEqual(
      next.validatorChanges().map((c) => [c.fromHeight, toHex(c.set.hash)]),
      source.validatorChanges().map((c) => [c.fromHeight, toHex(c.set.hash)]),
    );
    const block12 = (await source.store.getBlock(12))!;
    assert.equal(
      toHex((await next.store.validatorChangeBlock(12))!.header),
      toHex(encodeHeader(block12.header)),
    );
    assert.equal(toHex(next.tip.stateRoot), toHex(source.tip.stateRoot));
  });

  test("the joiner's members: the genesis validators and the keys of its bootstrap peers", () => {
    const { genesis, validatorKeys } = makeTestChain({ validators: 2 });
    const current = generateKeyPair().publicKey;
    const address = (key: Uint8Array) =>
      `/ip4/127.0.0.1/tcp/7000/p2p/${peerIdFromValidatorKey(key)}`;
    const members = stateSyncMembers(genesis, [
      address(current),
      address(validatorKeys[1]!.publicKey),
      '/ip4/127.0.0.1/tcp/7001',
      '/ip4/127.0.0.1/tcp/7002/p2p/not-a-peer-id',
    ]);
    assert.deepEqual(
      members.map(toHex),
      [...validatorKeys.map((k) => k.publicKey), current].map(toHex),
    );
  });
});
