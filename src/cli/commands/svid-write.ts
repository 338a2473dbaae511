// `trustplane svid write`: the spiffe-helper role on the command line. Once, or (--daemon) until stopped,
// re-writing the files at every renewal.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { TrustplaneError } from '../../errors.js';
import { makeDirs } from '../../io/files.js';
import { SpiffeId } from '../../spiffe/id.js';
import { startSvidFilesDaemon } from '../../svid-files/daemon.js';
import { svidFilePaths } from '../../svid-files/layout.js';
import type { AfterWrite } from '../../svid-files/after-write.js';
import { lockDataDir, prepareDataDir } from '../../control-plane/data-dir.js';
import { defineCommand, UsageError } from '../command.js';
import { untilSignal } from '../until-signal.js';
import { dataDir, dataDirOption, parseDuration } from './common.js';

export const svidWrite = defineCommand({
  path: ['svid', 'write'],
  summary: "write SVIDs, keys and bundles to files (spiffe-helper's role); --daemon keeps them renewed",
  usage: `Usage: trustplane svid write --spiffe-id ID [--spiffe-id ID ...] --dir DIR [--daemon] [--ttl 1h]
                             [--command "ARGV..."] [--signal NAME (--pid N | --pid-file FILE)] [--data-dir DIR]

Opens (or creates) the embedded CA in the data directory and writes, for each ID, in DIR/<trust domain><path>/:
  svid.pem          the certificate chain, leaf first
  svid_key.pem      its private key (PKCS#8, mode 0600; never readable by others, even while being replaced)
  svid_bundle.pem   the trust bundle
Each file is replaced atomically. With --daemon the SVIDs are renewed at about half their lifetime and the files
rewritten each time, until SIGINT/SIGTERM; after each write the command runs and/or the signal is sent. It holds
the data directory's lock like \`trustplane serve\`: beside a running serve, use serve's --svid-dir instead.
  --spiffe-id ID    an identity to write (repeatable; one trust domain)
  --dir DIR         root directory of the files (what \`trustplane bootstrap --target grpc --svid-dir\` names)
  --daemon          keep running and renewing
  --ttl DURATION    SVID lifetime (default the CA's, 1h)
  --command ARGV    run after each write (split on spaces, no shell); gets TRUSTPLANE_SPIFFE_ID, TRUSTPLANE_SVID_DIR
  --signal NAME     send this signal after each write (e.g. SIGHUP) to --pid N or the pid in --pid-file FILE
  --data-dir DIR    the control plane's data directory (default ./.trustplane)`,
  options: {
    'spiffe-id': { type: 'string', multiple: true },
    dir: { type: 'string' },
    daemon: { type: 'boolean' },
    ttl: { type: 'string' },
    command: { type: 'string' },
    signal: { type: 'string' },
    pid: { type: 'string' },
    'pid-file': { type: 'string' },
    ...dataDirOption,
  },
  async run({ values, io }) {
    const ids = (values['spiffe-id'] ?? []).map((s) => SpiffeId.parse(s));
    if (!ids.length) throw new UsageError('--spiffe-id is required');
    if (!values.dir) throw new UsageError('--dir is required');
    const afterWrite = afterWriteOf(values);
    const dir = resolve(values.dir);
    const logger = io.logger();
    makeDirs(dir, 0o700, 'the SVID directory');
    const data = dataDir(values['data-dir']);
    prepareDataDir(data, { traversableByOthers: false });
    const lock = lockDataDir(data, 'trustplane svid write');
    let daemon: ReturnType<typeof startSvidFilesDaemon>;
    try {
      daemon = startSvidFilesDaemon({
      dataDir: data,
      spiffeIds: ids,
      config: { dir, ...(afterWrite ? { afterWrite } : {}) },
      logger,
      ...(values.ttl ? { svidTtlMs: parseDuration(values.ttl, '--ttl') } : {}),
      });
    } catch (err) {
      lock.release();
      throw err;
    }
    // The writer logs and retries a failed write at the next renewal (right for a daemon that must keep going);
    // the first write is the command's result.
    const missing = ids.map((id) => svidFilePaths(dir, id)).find((p) => !existsSync(p.privateKeyFile) || !existsSync(p.certificateFile));
    if (missing) {
      daemon.close();
      lock.release();
      throw new TrustplaneError('SVID_FILES_NOT_WRITTEN', `could not write the SVID files in ${missing.dir} (see the log for the reason)`);
    }
    for (const id of ids) io.stdout.write(`wrote ${svidFilePaths(dir, id).dir}/{svid.pem,svid_key.pem (0600),svid_bundle.pem}\n`);
    if (values.daemon) {
      await untilSignal((signal) => {
        logger.info({ signal }, 'svid write: stopping; the files stay');
      });
    }
    daemon.close();
    lock.release();
    return 0;
  },
});

export function afterWriteOf(values: { command?: string; signal?: string; pid?: string; 'pid-file'?: string }): AfterWrite | undefined {
  const command = values.command?.split(/\s+/).filter(Boolean);
  let signal: AfterWrite['signal'];
  if (values.signal) {
    if (!/^SIG[A-Z0-9]+$/.test(values.signal)) throw new UsageError(`--signal "${values.signal}" is not a signal name such as SIGHUP`);
    if (values.pid === undefined && values['pid-file'] === undefined) throw new UsageError('--signal needs --pid or --pid-file');
    if (values.pid !== undefined && !/^[1-9][0-9]*$/.test(values.pid)) throw new UsageError(`--pid "${values.pid}" is not a process id`);
    signal = { name: values.signal as NodeJS.Signals, ...(values.pid !== undefined ? { pid: Number(values.pid) } : { pidFile: resolve(values['pid-file']!) }) };
  } else if (values.pid !== undefined || values['pid-file'] !== undefined) {
    throw new UsageError('--pid and --pid-file go with --signal');
  }
  if (!command?.length && !signal) return undefined;
  return { ...(command?.length ? { command } : {}), ...(signal ? { signal } : {}) };
}
