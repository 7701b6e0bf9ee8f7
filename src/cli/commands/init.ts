import { type Command, InvalidArgumentError } from 'commander';
import { CONSENSUS_PROTOCOLS, type ConsensusProtocol } from '../../chain/genesis.ts';
import { readKeyFileContent } from '../../crypto/keyfile.ts';
import { CivitasError } from '../../errors/index.ts';
import {
  DEFAULT_OBSERVER_P2P_PORT,
  DEFAULT_OBSERVER_RPC_PORT,
  initNetwork,
  initObserver,
} from '../../node/home.ts';
import { basePortOption, intOption } from '../options.ts';
import { action, printJson, printLines } from '../output.ts';
import {
  keyProtection,
  type NewKeyOpts,
  passphraseFileOption,
  plaintextOption,
  warnUnencrypted,
} from '../passphrase.ts';
import { genesisFromMembers, printGenesisSummary } from './genesis.ts';

interface InitOpts extends NewKeyOpts {
  dir: string;
  validators: number;
  accounts: number;
  chainId: string;
  basePort: number;
  open?: boolean;
  json?: boolean;
  observer?: boolean;
  genesis?: string;
  key?: string;
  bootstrap?: string[];
  rpcPort: number;
  p2pPort: number;
  p2pHost: string;
  fromMembers?: string;
  protocol: ConsensusProtocol;
  experimentalProtocol?: boolean;
}

/** Options that belong to one way of running init only (the others' are refused with them). */
const NETWORK_OPTIONS = [
  'validators',
  'accounts',
  'chainId',
  'basePort',
  'open',
  'protocol',
  'experimentalProtocol',
] as const;
const OBSERVER_OPTIONS = ['genesis', 'key', 'bootstrap', 'rpcPort', 'p2pPort', 'p2pHost'] as const;
/** Options about the key files init writes (a members manifest writes none). */
const KEY_OPTIONS = ['passphraseFile', 'plaintext'] as const;

