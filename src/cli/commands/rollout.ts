import { renderRolloutStatus, type RolloutStatus } from '../../rollout/index.js';
import { defineCommand } from '../command.js';
import { ADMIN_HELP, adminOptions, fetchAdmin } from './status.js';

export const rolloutStatus = defineCommand({
  path: ['rollout', 'status'],
  summary: 'per service and port: the mode asked for, the mode in force, and what it is waiting for',
  usage: `Usage: trustplane rollout status [--json] [--admin HOST:PORT] [--data-dir DIR]

A port leaving DISABLE is served PERMISSIVE first; its clients switch to mTLS once the server's proxies have ACKed
that; STRICT follows once every client proxy has ACKed its mTLS cluster. This shows where each step stands.
  --json            print the rollout document as JSON
${ADMIN_HELP}`,
  options: { json: { type: 'boolean' }, ...adminOptions },
  async run({ values, io }) {
    const status = await fetchAdmin<RolloutStatus>({ admin: values.admin, dataDir: values['data-dir'] }, '/rollout');
    io.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : renderRolloutStatus(status));
    return 0;
  },
});
