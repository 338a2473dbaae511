// Safe ordering of a mode rollout (issue 5): the description says which modes are wanted; the controller decides
// which are in force, step by step as proxies ACK, and reports where each port stands.
//
// Wiring in the control plane:
//   const rollout = new RolloutController({
//     status: () => xds.status(),
//     feed: xds,                                         // ACK counts kept up to date from the server's events
//     resources: cache,                                  // ResourceCache: versions per group, type and name
//     onEffectiveChange: (model) => meshResources.apply(model),
//   });
//   rollout.setDesired(meshModel);                       // on start and on every good reload
//   rollout.statusChanged();                             // whenever an ACK/NACK arrives or a stream opens/closes
//   rollout.rolloutStatus();                             // the /rollout document; renderRolloutStatus() for the CLI
// pollStatus(rollout, clock, 1000, onError) calls statusChanged() on a timer, for a status without events.
export { RolloutController, RolloutError, type ResourceVersions, type RolloutControllerOptions } from './controller.js';
export { withModes, portKey, edgeKey, type ModeOverrides } from './with-modes.js';
export { planRollout, type PortPlan, type EdgePlan, type Transport } from './plan.js';
export { advance, initialState, accepts, type RolloutState, type PortInForce, type EdgeInForce, type Settled } from './state-machine.js';
export { effectiveModel, overridesFor } from './effective.js';
export { ackProgress, proxiesOf, type AckProgress, type Nack, type ProxyRef } from './acks.js';
export { AckTracker, standing, type ProxyEvent, type ProxyFeed, type TrackedProxy } from './progress.js';
export { buildRolloutStatus, type RolloutStatus, type PortRollout, type ClientRollout, type ProxyCount } from './status.js';
export { renderRolloutStatus } from './render.js';
export { pollStatus } from './poll.js';
