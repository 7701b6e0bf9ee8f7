/**
 * The members manifest of `civitas genesis`: every rule can fail, each with one line naming
 * the field and the rule under a catalogue code; a valid manifest writes the genesis (the same
 * consortium shape `civitas init` builds) and one home per member, never a key.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { addressOf } from '../../../src/chain/address.ts';
import { genesisFromJson } from '../../../src/chain/genesis.ts';
import { toHex } from '../../../src/crypto/bytes.ts';
import { generateKeyPair } from '../../../src/crypto/ed25519.ts';
import { isCivitasError } from '../../../src/errors/index.ts';
import { loadConfig } from '../../../src/node/config.ts';
import { loadGenesisFile } from '../../../src/node/genesis-file.ts';
import {
  loadMembersManifest,
  parseMembersManifest,
  writeConsortiumFromMembers,
} from '../../../src/node/members.ts';
import { peerIdFromValidatorKey } from '../../../src/p2p/identity.ts';
import { tempDir } from '../../helpers/temp.ts';

// biome-ignore lint/suspicious/noExplicitAny: test manifests are edited freely
type Json = Record<string, any>;

const pub = (): string => toHex(generateKeyPair().publicKey);

function validManifest(): Json {
  return {
    chainId: 'city-net',
    members: ['city-water', 'city-tax', 'police'].map((name, i) => ({
      name,
      validatorKey: pub(),
      adminKey: pub(),
      host: `10.0.0.${i + 5}`,
      p2pPort: 26600,
      rpcPort: 26601,
    })),
    regulator: { name: 'regulator', adminKey: pub() },
    accounts: [
      { publicKey: pub(), org: 'city-tax', balance: '500' },
      { publicKey: pub(), org: 'regulator' },
    ],
  };
}

function refuses(edit: (m: Json) => void, code: string, message: RegExp): void {
  const m = validManifest();
  edit(m);
  assert.throws(
    () => parseMembersManifest(m, 'members.json'),
    (err: unknown) => {
      assert.ok(isCivitasError(err), String(err));
      assert.equal(err.code, code, err.message);
      assert.match(err.message, /^members\.json: /);
      assert.match(err.message, message);
      assert.equal(err.message.includes('\n'), false, 'one line');
      return true;
    },
  );
}

const BAD = 'MEMBERS_BAD_FIELD';
// Hex of 32 bytes, but y = 2^255 - 1 >= p: not a canonical curve point.
const NOT_A_POINT = `${'ff'.repeat(31)}7f`;

describe('members manifest: every rule can fail', () => {
  test('the manifest and its top-level fields', () => {
    assert.throws(() => parseMembersManifest([], 'members.json'), /must be a JSON object/);
    refuses(
      (m) => {
        m.chainid = 'typo';
      },
      'MEMBERS_UNKNOWN_FIELD',
      /chainid is not a field/,
    );
    refuses((m) => delete m.chainId, BAD, /chainId is required/);
    refuses(
      (m) => {
        m.chainId = 'city net!';
      },
      BAD,
      /chainId must be 1\.\.64 of letters/,
    );
    refuses(
      (m) => {
        m.genesisTime = -1;
      },
      BAD,
      /genesisTime must be milliseconds/,
    );
    refuses(
      (m) => {
        m.genesisTime = 1.5;
      },
      BAD,
      /genesisTime/,
    );
    refuses(
      (m) => {
        m.permissioned = 'yes';
      },
      BAD,
      /permissioned must be true or false/,
    );
    refuses(
      (m) => {
        m.params = [];
      },
      BAD,
      /params must be a JSON object/,
    );
    refuses(
      (m) => {
        m.params = { maxBlockTx: 5 };
      },
      'MEMBERS_UNKNOWN_FIELD',
      /params\.maxBlockTx is not a field/,
    );
    refuses(
      (m) => {
        m.params = { maxBlockTxs: 0 };
      },
      BAD,
      /params\.maxBlockTxs must be a positive integer/,
    );
  });

  test('members: the list and each entry', () => {
    refuses((m) => delete m.members, BAD, /members is required/);
    refuses(
      (m) => {
        m.members = [];
      },
      BAD,
      /members must be a list of 1 to 100 entries/,
    );
    refuses(
      (m) => {
        m.members = Array.from({ length: 101 }, () => m.members[0]);
      },
      BAD,
      /members must be a list of 1 to 100/,
    );
    refuses(
      (m) => {
        m.members[1] = 'city-tax';
      },
      BAD,
      /members\[1\] must be a JSON object/,
    );
    refuses(
      (m) => {
        m.members[0].port = 1;
      },
      'MEMBERS_UNKNOWN_FIELD',
      /members\[0\]\.port is not a field/,
    );
    for (const field of ['name', 'validatorKey', 'adminKey', 'host', 'p2pPort', 'rpcPort']) {
      refuses(
        (m) => delete m.members[2][field],
        BAD,
        new RegExp(`members\\[2\\]\\.${field} is required`),
      );
    }
    for (const name of ['City-Water', '-water', 'a'.repeat(33), 'water/../x', '']) {
      refuses(
        (m) => {
          m.members[0].name = name;
        },
        BAD,
        /members\[0\]\.name must be 1\.\.32 of a-z/,
      );
    }
  });

  test('keys are 32-byte hex ed25519 public keys', () => {
    for (const field of ['validatorKey', 'adminKey']) {
      refuses(
        (m) => {
          m.members[1][field] = 'abcd';
        },
        BAD,
        new RegExp(`members\\[1\\]\\.${field} must be a 32-byte ed25519 public key in hex`),
      );
      refuses(
        (m) => {
          m.members[1][field] = 'zz'.repeat(32);
        },
        BAD,
        /must be a 32-byte ed25519 public key/,
      );
      refuses(
        (m) => {
          m.members[1][field] = NOT_A_POINT;
        },
        BAD,
        new RegExp(`members\\[1\\]\\.${field} is not an ed25519 public key`),
      );
      // The identity point: on the curve, but of small order.
      refuses(
        (m) => {
          m.members[1][field] = `01${'00'.repeat(31)}`;
        },
        BAD,
        /is not an ed25519 public key/,
      );
    }
    refuses(
      (m) => {
        m.regulator.adminKey = 42;
      },
      BAD,
      /regulator\.adminKey must be a 32-byte/,
    );
    refuses(
      (m) => {
        m.accounts[0].publicKey = NOT_A_POINT;
      },
      BAD,
      /accounts\[0\]\.publicKey is not an ed25519 public key/,
    );
  });

  test('host, ports and rpcListen', () => {
    for (const host of ['', 'not a host', '-lead.example.org', 'a..b', 42]) {
      refuses(
        (m) => {
          m.members[0].host = host;
        },
        BAD,
        /members\[0\]\.host must be an IPv4 or IPv6 address or a DNS name/,
      );
    }
    for (const p of [0, 65_536, '26600', 1.5]) {
      refuses(
        (m) => {
          m.members[0].p2pPort = p;
        },
        BAD,
        /members\[0\]\.p2pPort must be an integer from 1 to 65535/,
      );
      refuses(
        (m) => {
          m.members[0].rpcPort = p;
        },
        BAD,
        /members\[0\]\.rpcPort must be an integer from 1 to 65535/,
      );
    }
    refuses(
      (m) => {
        m.members[0].rpcPort = 26600;
      },
      BAD,
      /members\[0\]\.rpcPort must differ from p2pPort/,
    );
    refuses(
      (m) => {
        m.members[0].rpcListen = '0.0.0.0';
      },
      BAD,
      /members\[0\]\.rpcListen must be host:port/,
    );
    refuses(
      (m) => {
        m.members[0].rpcListen = '0.0.0.0:8080';
      },
      BAD,
      /members\[0\]\.rpcListen must use rpcPort 26601/,
    );
  });

  test('amounts are whole decimal strings', () => {
    for (const v of [1000, '-1', '01', '1.5', '1e3', '9'.repeat(39)]) {
      refuses(
        (m) => {
          m.members[0].adminBalance = v;
        },
        BAD,
        /members\[0\]\.adminBalance must be a whole amount as a decimal string/,
      );
    }
    refuses(
      (m) => {
        m.regulator.adminBalance = '1,000';
      },
      BAD,
      /regulator\.adminBalance must be a whole amount/,
    );
    refuses(
      (m) => {
        m.accounts[1].balance = 5;
      },
      BAD,
      /accounts\[1\]\.balance must be a whole amount/,
    );
  });

  test('regulator and accounts', () => {
    refuses(
      (m) => {
        m.regulator = 'regulator';
      },
      BAD,
      /regulator must be a JSON object/,
    );
    refuses(
      (m) => {
        m.regulator.key = pub();
      },
      'MEMBERS_UNKNOWN_FIELD',
      /regulator\.key is not a field/,
    );
    refuses((m) => delete m.regulator.name, BAD, /regulator\.name is required/);
    refuses(
      (m) => {
        m.regulator.name = 'The Regulator';
      },
      BAD,
      /regulator\.name must be 1\.\.32 of a-z/,
    );
    refuses(
      (m) => {
        m.accounts = {};
      },
      BAD,
      /accounts must be a list of 0 to 100000 entries/,
    );
    refuses(
      (m) => {
        m.accounts[0].roles = ['admin'];
      },
      'MEMBERS_UNKNOWN_FIELD',
      /accounts\[0\]\.roles is not a field/,
    );
    refuses((m) => delete m.accounts[0].org, BAD, /accounts\[0\]\.org is required/);
    refuses(
      (m) => {
        m.accounts[0].org = 'city-fire';
      },
      'MEMBERS_UNKNOWN_ORG',
      /accounts\[0\]\.org must name a member or the regulator \(city-water, city-tax, police, regulator\)/,
    );
    refuses(
      (m) => {
        delete m.regulator;
      },
      'MEMBERS_UNKNOWN_ORG',
      /accounts\[1\]\.org must name a member or the regulator/,
    );
  });

  test('names, keys and host ports are unique', () => {
    refuses(
      (m) => {
        m.members[2].name = 'city-water';
      },
      'MEMBERS_DUPLICATE',
      /members\[2\]\.name "city-water" is already members\[0\]\.name/,
    );
    refuses(
      (m) => {
        m.regulator.name = 'police';
      },
      'MEMBERS_DUPLICATE',
      /regulator\.name "police" is already members\[2\]\.name/,
    );
    refuses(
      (m) => {
        m.members[1].validatorKey = m.members[0].validatorKey;
      },
      'MEMBERS_DUPLICATE',
      /members\[1\]\.validatorKey is the same key as members\[0\]\.validatorKey/,
    );
    refuses(
      (m) => {
        m.members[0].adminKey = m.members[0].validatorKey;
      },
      'MEMBERS_DUPLICATE',
      /members\[0\]\.adminKey is the same key as members\[0\]\.validatorKey/,
    );
    refuses(
      (m) => {
        m.regulator.adminKey = m.members[1].adminKey;
      },
      'MEMBERS_DUPLICATE',
      /regulator\.adminKey is the same key as members\[1\]\.adminKey/,
    );
    refuses(
      (m) => {
        m.accounts[1].publicKey = m.accounts[0].publicKey;
      },
      'MEMBERS_DUPLICATE',
      /accounts\[1\]\.publicKey is the same key as accounts\[0\]\.publicKey/,
    );
    refuses(
      (m) => {
        m.members[1].host = '10.0.0.5';
        m.members[1].p2pPort = 26601;
        m.members[1].rpcPort = 26602;
      },
      'MEMBERS_DUPLICATE',
      /members\[1\]\.p2pPort 10\.0\.0\.5:26601 is already members\[0\]\.rpcPort/,
    );
    refuses(
      (m) => {
        m.members[0].host = 'Node.Example.org';
        m.members[1].host = 'node.example.org';
      },
      'MEMBERS_DUPLICATE',
      /members\[1\]\.p2pPort node\.example\.org:26600 is already/,
    );
  });

  test('a valid manifest parses, with its defaults', () => {
    const m = validManifest();
    m.members[0].host = 'water.city.example';
    m.members[1].host = '::1';
    m.members[2].rpcListen = '0.0.0.0:26601';
    const parsed = parseMembersManifest(m);
    assert.equal(parsed.permissioned, true);
    assert.equal(parsed.genesisTime, undefined);
    assert.equal(parsed.params.maxBlockTxs, 5_000);
    assert.equal(parsed.members[0]!.rpcListen, '127.0.0.1:26601');
    assert.equal(parsed.members[2]!.rpcListen, '0.0.0.0:26601');
    assert.equal(parsed.members[0]!.adminBalance, 1_000_000_000n);
    assert.equal(parsed.accounts[0]!.balance, 500n);
  });

  test('the file: unreadable or not JSON', async (t) => {
    const dir = await tempDir(t, 'civitas-members-');
    await assert.rejects(loadMembersManifest(join(dir, 'absent.json')), (err: unknown) =>
      isCivitasError(err, 'MEMBERS_NOT_FOUND'),
    );
    await writeFile(join(dir, 'bad.json'), '{"chainId": ');
    await assert.rejects(loadMembersManifest(join(dir, 'bad.json')), (err: unknown) =>
      isCivitasError(err, 'MEMBERS_BAD_JSON'),
    );
  });
});

describe('civitas genesis writes the consortium from public keys', () => {
  test('genesis, one home per member (config, genesis copy, NEXT_STEPS, no key), the init shape', async (t) => {
    const dir = await tempDir(t, 'civitas-genesis-');
    const m = validManifest();
    m.genesisTime = 1_700_000_000_000;
    m.members[0].host = 'water.city.example';
    m.members[1].host = '127.0.0.1';
    m.members[1].p2pPort = 30000;
    m.members[2].host = 'fd00::7';
    const manifest = parseMembersManifest(m);
    const out = join(dir, 'net');
    const summary = await writeConsortiumFromMembers(manifest, out);

    assert.deepEqual((await readdir(out)).sort(), [
      'city-tax',
      'city-water',
      'genesis.json',
      'network.json',
      'police',
    ]);
    const genesisText = await readFile(join(out, 'genesis.json'), 'utf8');
    const genesis = await loadGenesisFile(join(out, 'genesis.json'));
    assert.equal(genesis.chainId, 'city-net');
    assert.equal(genesis.genesisTime, 1_700_000_000_000);
    assert.deepEqual(
      genesis.validators.map((v) => [v.name, toHex(v.publicKey)]),
      m.members.map((x: Json) => [x.name, x.validatorKey]),
    );
    const addr = (hex: string) => toHex(addressOf(Uint8Array.from(Buffer.from(hex, 'hex'))));
    // Accounts first, then the admins, then the regulator: the order init uses.
    assert.deepEqual(
      genesis.accounts.map((a) => [toHex(a.address), a.balance.toString()]),
      [
        [addr(m.accounts[0].publicKey), '500'],
        [addr(m.accounts[1].publicKey), '1000000000'],
        ...m.members.map((x: Json) => [addr(x.adminKey), '1000000000']),
        [addr(m.regulator.adminKey), '1000000000'],
      ],
    );
    assert.deepEqual(genesis.app, {
      params: { permissioned: true, freezeThreshold: 1 },
      org: [
        ...m.members.map((x: Json) => ({
          id: x.name,
          name: x.name,
          committee: true,
          members: [
            { account: addr(x.adminKey), roles: ['admin', 'member', 'issuer'] },
            ...(x.name === 'city-tax'
              ? [{ account: addr(m.accounts[0].publicKey), roles: ['member'] }]
              : []),
          ],
        })),
        {
          id: 'regulator',
          name: 'regulator',
          committee: false,
          members: [
            { account: addr(m.regulator.adminKey), roles: ['member', 'regulator'] },
            { account: addr(m.accounts[1].publicKey), roles: ['member'] },
          ],
        },
      ],
    });

    const peer = (i: number) =>
      peerIdFromValidatorKey(Uint8Array.from(Buffer.from(m.members[i].validatorKey, 'hex')));
    const dialed = [
      `/dns4/water.city.example/tcp/26600/p2p/${peer(0)}`,
      `/ip4/127.0.0.1/tcp/30000/p2p/${peer(1)}`,
      `/ip6/fd00::7/tcp/26600/p2p/${peer(2)}`,
    ];
    assert.deepEqual(
      summary.members.map((x) => x.p2p),
      dialed,
    );
    const listens = [
      ['/ip4/0.0.0.0/tcp/26600'],
      ['/ip4/127.0.0.1/tcp/30000'],
      ['/ip6/::/tcp/26600'],
    ];
    for (const [i, x] of m.members.entries()) {
      const home = join(out, x.name);
      assert.deepEqual((await readdir(home)).sort(), [
        'NEXT_STEPS.txt',
        'config.json',
        'genesis.json',
      ]);
      assert.equal(
        await readFile(join(home, 'genesis.json'), 'utf8'),
        genesisText,
        'byte-identical',
      );
      const config = await loadConfig(home);
      assert.equal(config.moniker, x.name);
      assert.equal(config.keyFile, 'validator-key.json');
      assert.equal(config.rpc.listen, '127.0.0.1:26601');
      assert.deepEqual(config.p2p.listen, listens[i]);
      assert.deepEqual(
        config.p2p.bootstrap,
        dialed.filter((_, j) => j !== i),
      );
      const steps = await readFile(join(home, 'NEXT_STEPS.txt'), 'utf8');
      assert.ok(steps.includes(summary.genesisSha256));
      assert.ok(steps.includes(x.validatorKey));
      assert.ok(steps.includes(peer(i)));
      assert.ok(steps.includes('civitas node start --home .'));
      assert.ok(steps.includes('validator-key.json'));
    }
    assert.equal(
      summary.genesisSha256,
      (await import('node:crypto')).createHash('sha256').update(genesisText).digest('hex'),
    );
    // No secret anywhere: nothing but the files above.
    assert.deepEqual(
      (await readdir(out, { recursive: true })).filter((f) => /key/i.test(f)),
      [],
    );
    assert.deepEqual(JSON.parse(await readFile(join(out, 'network.json'), 'utf8')), summary);
  });

  test('refuses a non-empty --out and leaves it untouched; a failure leaves no staging dir', async (t) => {
    const dir = await tempDir(t, 'civitas-genesis-');
    const out = join(dir, 'net');
    const manifest = parseMembersManifest(validManifest());
    await writeConsortiumFromMembers(manifest, out);
    const before = await readFile(join(out, 'genesis.json'), 'utf8');
    await assert.rejects(
      writeConsortiumFromMembers(manifest, out),
      (err: unknown) =>
        isCivitasError(err, 'INIT_DIR_NOT_EMPTY') && /choose another --out/.test(err.message),
    );
    assert.equal(await readFile(join(out, 'genesis.json'), 'utf8'), before);
    await writeFile(join(dir, 'file'), 'x');
    await assert.rejects(
      writeConsortiumFromMembers(manifest, join(dir, 'file')),
      (err: unknown) =>
        isCivitasError(err, 'INIT_DIR_NOT_EMPTY') && /is not a directory/.test(err.message),
    );
    assert.deepEqual((await readdir(dir)).sort(), ['file', 'net']);
    assert.ok((await stat(out)).isDirectory());
  });

  test("an empty --out dir is filled; the genesis a node loads is the manifest's", async (t) => {
    const dir = await tempDir(t, 'civitas-genesis-');
    const m = validManifest();
    m.permissioned = false;
    m.params = { maxBlockTxs: 100 };
    delete m.regulator;
    m.accounts = [];
    const summary = await writeConsortiumFromMembers(parseMembersManifest(m), dir);
    assert.equal(summary.regulator, null);
    const genesis = genesisFromJson(JSON.parse(await readFile(summary.genesis, 'utf8')));
    assert.equal(genesis.params.maxBlockTxs, 100);
    assert.deepEqual(genesis.app?.params, { permissioned: false, freezeThreshold: 1 });
    assert.equal((genesis.app!.org as unknown[]).length, 3, 'no regulator organisation');
  });
});
