import { DEFAULT_ADMIN_ADDRESS } from '../../control-plane/config.js';
import { renderRolloutStatus, type RolloutStatus } from '../../rollout/index.js';
import { defineCommand } from '../command.js';
import { adminOption, fetchAdmin } from './status.js';

export const rolloutStatus = defineCommand({
  path: ['rollout', 'status'],
  summary: 'per service and port: the mode asked for, the mode in force, and what it is waiting for',
  usage: `Usage: trustplane rollout status [--json] [--admin HOST:PORT]

A port leaving DISABLE is served PERMISSIVE first; its clients switch to mTLS once the server's proxies have ACKed
that; STRICT follows once every client proxy has ACKed its mTLS cluster. This shows where each step stands.
  --json         print the rollout document as JSON
  --admin ADDR   the admin endpoint of \`trustplane serve\` (default ${DEFAULT_ADMIN_ADDRESS})`,
  options: { json: { type: 'boolean' }, ...adminOption },
  async run({ values, io }) {
    const status = await fetchAdmin<RolloutStatus>(values.admin, '/rollout');
    io.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : renderRolloutStatus(status));
    return 0;
  },
});
