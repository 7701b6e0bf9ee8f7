/**
 * Documents shared between organisations (the `doc` module), on the holder's and the
 * grantee's side. The data never goes on chain: the holder keeps a record file (the fields,
 * their salts and the root), anchors the root with `tx call doc.anchor`, and hands a grantee a
 * disclosure of chosen fields; the grantee checks it against the anchored root and its state
 * proof with `verify disclosure`.
 *
 *   civitas doc root FIELDS.json --out RECORD.json      salts the fields, prints the root
 *   civitas doc disclose RECORD.json --fields a,b       a disclosure of fields a and b
 *   civitas verify disclosure DISCLOSURE.json --doc ID  checks it against the chain
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  type Disclosure,
  discloseFields,
  disclosureHash,
  documentRoot,
  verifyDocumentDisclosure,
} from '../../client/disclosure.ts';
import { fromHex, toHex } from '../../crypto/bytes.ts';
import { CivitasError } from '../../errors/index.ts';
import { action, printJson, printLines } from '../output.ts';
import { type RpcOpts, readJsonFile, rpcClient, trustedSet, withRpc } from './client.ts';

/** What `doc root` writes: the holder's private copy (salts included: keep it private). */
interface RecordFile {
  root: string;
  fields: Record<string, string>;
  salts: Record<string, string>;
}

function stringFields(json: unknown, what: string): Record<string, string> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new CivitasError('CLI_BAD_JSON', `${what} must be a JSON object of field: "value"`);
  }
  for (const [name, value] of Object.entries(json)) {
    if (typeof value !== 'string') {
      throw new CivitasError('CLI_BAD_JSON', `${what}: field "${name}" must be a string`);
    }
  }
  return json as Record<string, string>;
}

async function readRecord(path: string): Promise<RecordFile> {
  const json = (await readJsonFile(path, 'record file')) as Partial<RecordFile>;
  const fields = stringFields(json.fields, `record file ${path}`);
  const salts = stringFields(json.salts, `record file ${path} salts`);
  return { root: String(json.root), fields, salts };
}

/** Writes a new file only (0600): a record's salts are what keep undisclosed fields private. */
async function writeNewFile(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw new CivitasError('CLI_FILE_EXISTS', `${path} exists; not overwriting it`);
  }
}

export function registerDocCommand(program: Command): void {
  const doc = program
    .command('doc')
    .description('salt a document, disclose chosen fields (the data stays off chain)');
  doc
    .command('root')
    .description("salt a document's fields and compute the root to anchor with doc.anchor")
    .argument('<fields.json>', 'a JSON object of field names and string values')
    .requiredOption('--out <record.json>', 'where to write the record (fields, salts, root; 0600)')
    .option('--json', 'print JSON')
    .action(
      action(async (fieldsPath: string, opts: { out: string; json?: boolean }) => {
        const fields = stringFields(await readJsonFile(fieldsPath, 'fields file'), fieldsPath);
        const tree = documentRoot(fields);
        const record: RecordFile = {
          root: toHex(tree.root),
          fields,
          salts: Object.fromEntries(tree.names.map((n) => [n, toHex(tree.salts[n]!)])),
        };
        await writeNewFile(opts.out, `${JSON.stringify(record, null, 2)}\n`);
        if (opts.json) return printJson({ root: record.root, fields: tree.names, out: opts.out });
        printLines([
          `root      ${record.root}`,
          `fields    ${tree.names.join(', ')}`,
          `record    ${opts.out} (keep it private: its salts protect the fields you do not disclose)`,
          `anchor it: civitas tx call doc.anchor --args '{"id": "<id>", "root": "${record.root}", "schemaHash": "<64 hex>"}' --key <key> --wait`,
        ]);
      }),
    );
  doc
    .command('disclose')
    .description('a disclosure of chosen fields, each with its salt and Merkle proof')
    .argument('<record.json>', 'the record file written by doc root')
    .requiredOption('--fields <names>', 'comma-separated field names to disclose')
    .option('--out <file>', 'write the disclosure here (default: print it)')
    .action(
      action(async (recordPath: string, opts: { fields: string; out?: string }) => {
        const record = await readRecord(recordPath);
        const salts = Object.fromEntries(
          Object.entries(record.salts).map(([n, s]) => [n, fromHex(s)]),
        );
        const names = opts.fields
          .split(',')
          .map((n) => n.trim())
          .filter((n) => n !== '');
        const disclosure = discloseFields(record.fields, salts, names);
        const text = `${JSON.stringify(disclosure, null, 2)}\n`;
        if (opts.out === undefined) return void process.stdout.write(text);
        await writeNewFile(opts.out, text);
        printLines([
          `disclosure of ${names.join(', ')} written to ${opts.out}`,
          `disclosureHash ${toHex(disclosureHash(disclosure))} (what the grantee logs with doc.logAccess)`,
        ]);
      }),
    );

  const verify = program.commands.find((c) => c.name() === 'verify')!;
  withRpc(
    verify
      .command('disclosure')
      .description(
        'check disclosed fields against the anchored root and its state proof (a certified block)',
      )
      .argument('<disclosure.json>')
      .requiredOption('--doc <id>', 'the anchored document id')
      .option('--genesis <file>', 'trusted genesis file'),
  ).action(
    action(async (path: string, opts: RpcOpts & { doc: string; genesis?: string }) => {
      const disclosure = (await readJsonFile(path, 'disclosure file')) as Disclosure;
      const client = rpcClient(opts);
      const trusted = await trustedSet(client, opts.genesis);
      const response = await client.state('doc', opts.doc, { proof: true });
      const verified = verifyDocumentDisclosure(disclosure, opts.doc, response, trusted);
      const hash = toHex(disclosureHash(disclosure));
      if (opts.json) {
        return printJson({
          verified: true,
          doc: opts.doc,
          height: verified.height,
          fields: verified.fields,
          disclosureHash: hash,
          document: verified.document,
          validatorsFrom: trusted.source,
        });
      }
      printLines([
        `verified: ${Object.keys(verified.fields).length} field(s) of document ${opts.doc} at height ${verified.height}`,
        ...Object.entries(verified.fields).map(([n, v]) => `  ${n} = ${v}`),
        `  root ${String(verified.document.root)} anchored by ${String(verified.document.org)}, status ${String(verified.document.status)}`,
        `  disclosureHash ${hash} (log it with doc.logAccess)`,
        `  validator set from ${trusted.source}`,
      ]);
    }),
  );
}
