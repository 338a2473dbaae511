import { TrustplaneError } from '../../errors.js';
import { STRICT_CHECK_PATH } from '../../traffic/admin.js';
import { renderStrictCheck, type StrictCheckReport } from '../../traffic/strict-check.js';
import { defineCommand } from '../command.js';
import { ADMIN_HELP, adminOptions, fetchAdmin } from './status.js';

export const strictCheck = defineCommand({
  path: ['strict-check'],
  summary: 'dry run of STRICT: per port, the callers STRICT would break now, from the traffic of the evidence window',
  usage: `Usage: trustplane strict-check [--service S] [--json] [--admin HOST:PORT] [--data-dir DIR]

Reads the access-log evidence of a running \`trustplane serve\` and lists, per inbound port, who STRICT would
break now: plaintext sources seen in the window (with counts and last seen), mTLS callers whose SPIFFE ID the
port's allowedCallers would deny (or that its RBAC already denied), and mesh clients that call it in plaintext
by their own description (mode DISABLE). Changes nothing. Exit code 0 when STRICT would break nothing it saw,
1 when it would break something listed.
  --service S    only this service's ports
  --json         print the report as JSON
${ADMIN_HELP}`,
  options: { service: { type: 'string' }, json: { type: 'boolean' }, ...adminOptions },
  async run({ values, io }) {
    const path = values.service === undefined ? STRICT_CHECK_PATH : `${STRICT_CHECK_PATH}/${encodeURIComponent(values.service)}`;
    let report: StrictCheckReport;
    try {
      report = await fetchAdmin<StrictCheckReport>({ admin: values.admin, dataDir: values['data-dir'] }, path);
    } catch (err) {
      if (values.service !== undefined && (err as TrustplaneError).code === 'ADMIN_NOT_FOUND') {
        throw new TrustplaneError('STRICT_CHECK_NO_SERVICE', `strict-check: the mesh description has no service "${values.service}" with inbound ports`);
      }
      throw err;
    }
    io.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderStrictCheck(report));
    return report.ports.some((p) => p.breaks) ? 1 : 0;
  },
});
