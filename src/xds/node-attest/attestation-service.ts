// Serves node attestation on the TCP listener: a join token buys a node SVID once; the node SVID buys its own
// renewal. Every refusal carries a stable code (status details prefix and `trustplane-error-code` metadata) and
// issues nothing.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { TrustplaneError } from '../../errors.js';
import type { NodeSvidAuthenticator } from '../transport/node-svid-authenticator.js';
import type { JoinTokens } from './join-token-store.js';
import {
  ERROR_CODE_METADATA,
  nodeAttestationService,
  type AttestRequest,
  type NodeSvidResponse,
  type RenewRequest,
} from './messages.js';
import { nodeSpiffeId } from './node-id.js';
import { nodePublicKey } from './public-key.js';
import { DEFAULT_NODE_SVID_TTL_MS, type NodeSvidIssuer } from './node-svid-issuer.js';

export interface NodeAttestationOptions {
  readonly trustDomain: string;
  readonly tokens: JoinTokens;
  readonly issuer: NodeSvidIssuer;
  readonly authenticator: NodeSvidAuthenticator;
  readonly log: Logger;
  readonly nodeSvidTtlMs?: number;
}

const STATUS_BY_CODE: Record<string, grpc.status> = {
  JOIN_TOKEN_MALFORMED: grpc.status.INVALID_ARGUMENT,
  NODE_KEY_MISSING: grpc.status.INVALID_ARGUMENT,
  NODE_KEY_INVALID: grpc.status.INVALID_ARGUMENT,
  NODE_CSR_INVALID: grpc.status.INVALID_ARGUMENT,
  NODE_KEY_UNSUPPORTED: grpc.status.INVALID_ARGUMENT,
  JOIN_TOKEN_UNKNOWN: grpc.status.PERMISSION_DENIED,
  JOIN_TOKEN_EXPIRED: grpc.status.PERMISSION_DENIED,
  JOIN_TOKEN_USED: grpc.status.PERMISSION_DENIED,
  NODE_NOT_AUTHENTICATED: grpc.status.UNAUTHENTICATED,
};

function failure(code: string, message: string): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_METADATA, code);
  return { code: STATUS_BY_CODE[code] ?? grpc.status.INTERNAL, details: `${code}: ${message}`, metadata };
}

export function addNodeAttestation(server: grpc.Server, opts: NodeAttestationOptions): void {
  const ttlMs = opts.nodeSvidTtlMs ?? DEFAULT_NODE_SVID_TTL_MS;

  const issue = async (node: string, req: AttestRequest | RenewRequest): Promise<NodeSvidResponse> => {
    const publicKey = await nodePublicKey(req);
    const spiffeId = nodeSpiffeId(opts.trustDomain, node);
    const svid = await opts.issuer.signX509Svid(spiffeId, publicKey, { ttlMs });
    return {
      spiffeId,
      certChainPem: svid.chain.map((c) => c.toString()).join(''),
      bundlePem: opts.issuer.bundle().toPem(),
      notAfter: svid.notAfter.toISOString(),
    };
  };

  const respond = (
    what: 'attest' | 'renew',
    call: grpc.ServerUnaryCall<unknown, NodeSvidResponse>,
    callback: grpc.sendUnaryData<NodeSvidResponse>,
    work: () => Promise<{ node: string; res: NodeSvidResponse }>,
  ): void => {
    work().then(
      ({ node, res }) => {
        opts.log.info({ node, spiffeId: res.spiffeId, notAfter: res.notAfter, peer: call.getPeer() }, `node ${what} issued a node SVID`);
        callback(null, res);
      },
      (e: unknown) => {
        const code = e instanceof TrustplaneError ? e.code : 'NODE_ATTESTATION_FAILED';
        const message = e instanceof TrustplaneError ? e.message : 'internal error while issuing a node SVID';
        opts.log.warn({ code, peer: call.getPeer() }, `node ${what} denied: ${message}`);
        if (!(e instanceof TrustplaneError)) opts.log.error({ err: e }, 'node attestation failed');
        callback(failure(code, message), null);
      },
    );
  };

  server.addService(nodeAttestationService, {
    attest: (call: grpc.ServerUnaryCall<AttestRequest, NodeSvidResponse>, cb: grpc.sendUnaryData<NodeSvidResponse>) =>
      respond('attest', call, cb, async () => {
        // Validate the key before spending the token, so a typo in the request does not burn it.
        await nodePublicKey(call.request);
        const token = typeof call.request.token === 'string' ? call.request.token : '';
        const { node } = await opts.tokens.consume(token);
        try {
          return { node, res: await issue(node, call.request) };
        } catch (err) {
          // Nothing was issued: a failure on our side must not burn the node's only token.
          await opts.tokens.restore(token).catch(() => undefined);
          throw err;
        }
      }),
    renew: (call: grpc.ServerUnaryCall<RenewRequest, NodeSvidResponse>, cb: grpc.sendUnaryData<NodeSvidResponse>) =>
      respond('renew', call, cb, async () => {
        const node = opts.authenticator.nodeName(call);
        if (node === undefined) {
          throw new TrustplaneError('NODE_NOT_AUTHENTICATED', 'renewal needs the current node SVID as the TLS client certificate');
        }
        return { node, res: await issue(node, call.request) };
      }),
  });
}
