// Reads a StreamAccessLogsMessage off the wire, keeping only what the evidence needs of each entry. A full
// fromBinary builds every message of an entry with all of its ~35 fields (~60k entries/s on a loaded 2-core box);
// this walks the same bytes with the library's BinaryReader and skips the rest, several times faster. Field
// numbers are taken from the generated descriptors by name, so none is written here; the identifier (once per
// stream) is decoded whole with fromBinary.
import { fromBinary, type DescMessage } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
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
} from '#gen/envoy/data/accesslog/v3/accesslog_pb';
import {
  StreamAccessLogsMessageSchema,
  StreamAccessLogsMessage_IdentifierSchema,
  StreamAccessLogsMessage_TCPAccessLogEntriesSchema,
  StreamAccessLogsMessage_HTTPAccessLogEntriesSchema,
  type StreamAccessLogsMessage_Identifier,
} from '#gen/envoy/service/accesslog/v3/als_pb';

/** What one entry says, as far as the evidence is concerned. */
export interface EntryFacts {
  /** custom_tags. */
  readonly tags: Record<string, string>;
  /** IP of downstream_direct_remote_address, else of downstream_remote_address ("unix", "internal"; "" if none). */
  source: string;
  /** tls_properties present: the connection completed a TLS handshake. */
  tls: boolean;
  /** The peer certificate's first spiffe:// URI SAN, or "". */
  peerSpiffeId: string;
  connectionTerminationDetails: string;
  downstreamTransportFailureReason: string;
  /** HTTP entries only: response.response_code_details. */
  responseCodeDetails: string;
  /** response_flags.no_filter_config_found (NFCF): no filter chain matched the connection. */
  noFilterChain: boolean;
}

export interface ReadMessage {
  readonly identifier?: StreamAccessLogsMessage_Identifier;
  readonly entries: readonly EntryFacts[];
}

function num(schema: DescMessage, localName: string): number {
  const f = schema.field[localName];
  if (!f) throw new Error(`${schema.typeName} has no field ${localName}`);
  return f.number;
}

const MSG = { identifier: num(StreamAccessLogsMessageSchema, 'identifier'), http: num(StreamAccessLogsMessageSchema, 'httpLogs'), tcp: num(StreamAccessLogsMessageSchema, 'tcpLogs') };
const TCP_LIST = num(StreamAccessLogsMessage_TCPAccessLogEntriesSchema, 'logEntry');
const HTTP_LIST = num(StreamAccessLogsMessage_HTTPAccessLogEntriesSchema, 'logEntry');
const TCP_ENTRY = { common: num(TCPAccessLogEntrySchema, 'commonProperties') };
const HTTP_ENTRY = { common: num(HTTPAccessLogEntrySchema, 'commonProperties'), response: num(HTTPAccessLogEntrySchema, 'response') };
const RESPONSE = { details: num(HTTPResponsePropertiesSchema, 'responseCodeDetails') };
const COMMON = {
  remote: num(AccessLogCommonSchema, 'downstreamRemoteAddress'),
  directRemote: num(AccessLogCommonSchema, 'downstreamDirectRemoteAddress'),
  tls: num(AccessLogCommonSchema, 'tlsProperties'),
  tags: num(AccessLogCommonSchema, 'customTags'),
  termination: num(AccessLogCommonSchema, 'connectionTerminationDetails'),
  transportFailure: num(AccessLogCommonSchema, 'downstreamTransportFailureReason'),
  responseFlags: num(AccessLogCommonSchema, 'responseFlags'),
};
const FLAGS = { noFilterChain: num(ResponseFlagsSchema, 'noFilterConfigFound') };
const ADDRESS = { socket: num(AddressSchema, 'socketAddress'), pipe: num(AddressSchema, 'pipe'), internal: num(AddressSchema, 'envoyInternalAddress') };
const SOCKET = { address: num(SocketAddressSchema, 'address') };
const TLS = { peer: num(TLSPropertiesSchema, 'peerCertificateProperties') };
const CERT = { san: num(TLSProperties_CertificatePropertiesSchema, 'subjectAltName') };
const SAN = { uri: num(TLSProperties_CertificateProperties_SubjectAltNameSchema, 'uri') };
// A map field's entries are messages with key = 1 and value = 2 (protobuf language specification, "Maps").
const MAP_KEY = 1;
const MAP_VALUE = 2;

/** End offset of the length-delimited field the reader is at. */
function end(r: BinaryReader): number {
  const len = r.uint32();
  const e = r.pos + len;
  if (e > r.len) throw new Error('premature end of a length-delimited field');
  return e;
}

