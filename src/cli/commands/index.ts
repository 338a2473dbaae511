import type { Command } from '../command.js';
import { bundleShow } from './bundle.js';
import { federationStatus } from './federation.js';
import { bootstrap, generate } from './generate.js';
import { idParse } from './id.js';
import { lint, schema } from './mesh.js';
import { apply, meshHistory, meshRollback } from './mesh-revisions.js';
import { rolloutStatus } from './rollout.js';
import { serve } from './serve.js';
import { adminLink, status } from './status.js';
import { strictCheck } from './strict-check.js';
import { svidMint } from './svid.js';
import { svidWrite } from './svid-write.js';
import { svidVerify } from './svid-verify.js';
import { tokenCreate } from './token.js';
import { nodeJoin, nodeRenew } from './node.js';
import { jwtMint, jwtVerify } from './jwt.js';

export const commands: readonly Command[] = [serve, status, rolloutStatus, strictCheck, adminLink, idParse, svidMint, svidWrite, svidVerify, jwtMint, jwtVerify, bundleShow, federationStatus, tokenCreate, nodeJoin, nodeRenew, lint, schema, generate, bootstrap, apply, meshHistory, meshRollback] as unknown as Command[];
