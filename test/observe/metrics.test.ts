// The per-identity series mirror the identity store: a removed identity or trust domain takes its series along.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metrics } from '../../src/observe/metrics.js';
import { IdentityStore } from '../../src/store/identity-store.js';
import { bundleOf, FED, makeCa, makeSvid, ORDERS, PAYMENTS, TD } from '../xds/protocol/fixtures.js';

test('svid expiry and bundle series are set with an identity and removed with it', async () => {
  const ca = await makeCa(TD);
  const fed = await makeCa(FED);
  const store = new IdentityStore(TD);
  const metrics = new Metrics();
  store.setSvid(await makeSvid(ca, ORDERS));
  const stop = metrics.observeStore(store); // what the store held before is mirrored at once
  const payments = await makeSvid(ca, PAYMENTS);
  store.batch(() => {
    store.setSvid(payments);
    store.setBundle(bundleOf(ca));
    store.setBundle(bundleOf(fed));
  });
  const text = async (): Promise<string> => metrics.registry.metrics();
  let m = await text();
  assert.match(m, new RegExp(`trustplane_svid_expiry_timestamp_seconds\\{spiffe_id="${ORDERS}"\\} ${payments.notAfter.getTime() / 1000}`));
  assert.match(m, new RegExp(`spiffe_id="${PAYMENTS}"`));
  assert.match(m, /trustplane_bundle_authorities\{trust_domain="partner\.example"\} 1/);
  store.batch(() => {
    store.removeSvid(ORDERS);
    store.removeBundle(FED);
  });
  m = await text();
  assert.doesNotMatch(m, new RegExp(`spiffe_id="${ORDERS}"`));
  assert.match(m, new RegExp(`spiffe_id="${PAYMENTS}"`));
  assert.doesNotMatch(m, /trust_domain="partner\.example"/);
  stop();
});
