// `trustplane rollout status` as text: one row per service and port, a continuation row per further thing it
// waits for. Pure, over the JSON document, so the CLI can render what it fetched from a running server.
import type { RolloutStatus } from './status.js';

const TRANSPORT = { mtls: 'mTLS', plaintext: 'plaintext' } as const;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd()).join('\n') + '\n';
}

export function renderRolloutStatus(status: RolloutStatus): string {
  if (status.ports.length === 0) return 'No inbound ports in the mesh description.\n';
  const rows: string[][] = [['SERVICE', 'PORT', 'ASKED', 'IN FORCE', 'CLIENTS', 'WAITING FOR']];
  for (const p of status.ports) {
    const clients = p.clients.map((c) => `${c.client}:${c.inForce === c.wanted ? TRANSPORT[c.inForce] : `${TRANSPORT[c.inForce]}→${TRANSPORT[c.wanted]}`}`);
    const waits = p.waitingFor.length ? p.waitingFor : ['-'];
    const height = Math.max(clients.length, waits.length, 1);
    for (let i = 0; i < height; i++) {
      rows.push(
        i === 0
          ? [p.service, String(p.port), p.asked, p.inForce, clients[0] ?? '-', waits[0]!]
          : ['', '', '', '', clients[i] ?? '', waits[i] ?? ''],
      );
    }
  }
  return table(rows);
}
