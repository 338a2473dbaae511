import { SpiffeId } from '../../spiffe/id.js';
import { defineCommand } from '../command.js';

export const idParse = defineCommand({
  path: ['id', 'parse'],
  summary: 'parse a SPIFFE ID and print its parts, or say exactly what is wrong with it',
  usage: `Usage: trustplane id parse [--json] <spiffe-id>

Prints the trust domain and path of a valid SPIFFE ID (exit 0), or the reason it is invalid (exit 1).
  --json   print {"spiffeId","trustDomain","path"} as JSON`,
  options: { json: { type: 'boolean' } },
  positionals: { min: 1, max: 1, names: 'one SPIFFE ID' },
  async run({ values, positionals, io }) {
    const id = SpiffeId.parse(positionals[0]!);
    const out = { spiffeId: id.toString(), trustDomain: id.trustDomain.name, path: id.path };
    io.stdout.write(values.json ? `${JSON.stringify(out)}\n` : `spiffeId:     ${out.spiffeId}\ntrustDomain:  ${out.trustDomain}\npath:         ${out.path || '(none)'}\n`);
    return 0;
  },
});
