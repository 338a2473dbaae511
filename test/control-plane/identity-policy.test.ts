import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { NodeSchema } from '#gen/envoy/config/core/v3/base_pb';
import { MeshIdentityPolicy } from '../../src/control-plane/identity-policy.js';
import { parseMesh } from '../../src/mesh/index.js';
import type { NodePrincipal } from '../../src/xds/principal.js';

const mesh = parseMesh(
  `trustDomain: example.org
services:
  - { name: web, spiffeId: spiffe://example.org/web, nodes: [uid:1001] }
  - { name: orders, spiffeId: spiffe://example.org/orders, nodes: [uid:1002, node:shared-1] }
  - { name: payments, spiffeId: spiffe://example.org/payments, nodes: [node:shared-1] }
`,
  'mesh.yaml',
);
const policy = new MeshIdentityPolicy(() => mesh);
const uid = (n: number): NodePrincipal => ({ kind: 'uid', uid: n });
const node = (name: string): NodePrincipal => ({ kind: 'node', name });
const insecure: NodePrincipal = { kind: 'insecure' };

describe('identity policy from the mesh description', () => {
  const receive: Array<[string, NodePrincipal, string, boolean]> = [
    ['a uid its own service', uid(1001), 'spiffe://example.org/web', true],
    ['a uid another service', uid(1001), 'spiffe://example.org/orders', false],
    ['a node each service it is named for', node('shared-1'), 'spiffe://example.org/payments', true],
    ['an unnamed node nothing', node('stranger'), 'spiffe://example.org/web', false],
    ["even insecure, never trustplane's server identity", insecure, 'spiffe://example.org/trustplane/server', false],
    ['even insecure, never a node identity', insecure, 'spiffe://example.org/trustplane/node/shared-1', false],
    ['insecure anything else', insecure, 'spiffe://example.org/orders', true],
  ];
  for (const [name, p, id, want] of receive) test(`mayReceive: ${name}`, () => assert.equal(policy.mayReceive(p, id), want));

  const defaults: Array<[string, NodePrincipal, string, string | undefined]> = [
    ['node.cluster names a service the caller may hold', node('shared-1'), 'payments', 'spiffe://example.org/payments'],
    ['node.cluster names a service the caller may not hold: its only identity, as SPIRE does', uid(1001), 'orders', 'spiffe://example.org/web'],
    ['node.cluster names no service (a SPIRE bootstrap’s --service-cluster foo): its only identity', uid(1001), 'foo', 'spiffe://example.org/web'],
    ['node.cluster names no service and the caller holds several: ambiguous, none', node('shared-1'), 'foo', undefined],
    ['node.cluster names a service it may not hold and the caller holds several: ambiguous, none', node('shared-1'), 'web', undefined],
    ['no cluster, one service: that one', uid(1001), '', 'spiffe://example.org/web'],
    ['no cluster, several services: ambiguous, none', node('shared-1'), '', undefined],
    ['insecure with a cluster: that service', insecure, 'orders', 'spiffe://example.org/orders'],
  ];
  for (const [name, p, cluster, want] of defaults) {
    test(`default: ${name}`, () => assert.equal(policy.defaultIdentity(p, create(NodeSchema, { id: 'n', cluster })), want));
  }

  const groups: Array<[string, NodePrincipal, string, boolean]> = [
    ["a service's node reads its listeners and clusters", uid(1002), 'orders', true],
    ["another node claiming the service's cluster does not", uid(1001), 'orders', false],
    ['a group that is no service (the shared default) is open', uid(1001), 'nothing', true],
  ];
  for (const [name, p, group, want] of groups) test(`mayReadGroup: ${name}`, () => assert.equal(policy.mayReadGroup(p, group), want));
});