const flag = (name: string): string => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** `--protocol`: a consensus protocol a genesis may name (chain/genesis.ts). */
export function consensusProtocolOption(value: string): ConsensusProtocol {
  if (!(CONSENSUS_PROTOCOLS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected ${CONSENSUS_PROTOCOLS.join(' or ')}`);
  }
  return value as ConsensusProtocol;
}

/**
 * HotStuff runs in a chain only as an experiment until it has passed what docs/HOTSTUFF.md
 * ("Plan") asks: init writes it into a genesis only when told that twice.
 */
export function checkExperimentalProtocol(
  protocol: ConsensusProtocol,
  experimental: boolean,
): void {
  if (protocol !== 'pbft' && !experimental) {
    throw new CivitasError(
      'INIT_EXPERIMENTAL_PROTOCOL',
      `--protocol ${protocol} is experimental (docs/HOTSTUFF.md): add --experimental-protocol to use it`,
      { protocol },
    );
  }
}

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description(
      'create a consortium on this machine: a genesis, one home and one organisation (with an admin key) per validator, a regulator key and funded member account keys. ' +
        'Key files are encrypted with one passphrase from --passphrase-file, env CIVITAS_PASSPHRASE or a terminal prompt (asked twice); with none of them (a script) they are written unencrypted with a warning, and --plaintext writes them unencrypted on purpose. ' +
        'With --observer: the home of a node that is not a validator, from an existing genesis and key. ' +
        'With --from-members: what "civitas genesis --members FILE --out DIR" does (members hold their own keys)',
    )
    .requiredOption('--dir <dir>', 'directory to create (must be empty or absent)')
    .option('--validators <n>', 'number of validators', intOption(1, 100), 4)
    .option('--accounts <k>', 'number of funded accounts', intOption(0, 100_000), 2)
    .option('--chain-id <id>', 'chain id', 'civitas-devnet')
    .addOption(basePortOption())
    .option('--open', 'let anyone transact (default: only members of organisations)')
    .option(
      '--protocol <name>',
      'consensus protocol written into the genesis: pbft (default), or hotstuff (experimental: needs --experimental-protocol; docs/HOTSTUFF.md)',
      consensusProtocolOption,
      'pbft',
    )
    .option('--experimental-protocol', 'allow an experimental --protocol (hotstuff)')
    .option(
      '--observer',
      'make an observer home (config.json, a copy of --genesis, --key copied in with mode 0600)',
    )
    .option('--genesis <file>', "--observer: the chain's genesis file (copied byte for byte)")
    .option('--key <file>', "--observer: the node's key file (civitas keys generate --out)")
    .option(
      '--bootstrap <multiaddr...>',
      '--observer: nodes to dial, each /ip4|ip6|dns4/<host>/tcp/<port>/p2p/<peer id>',
    )
    .option(
      '--rpc-port <port>',
      '--observer: API port (on 127.0.0.1)',
      intOption(1, 65_535),
      DEFAULT_OBSERVER_RPC_PORT,
    )
    .option(
      '--p2p-port <port>',
      '--observer: p2p port',
      intOption(1, 65_535),
      DEFAULT_OBSERVER_P2P_PORT,
    )
    .option('--p2p-host <ip>', '--observer: address p2p listens on', '0.0.0.0')
    .addOption(passphraseFileOption())
    .addOption(plaintextOption())
    .option(
      '--from-members <file>',
      'build the consortium from a members manifest of public keys (see civitas genesis --help)',
    )
    .option(
      '--json',
      'print every home, RPC URL, p2p address, organisation, admin, regulator and account file as JSON',
    )
    .action(
      action(async (opts: InitOpts, cmd: Command) => {
        const given = (names: readonly string[]) =>
          names.filter((n) => cmd.getOptionValueSource(n) === 'cli').map(flag);
        const refuse = (mode: string, names: readonly string[]): void => {
          const extra = given(names);
          if (extra.length > 0) {
            throw new CivitasError('INIT_BAD_ARGS', `${mode} does not take ${extra.join(', ')}`);
          }
        };
        if (opts.observer && opts.fromMembers !== undefined) {
          throw new CivitasError(
            'INIT_BAD_ARGS',
            '--observer and --from-members exclude each other',
          );
        }
        if (opts.observer) {
          refuse('--observer', NETWORK_OPTIONS);
          const missing = (['genesis', 'key', 'bootstrap'] as const).filter(
            (n) => opts[n] === undefined,
          );
          if (missing.length > 0) {
            throw new CivitasError(
              'INIT_BAD_ARGS',
              `--observer needs ${missing.map(flag).join(', ')}`,
            );
          }
          // An encrypted key is copied as it is; a plaintext one is encrypted if it can be.
          const source = await readKeyFileContent(opts.key!);
          const { protection, unprotected } = source.content.encrypted
            ? { protection: {}, unprotected: false }
            : await keyProtection(opts, `the key file copied into ${opts.dir}`);
          const summary = await initObserver({
            dir: opts.dir,
            genesis: opts.genesis!,
            key: opts.key!,
            keyFiles: protection,
            bootstrap: opts.bootstrap!,
            rpcPort: opts.rpcPort,
            p2pPort: opts.p2pPort,
            p2pHost: opts.p2pHost,
          });
          if (unprotected && !source.content.encrypted && !source.content.declaredPlaintext) {
            warnUnencrypted(summary.keyFile, `civitas keys encrypt --key ${summary.keyFile}`);
          }
          if (opts.json) return printJson(summary);
          return printLines([
            `initialised an observer home of chain ${summary.chainId} in ${summary.dir}`,
            `  key ${summary.keyFile} (${summary.encryptedKey ? 'encrypted' : 'unencrypted'})`,
            `  peer id ${summary.peerId}  address ${summary.address}`,
            `  rpc ${summary.rpc}  p2p ${summary.p2p.join(' ')}`,
            ...summary.bootstrap.map((b) => `  bootstrap ${b}`),
            ...(summary.genesisValidator
              ? ['  note: this key is a validator of the genesis, so the home runs a validator']
              : []),
            `start it: civitas node start --home ${summary.dir}`,
          ]);
        }
        refuse(opts.fromMembers === undefined ? 'init' : '--from-members', OBSERVER_OPTIONS);
        if (opts.fromMembers !== undefined) {
          refuse('--from-members', [...NETWORK_OPTIONS, ...KEY_OPTIONS]);
          const summary = await genesisFromMembers(opts.fromMembers, opts.dir, '--dir');
          if (opts.json) return printJson(summary);
          return printGenesisSummary(summary);
        }
        checkExperimentalProtocol(opts.protocol, opts.experimentalProtocol === true);
        const { protection, unprotected } = await keyProtection(
          opts,
          `the key files in ${opts.dir}`,
        );
        const summary = await initNetwork({
          dir: opts.dir,
          validators: opts.validators,
          accounts: opts.accounts,
          chainId: opts.chainId,
          basePort: opts.basePort,
          permissioned: opts.open !== true,
          keyFiles: protection,
          protocol: opts.protocol,
        });
        if (unprotected) {
          warnUnencrypted(
            `the key files in ${summary.dir}`,
            'civitas keys encrypt --key FILE for each',
          );
        }
        if (opts.json) return printJson(summary);
        const { regulator } = summary;
        printLines([
          `initialised chain ${summary.chainId} in ${summary.dir} (${summary.permissioned ? 'permissioned: only members transact' : 'open: anyone transacts'}${summary.protocol === 'pbft' ? '' : `; consensus ${summary.protocol}, experimental`})`,
          ...summary.nodes.map((n) => `  ${n.name}  home ${n.home}  rpc ${n.rpc}`),
          ...summary.organisations.map(
            (o) => `  organisation ${o.id}  admin ${o.admin.address}  ${o.admin.file}`,
          ),
          `  organisation ${regulator.org}  regulator ${regulator.address}  ${regulator.file}`,
          ...summary.accounts.map((a) => `  account ${a.address}  member of ${a.org}  ${a.file}`),
          `  key files ${summary.encryptedKeys ? 'encrypted (scrypt, aes-256-gcm): node start and tx ask for the passphrase, or take --passphrase-file / CIVITAS_PASSPHRASE' : 'unencrypted'}`,
          `start a node: civitas node start --home ${summary.nodes[0]!.home}`,
        ]);
      }),
    );
}
