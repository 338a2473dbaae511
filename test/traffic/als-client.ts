// An access-log client that sends what Envoy's gRPC access loggers send: StreamAccessLogsMessage built from
// Envoy's v3 protos, the first carrying the identifier {node, log_name}, then batches of TCP or HTTP entries,
// each entry tagged by the listener's filter chain (custom tags) the way trustplane's generated listeners tag it.
import * as grpc from '@grpc/grpc-js';
import { create, toBinary } from '@bufbuild/protobuf';
import { NodeSchema } from '#gen/envoy/config/core/v3/base_pb';
import { AddressSchema, SocketAddressSchema } from '#gen/envoy/config/core/v3/address_pb';
import {
  AccessLogCommonSchema,
  HTTPAccessLogEntrySchema,
  HTTPResponsePropertiesSchema,
  ResponseFlagsSchema,
  TCPAccessLogEntrySchema,
  TLSPropertiesSchema,
  TLSProperties_CertificatePropertiesSchema,
  TLSProperties_CertificateProperties_SubjectAltNameSchema,
  TLSProperties_TLSVersion,
  type AccessLogCommon,
} from '#gen/envoy/data/accesslog/v3/accesslog_pb';
import {
  StreamAccessLogsMessageSchema,
  StreamAccessLogsMessage_HTTPAccessLogEntriesSchema,
  StreamAccessLogsMessage_IdentifierSchema,
  StreamAccessLogsMessage_TCPAccessLogEntriesSchema,
} from '#gen/envoy/service/accesslog/v3/als_pb';
import { ACCESS_LOG_NAME, ACCESS_LOG_TAGS } from '../../src/envoy/access-log.js';
import { ALS_METHOD_PATH } from '../../src/traffic/als-service.js';

export interface Conn {
  readonly service: string;
  readonly port: number;
  readonly mode?: string;
  /** The filter chain that served it (mtls: the entry has TLS properties); undefined = no chain matched (NFCF). */
  readonly chain?: 'mtls' | 'plaintext';
  /** Also say the chain in a `trustplane.chain` tag, as a logger on the chain itself would (generated listeners do not). */
  readonly chainTag?: boolean;
  readonly from: string;
  readonly spiffeId?: string;
  readonly handshakeFailure?: boolean;
  readonly rbacDenied?: boolean;
}

const address = (ip: string, port: number) =>
  create(AddressSchema, { address: { case: 'socketAddress', value: create(SocketAddressSchema, { address: ip, portSpecifier: { case: 'portValue', value: port } }) } });

export function common(c: Conn): AccessLogCommon {
  const tags: Record<string, string> = { [ACCESS_LOG_TAGS.service]: c.service, [ACCESS_LOG_TAGS.port]: String(c.port), [ACCESS_LOG_TAGS.mode]: c.mode ?? 'PERMISSIVE' };
  if (c.chain && c.chainTag) tags[ACCESS_LOG_TAGS.chain] = c.chain;
  const tls =
    c.chain === 'mtls' && !c.handshakeFailure
      ? create(TLSPropertiesSchema, {
          tlsVersion: TLSProperties_TLSVersion.TLSv1_3,
          peerCertificateProperties: create(TLSProperties_CertificatePropertiesSchema, {
            subjectAltName: c.spiffeId ? [create(TLSProperties_CertificateProperties_SubjectAltNameSchema, { san: { case: 'uri', value: c.spiffeId } })] : [],
          }),
        })
      : undefined;
  return create(AccessLogCommonSchema, {
    downstreamRemoteAddress: address(c.from, 40000),
    downstreamDirectRemoteAddress: address(c.from, 40000),
    downstreamLocalAddress: address('10.0.0.1', c.port),
    customTags: tags,
    ...(tls ? { tlsProperties: tls } : {}),
    ...(c.handshakeFailure ? { downstreamTransportFailureReason: 'TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end' } : {}),
    ...(c.rbacDenied ? { connectionTerminationDetails: 'rbac_access_denied_matched_policy[none]' } : {}),
    ...(c.chain === undefined ? { responseFlags: create(ResponseFlagsSchema, { noFilterConfigFound: true }) } : {}),
  });
}

export function identifierMessage(nodeId: string, cluster: string): Uint8Array {
  return toBinary(
    StreamAccessLogsMessageSchema,
    create(StreamAccessLogsMessageSchema, {
      identifier: create(StreamAccessLogsMessage_IdentifierSchema, { node: create(NodeSchema, { id: nodeId, cluster }), logName: ACCESS_LOG_NAME }),
    }),
  );
}

export function tcpBatch(conns: readonly Conn[], withIdentifier?: { nodeId: string; cluster: string }): Uint8Array {
  return toBinary(
    StreamAccessLogsMessageSchema,
    create(StreamAccessLogsMessageSchema, {
      ...(withIdentifier ? { identifier: create(StreamAccessLogsMessage_IdentifierSchema, { node: create(NodeSchema, { id: withIdentifier.nodeId, cluster: withIdentifier.cluster }), logName: ACCESS_LOG_NAME }) } : {}),
      logEntries: { case: 'tcpLogs', value: create(StreamAccessLogsMessage_TCPAccessLogEntriesSchema, { logEntry: conns.map((c) => create(TCPAccessLogEntrySchema, { commonProperties: common(c) })) }) },
    }),
  );
}

/** HTTP entries: an RBAC denial is a 403 whose response_code_details name the RBAC filter. */
export function httpBatch(conns: readonly Conn[]): Uint8Array {
  return toBinary(
    StreamAccessLogsMessageSchema,
    create(StreamAccessLogsMessageSchema, {
      logEntries: {
        case: 'httpLogs',
        value: create(StreamAccessLogsMessage_HTTPAccessLogEntriesSchema, {
          logEntry: conns.map((c) =>
            create(HTTPAccessLogEntrySchema, {
              commonProperties: common({ ...c, rbacDenied: false }),
              response: create(HTTPResponsePropertiesSchema, c.rbacDenied ? { responseCode: 403, responseCodeDetails: 'rbac_access_denied_matched_policy[none]' } : { responseCode: 200, responseCodeDetails: 'via_upstream' }),
            }),
          ),
        }),
      },
    }),
  );
}

export interface StreamResult {
  readonly code: grpc.status;
  readonly details: string;
}

/** Opens one StreamAccessLogs stream, writes the messages (raw bytes), ends it, and waits for the answer. */
export function sendStream(client: grpc.Client, messages: readonly Uint8Array[], opts: { end?: boolean } = {}): Promise<StreamResult> & { call: grpc.ClientWritableStream<Uint8Array> } {
  let call!: grpc.ClientWritableStream<Uint8Array>;
  const done = new Promise<StreamResult>((resolve) => {
    call = client.makeClientStreamRequest<Uint8Array, Buffer>(
      ALS_METHOD_PATH,
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => b,
      (err) => resolve(err ? { code: err.code ?? grpc.status.UNKNOWN, details: err.details ?? '' } : { code: grpc.status.OK, details: '' }),
    );
    call.on('error', () => {});
    for (const m of messages) call.write(m);
    if (opts.end ?? true) call.end();
  });
  return Object.assign(done, { call });
}

export function unixClient(socket: string): grpc.Client {
  return new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure());
}
