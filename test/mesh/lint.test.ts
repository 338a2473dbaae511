import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LINT_CATALOG, lintMesh, parseMesh, type LintFinding } from '../../src/mesh/index.js';
import { readExample } from './examples.js';

const show = (f: LintFinding) => `${f.code} ${f.severity} ${f.path} ${f.line}:${f.column} ${f.message}`;
const lint = (yaml: string) => lintMesh(parseMesh(yaml, 'm.yaml')).map(show);

// Two services, a → b; each case overrides pieces. Lines: service b starts at line 9.
function mesh(o: { aMode?: string; aNodes?: string; aOut?: string; bMode?: string; bCallers?: string; extra?: string } = {}): string {
  return [
    'trustDomain: example.org',
    'services:',
    '  - name: a',
    '    spiffeId: spiffe://example.org/a',
    `    nodes: ${o.aNodes ?? '[uid:1001]'}`,
    `    mode: ${o.aMode ?? 'STRICT'}`,
    `    outbound: ${o.aOut ?? '[{service: b}]'}`,
    '    allowedCallers: [{service: b}]',
    '  - name: b',
    '    spiffeId: spiffe://example.org/b',
    '    nodes: [uid:1002]',
    `    mode: ${o.bMode ?? 'STRICT'}`,
    '    inbound: [{port: 15006, appPort: 8080}]',
    `    allowedCallers: ${o.bCallers ?? '[{service: a}]'}`,
    o.extra ?? '',
  ].join('\n');
}

describe('lint findings', () => {
  const cases: { name: string; yaml: string; want: string[] }[] = [
    { name: 'a clean mesh has no findings', yaml: mesh(), want: [] },
    {
      name: 'TP0001 client expects a SPIFFE ID no service has',
      yaml: mesh({ aOut: '[{name: c, address: c.local, port: 443, spiffeIds: [spiffe://example.org/c]}]' }),
      want: ['TP0001 error services[0].outbound[0].spiffeIds[0] 7:67 dependency "c" of "a" expects spiffe://example.org/c, which no service of the mesh has'],
    },
    {
      name: 'TP0002 allowed caller that does not exist',
      yaml: mesh({ bCallers: '[{service: a}, {spiffeId: spiffe://example.org/ghost}]' }),
      want: ['TP0002 warning services[1].allowedCallers[1].spiffeId 14:47 allowed caller spiffe://example.org/ghost of "b" is not the identity of any service'],
    },
    {
      name: 'TP0003 STRICT server with a DISABLE client',
      yaml: mesh({ aMode: 'DISABLE' }),
      want: ['TP0003 error services[0].outbound[0] 7:16 "a" is DISABLE but calls port 15006 of "b", which is STRICT'],
    },
    {
      name: 'TP0004 PERMISSIVE port that no client needs open is a warning',
      yaml: mesh({ bMode: 'PERMISSIVE' }),
      want: ['TP0004 warning services[1].inbound[0] 13:15 port 15006 of "b" is PERMISSIVE and accepts plaintext, though no client in the mesh needs it: it can go STRICT'],
    },
    {
      name: 'TP0004 PERMISSIVE port a DISABLE client still needs is info',
      yaml: mesh({ aMode: 'DISABLE', bMode: 'PERMISSIVE' }),
      want: ['TP0004 info services[1].inbound[0] 13:15 port 15006 of "b" is PERMISSIVE; it can go STRICT once "a" leaves DISABLE'],
    },
    {
      name: 'TP0005 federated trust domain with no bundle',
      yaml: mesh({ extra: 'federation:\n  - trustDomain: partner.net' }),
      want: ['TP0005 warning federation[0] 16:5 federated trust domain "partner.net" has no bundleFile'],
    },
    {
      name: 'TP0006 client not admitted by the server',
      yaml: mesh({ bCallers: '[{spiffeId: spiffe://example.org/b}]' }),
      want: ['TP0006 error services[0].outbound[0] 7:16 "a" (spiffe://example.org/a) calls "b" port 15006, whose allowedCallers do not admit it'],
    },
    {
      name: 'TP0006 does not apply to a DISABLE server: there is no peer identity to check',
      yaml: mesh({ bMode: 'DISABLE', bCallers: '[{spiffeId: spiffe://example.org/b}]' }),
      want: ['TP0009 warning services[1].inbound[0] 13:15 port 15006 of "b" is DISABLE, so its allowedCallers are not enforced there'],
    },
    {
      name: 'TP0007 identity no node may receive',
      yaml: mesh({ aNodes: '[]' }),
      want: ['TP0007 warning services[0].nodes 5:12 no node principal may receive the identity of "a" (spiffe://example.org/a)'],
    },
    {
      name: 'TP0008 service with inbound ports and no allowedCallers',
      yaml: mesh().replace('    allowedCallers: [{service: a}]', ''),
      want: ['TP0008 info services[1] 9:5 "b" has no allowedCallers: every member of "example.org" may call it'],
    },
    {
      name: 'TP0010 plaintext external dependency',
      yaml: mesh({ aOut: '[{service: b}, {name: db, address: db.local, port: 5432, mode: DISABLE}]' }),
      want: ['TP0010 info services[0].outbound[1] 7:30 dependency "db" of "a" is called in plaintext'],
    },
    {
      name: 'TP0011 empty allowedCallers admits nobody (and so the client is refused)',
      yaml: mesh({ bCallers: '[]' }),
      want: [
        'TP0006 error services[0].outbound[0] 7:16 "a" (spiffe://example.org/a) calls "b" port 15006, whose allowedCallers do not admit it',
        'TP0011 warning services[1].allowedCallers 14:21 allowedCallers of "b" is empty: no mTLS caller is admitted',
      ],
    },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(lint(c.yaml), c.want));

  test('every catalogued code is exercised by the table', () => {
    const used = new Set(cases.flatMap((c) => c.want.map((w) => w.split(' ')[0])));
    assert.deepEqual(Object.keys(LINT_CATALOG).filter((c) => !used.has(c)), []);
  });

  test('a finding takes its severity from the catalogue unless the rule grades it', () => {
    for (const c of cases) {
      for (const w of c.want) {
        const [code, severity] = w.split(' ') as [keyof typeof LINT_CATALOG, string];
        if (code !== 'TP0004') assert.equal(severity, LINT_CATALOG[code].severity, w);
      }
    }
  });
});

describe('the examples lint with only their intended findings', () => {
  test('examples/mesh.yaml: web PERMISSIVE for the load balancer, inventory waiting for reports', () => {
    const m = parseMesh(readExample('examples/mesh.yaml'), 'examples/mesh.yaml');
    assert.deepEqual(lintMesh(m).map((f) => `${f.file}:${f.line} ${f.code} ${f.severity} ${f.path}`), [
      'examples/mesh.yaml:18 TP0004 warning services[0].inbound[0]',
      'examples/mesh.yaml:61 TP0004 info services[3].inbound[0]',
    ]);
  });

  test('examples/federation.yaml is clean', () => {
    const m = parseMesh(readExample('examples/federation.yaml'), 'examples/federation.yaml');
    assert.deepEqual(lintMesh(m), []);
  });
});