/** Calls `field` for each field up to `stop`; fields it does not take (returns false) are skipped. */
function fields(r: BinaryReader, stop: number, field: (no: number, wt: WireType) => boolean): void {
  while (r.pos < stop) {
    const [no, wt] = r.tag();
    if (!field(no, wt)) r.skip(wt, no);
  }
  if (r.pos !== stop) throw new Error('a field ran past the end of its message');
}

const isLen = (wt: WireType): boolean => wt === WireType.LengthDelimited;

function address(r: BinaryReader): string {
  let out = '';
  fields(r, end(r), (no, wt) => {
    if (!isLen(wt)) return false;
    if (no === ADDRESS.socket) {
      fields(r, end(r), (n, w) => (n === SOCKET.address && isLen(w) ? ((out = r.string()), true) : false));
      return true;
    }
    if (no === ADDRESS.pipe) {
      r.skip(wt, no);
      out = 'unix';
      return true;
    }
    if (no === ADDRESS.internal) {
      r.skip(wt, no);
      out = 'internal';
      return true;
    }
    return false;
  });
  return out;
}

function tls(r: BinaryReader, facts: EntryFacts): void {
  facts.tls = true;
  fields(r, end(r), (no, wt) => {
    if (no !== TLS.peer || !isLen(wt)) return false;
    fields(r, end(r), (n, w) => {
      if (n !== CERT.san || !isLen(w)) return false;
      fields(r, end(r), (s, sw) => {
        if (s !== SAN.uri || !isLen(sw)) return false;
        const uri = r.string();
        if (facts.peerSpiffeId === '' && uri.startsWith('spiffe://')) facts.peerSpiffeId = uri;
        return true;
      });
      return true;
    });
    return true;
  });
}

function common(r: BinaryReader, facts: EntryFacts, addr: { remote: string; direct: string }): void {
  fields(r, end(r), (no, wt) => {
    if (!isLen(wt)) return false;
    switch (no) {
      case COMMON.remote:
        addr.remote = address(r);
        return true;
      case COMMON.directRemote:
        addr.direct = address(r);
        return true;
      case COMMON.tls:
        tls(r, facts);
        return true;
      case COMMON.termination:
        facts.connectionTerminationDetails = r.string();
        return true;
      case COMMON.transportFailure:
        facts.downstreamTransportFailureReason = r.string();
        return true;
      case COMMON.responseFlags:
        fields(r, end(r), (n, w) => (n === FLAGS.noFilterChain && w === WireType.Varint ? ((facts.noFilterChain = r.bool()), true) : false));
        return true;
      case COMMON.tags: {
        let key = '';
        let value = '';
        fields(r, end(r), (n, w) => {
          if (!isLen(w)) return false;
          if (n === MAP_KEY) key = r.string();
          else if (n === MAP_VALUE) value = r.string();
          else return false;
          return true;
        });
        facts.tags[key] = value;
        return true;
      }
      default:
        return false;
    }
  });
}

function entry(r: BinaryReader, http: boolean): EntryFacts {
  const facts: EntryFacts = { tags: {}, source: '', tls: false, peerSpiffeId: '', connectionTerminationDetails: '', downstreamTransportFailureReason: '', responseCodeDetails: '', noFilterChain: false };
  const addr = { remote: '', direct: '' };
  const commonNo = http ? HTTP_ENTRY.common : TCP_ENTRY.common;
  fields(r, end(r), (no, wt) => {
    if (!isLen(wt)) return false;
    if (no === commonNo) {
      common(r, facts, addr);
      return true;
    }
    if (http && no === HTTP_ENTRY.response) {
      fields(r, end(r), (n, w) => (n === RESPONSE.details && isLen(w) ? ((facts.responseCodeDetails = r.string()), true) : false));
      return true;
    }
    return false;
  });
  facts.source = addr.direct || addr.remote;
  return facts;
}

/** Reads one message; throws on bytes that are not a well-formed protobuf message. */
export function readAccessLogMessage(bytes: Uint8Array): ReadMessage {
  const r = new BinaryReader(bytes);
  let identifier: StreamAccessLogsMessage_Identifier | undefined;
  let entries: EntryFacts[] = [];
  let kind = 0;
  fields(r, r.len, (no, wt) => {
    if (!isLen(wt)) return false;
    if (no === MSG.identifier) {
      const e = end(r);
      identifier = fromBinary(StreamAccessLogsMessage_IdentifierSchema, bytes.subarray(r.pos, e));
      r.pos = e;
      return true;
    }
    if (no !== MSG.tcp && no !== MSG.http) return false;
    // One oneof: a later member replaces an earlier one.
    if (kind !== no) entries = [];
    kind = no;
    const http = no === MSG.http;
    const list = http ? HTTP_LIST : TCP_LIST;
    fields(r, end(r), (n, w) => (n === list && isLen(w) ? (entries.push(entry(r, http)), true) : false));
    return true;
  });
  return identifier ? { identifier, entries } : { entries };
}
