/**
 * Membership that changes without a halt, on four validator processes, through the CLI: a
 * fifth member makes its own key, is registered as an observer by governance, starts its node
 * from an observer home (it follows the chain and signs nothing), proves it is ready, is voted
 * in and signs blocks; a validator is killed with -9 and restarted while the set is five; one
 * original validator is voted out; and a light client holding only the genesis verifies a tx
 * committed after both changes, following the certified change log.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ValidatorsResponse } from '../../../src/api/types.ts';
import { httpJson } from '../../helpers/http.ts';
import {
  CLI_MAIN,
  type CliResult,
  randomBasePort,
  runCli,
  startChild,
} from '../../helpers/process.ts';
import { type BlockJson, TestNetwork, waitFor } from './helpers/test-network.ts';

/** Blocks between validator-set changes on this chain (the default, 64, would be slow here). */
const CHANGE_SPACING = 16;

function ok(r: CliResult, what: string): string {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test('a fifth member joins as observer, is voted in and signs; a validator is voted out', {
  timeout: 300_000,
}, async (t) => {
  const network = await TestNetwork.start(t, {
    validators: 4,
    accounts: 1,
    genesis: { validatorChangeSpacing: CHANGE_SPACING },
  });
  const { summary } = network;
  const rpc = summary.nodes[0]!.rpc;
  const admins = summary.organisations.map((o) => o.admin.file);
  const cli = (...args: string[]) => runCli([...args, '--rpc', rpc]);
  const call = (method: string, args: unknown, key: string, ...extra: string[]) =>
    cli('tx', 'call', method, '--args', JSON.stringify(args), '--key', key, '--wait', ...extra);
  const height = async () => (await httpJson<{ height: number }>(`${rpc}/status`)).body.height;
  const validators = async (url = rpc) =>
    (await httpJson<ValidatorsResponse>(`${url}/validators`)).body.validators.map(
      (v) => v.publicKey,
    );
  /**
   * Proposes `action`, three of four organisations approve; returns the deciding output.
   * `beforeDeciding` runs just before the deciding vote (a readiness proof must be at most
   * validatorChangeSpacing blocks old when the change executes).
   */
  const decide = async (
    action: unknown,
    beforeDeciding: () => Promise<unknown> = async () => {},
  ): Promise<string> => {
    const expiresAtHeight = (await height()) + 500;
    const out = ok(
      await call('gov.propose', { actions: [action], expiresAtHeight }, admins[0]!),
      'propose',
    );
    const id = Number(/event {5}gov\.proposed id=(\d+) /.exec(out)?.[1]);
    ok(await call('gov.vote', { id }, admins[1]!), 'vote');
    ok(await call('gov.vote', { id }, admins[2]!), 'vote');
    await beforeDeciding();
    const deciding = ok(await call('gov.vote', { id }, admins[3]!), 'deciding vote');
    assert.match(deciding, /event {5}gov\.passed id=/, deciding);
    return deciding;
  };

  await network.explain(async () => {
    // The newcomer makes its own key; its organisation (org0) takes it as a member.
    const keyFile = join(summary.dir, 'newcomer-key.json');
    const key = JSON.parse(
      ok(await runCli(['keys', 'generate', '--out', keyFile, '--json']), 'keys'),
    ) as {
      publicKey: string;
      address: string;
    };
    ok(
      await call('org.addMember', { account: key.address }, admins[0]!, '--cosign', keyFile),
      'member',
    );

    // Governance registers it as an observer; its node starts from an observer home.
    await decide({
      call: 'validators.addObserver',
      args: { publicKey: key.publicKey, name: 'newcomer' },
    });
    const home = join(summary.dir, 'newcomer');
    const port = randomBasePort();
    ok(
      await runCli([
        'init',
        '--observer',
        '--genesis',
        summary.genesis,
        '--key',
        keyFile,
        '--dir',
        home,
        '--p2p-host',
        '127.0.0.1',
        '--p2p-port',
        String(port),
        '--rpc-port',
        String(port + 1),
        '--bootstrap',
        ...summary.nodes.map((n) => n.p2p),
      ]),
      'init --observer',
    );
    const observer = startChild(t, CLI_MAIN, ['node', 'start', '--home', home], {
      timeoutMs: 60_000,
    });
    const observerRpc = `http://127.0.0.1:${port + 1}`;
    const tip = await height();
    await waitFor(
      async () => {
        const s = await httpJson<{ height: number }>(`${observerRpc}/status`).catch(
          () => undefined,
        );
        return s !== undefined && s.body.height >= tip ? true : undefined;
      },
      'the observer to follow the chain',
      60_000,
    );
    assert.match(observer.stdout() + observer.stderr(), /observer/);

    // It proves it holds its key and follows the chain (the CLI fills in the args), is voted in.
    const added = await decide(
      { call: 'validators.add', args: { publicKey: key.publicKey, name: 'newcomer' } },
      async () => ok(await call('validators.ready', {}, keyFile), 'ready'),
    );
    const fromHeight = Number(/event {5}validators\.added .*fromHeight=(\d+)/.exec(added)?.[1]);
    assert.ok(fromHeight > 0, added);
    await network.waitForHeight([0], fromHeight + 2, 60_000);
    assert.deepEqual((await validators()).at(-1), key.publicKey);
    // The observer is now validator 4 and signs: some certificate after the change has it.
    await waitFor(
      async () => {
        const h = await height();
        for (let x = fromHeight; x <= h; x++) {
          const block = (await httpJson<BlockJson>(`${rpc}/blocks/${x}`)).body;
          if (block.certificate?.signers.includes(4)) return true;
        }
        return undefined;
      },
      'a certificate signed by the new validator',
      60_000,
    );

    // kill -9 of a validator while the set is five: the chain goes on; it comes back and syncs.
    await network.stopNode(1, 'SIGKILL');
    const atKill = await height();
    await network.waitForHeight([0], atKill + 5, 60_000);
    await network.startNode(1);

    // After the spacing, an original validator is voted out; the chain goes on with four.
    await network.waitForHeight([0], fromHeight + CHANGE_SPACING, 120_000);
    const leaving = summary.nodes[3]!.publicKey;
    const removed = await decide({ call: 'validators.remove', args: { publicKey: leaving } });
    const removedFrom = Number(
      /event {5}validators\.removed .*fromHeight=(\d+)/.exec(removed)?.[1],
    );
    await network.waitForHeight([0, 1, 2], removedFrom + 3, 60_000);
    const now = await validators();
    assert.equal(now.length, 4);
    assert.ok(!now.includes(leaving) && now.includes(key.publicKey));

    // A tx after both changes, verified by a light client that holds only the genesis.
    const account = summary.accounts[0]!;
    const sent = JSON.parse(
      ok(
        await cli(
          'tx',
          'transfer',
          '--to',
          key.address,
          '--amount',
          '1',
          '--key',
          account.file,
          '--wait',
          '--json',
        ),
        'transfer',
      ),
    ) as { hash: string };
    const verified = ok(
      await cli('verify', 'tx', sent.hash, '--genesis', summary.genesis),
      'verify tx',
    );
    assert.match(verified, /2 validator-set change/);
    await network.assertSameChain([0, 1, 2], 1, removedFrom + 3);
  });
});
