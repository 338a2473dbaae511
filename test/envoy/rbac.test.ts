import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { FilterSchema } from '#gen/envoy/config/listener/v3/listener_components_pb';
import { rbacFilter } from '../../src/envoy/rbac.js';
import { asJson } from './fixtures/json.js';
import { mesh, MODES_MESH, service } from './fixtures/meshes.js';

const m = mesh(MODES_MESH);
const rules = (name: string) => asJson(FilterSchema, create(FilterSchema, rbacFilter(service(m, name).allowedCallers, 'p_'))).typed_config.rules;

describe('RBAC of allowed callers', () => {
  /** A trust domain's members: its prefix, but not trustplane's own IDs under it (server, node SVIDs). */
  const member = (prefix: string) => ({
    and_ids: { ids: [{ authenticated: { principal_name: { prefix } } }, { not_id: { authenticated: { principal_name: { prefix: `${prefix}trustplane/` } } } }] },
  });

  test('exact principal per named caller, trust-domain prefix with a trailing slash, sorted', () => {
    const policy = rules('api').policies['allowed-callers'];
    assert.equal(rules('api').action, undefined, 'ALLOW is the zero value, omitted in JSON');
    assert.deepEqual(policy.permissions, [{ any: true }]);
    assert.deepEqual(policy.principals, [
      { authenticated: { principal_name: { exact: 'spiffe://example.org/ops/debug' } } },
      { authenticated: { principal_name: { exact: 'spiffe://example.org/web' } } },
      member('spiffe://partner.example.net/'),
    ]);
  });

  test('no allowedCallers list admits every member of the own trust domain, but no node or server SVID of trustplane', () => {
    const principals = rules('web').policies['allowed-callers'].principals;
    assert.deepEqual(principals, [member('spiffe://example.org/')]);
  });

  test('an empty allowedCallers list denies everyone: ALLOW with no policy', () => {
    assert.deepEqual(rules('legacy'), {});
  });
});
