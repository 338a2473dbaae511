// The description's structure, defined once as data. The validator (structure.ts) walks the YAML against it and
// meshJsonSchema() renders it for editors, so what an editor accepts is exactly what trustplane accepts.
import { FORMATS, type FormatName } from './formats.js';
import { MODES, PROTOCOLS, TARGETS } from './model.js';

interface Described {
  readonly description: string;
}
export interface StringSchema extends Described {
  readonly type: 'string';
  readonly enum?: readonly string[];
  readonly format?: FormatName;
}
export interface BooleanSchema extends Described {
  readonly type: 'boolean';
}
export interface IntegerSchema extends Described {
  readonly type: 'integer';
  readonly minimum: number;
  readonly maximum: number;
}
export interface ArraySchema extends Described {
  readonly type: 'array';
  readonly items: SchemaNode;
  readonly minItems?: number;
}
export interface ObjectSchema extends Described {
  readonly type: 'object';
  readonly properties: Readonly<Record<string, SchemaNode>>;
  readonly required?: readonly string[];
  /** Groups of keys of which exactly one must be set. */
  readonly exactlyOne?: readonly (readonly string[])[];
}
/** A map whose shape is chosen by which one of the variants' keys it has (`service:` or `name:`). */
export interface UnionSchema extends Described {
  readonly type: 'union';
  readonly variants: readonly { readonly when: string; readonly schema: ObjectSchema }[];
}
export type SchemaNode = StringSchema | BooleanSchema | IntegerSchema | ArraySchema | ObjectSchema | UnionSchema;

const port = (description: string): IntegerSchema => ({ type: 'integer', minimum: 1, maximum: 65535, description });
const str = (description: string, format?: FormatName): StringSchema => ({ type: 'string', description, format });
const oneOf = (values: readonly string[], description: string): StringSchema => ({ type: 'string', enum: values, description });
const mode = (inherits: string) =>
  oneOf(MODES, `DISABLE (plaintext only) | PERMISSIVE (plaintext and mTLS) | STRICT (mTLS only); inherits ${inherits}`);
const protocol = oneOf(PROTOCOLS, 'Application protocol; default tcp');

const inboundPort: ObjectSchema = {
  type: 'object',
  description: 'A port the service receives traffic on through its proxy',
  required: ['port', 'appPort'],
  properties: {
    port: port('Port the proxy listens on'),
    appPort: port('Port of the application behind the proxy'),
    appAddress: str('Address of the application; default 127.0.0.1', 'address'),
    listenAddress: str(
      'Target grpc: the IP address the gRPC server binds for this port (its xDS listener is named for it, and gRPC matches it byte for byte); default 127.0.0.1, loopback only — set the address clients reach (or 0.0.0.0 for every interface)',
      'ip',
    ),
    protocol,
    mode: mode("the service's mode"),
    force: { type: 'boolean', description: "STRICT even when the traffic evidence says a caller still sends plaintext (overrides the STRICT gate); inherits the service's force" },
    requireJwt: {
      type: 'object',
      description: "Every request must carry a valid JWT-SVID (Authorization: Bearer) whose sub is an allowed caller; HTTP and gRPC ports of target sidecar",
      required: ['audiences'],
      properties: {
        audiences: { type: 'array', minItems: 1, description: 'The token must name one of these in aud (e.g. this service\'s SPIFFE ID)', items: str('An audience') },
      },
    },
  },
};

const meshDependency: ObjectSchema = {
  type: 'object',
  description: 'A dependency on a service of this mesh',
  required: ['service'],
  properties: {
    service: str('Name of the server service', 'name'),
    port: port("The server's inbound listen port; may be left out when it has exactly one"),
    listenPort: port("Local port the proxy listens on for the application's traffic to this dependency"),
  },
};

const endpoint: ObjectSchema = {
  type: 'object',
  description: 'One address of an external server',
  required: ['address'],
  properties: { address: str('Host name or IP address', 'address'), port: port("Port; default the dependency's port") },
};

// Where an Istio service is, as Istio's own clients name it: the SNI (outbound_.<port>_._.<host>), ALPN and
// server identity (spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>) follow from these.
const istioDestination: ObjectSchema = {
  type: 'object',
  description: 'The dependency is a service of an Istio mesh, reached through its sidecar or east-west gateway',
  required: ['host', 'namespace', 'serviceAccount'],
  properties: {
    host: str('The service\'s host in Istio, e.g. reviews.bookinfo.svc.cluster.local', 'address'),
    port: port("The service's port in Istio; default the dependency's port"),
    namespace: str('Kubernetes namespace of the server workloads', 'name'),
    serviceAccount: str('Kubernetes service account of the server workloads', 'k8sName'),
    trustDomain: str("Istio's trust domain (meshConfig.trustDomain); default cluster.local", 'trustDomain'),
  },
};

const externalDependency: ObjectSchema = {
  type: 'object',
  description: 'A dependency outside this mesh (another trust domain, or a plaintext server)',
  required: ['name', 'port'],
  exactlyOne: [['address', 'endpoints']],
  properties: {
    name: str('Name of the dependency, unique within the service', 'name'),
    address: str('Host name or IP address of the server', 'address'),
    endpoints: { type: 'array', minItems: 1, description: 'Addresses of the server', items: endpoint },
    port: port('Port of the server'),
    protocol,
    spiffeIds: {
      type: 'array',
      minItems: 1,
      description: 'SPIFFE IDs the server may present (exact match); required unless mode is DISABLE',
      items: str('SPIFFE ID', 'spiffeId'),
    },
    mode: oneOf(MODES, "The server's mode: DISABLE means plaintext to it; default STRICT"),
    listenPort: port("Local port the proxy listens on for the application's traffic to this dependency"),
    istio: istioDestination,
    sni: str('TLS server name to send; default the address when it is a host name (targets vm and gateway)', 'sni'),
    alpn: {
      type: 'array',
      minItems: 1,
      description: 'ALPN protocols to offer, in order; default h2 for grpc, else none (targets vm and gateway)',
      items: str('ALPN protocol ID', 'alpn'),
    },
  },
};

// An edge gateway's outside: TLS terminated with a certificate from files (cert-manager's tls.crt/tls.key),
// HTTP routed by host and path prefix to the gateway's outbound dependencies.
const gatewayTls: ObjectSchema = {
  type: 'object',
  description: 'Server certificate for external clients, from files; reloaded when the files are replaced',
  required: ['certificateFile', 'privateKeyFile'],
  properties: {
    certificateFile: str('PEM certificate chain, leaf first (cert-manager: tls.crt)', 'absolutePath'),
    privateKeyFile: str('PEM private key (cert-manager: tls.key)', 'absolutePath'),
    clientCaFile: str('PEM CA certificates client certificates are checked against; when set, clients are asked for one', 'absolutePath'),
    requireClientCertificate: { type: 'boolean', description: 'Refuse clients without a certificate; needs clientCaFile; default false' },
  },
};

const gatewayListener: ObjectSchema = {
  type: 'object',
  description: 'A port external clients connect to over TLS; entries on one port are chosen by TLS server name',
  required: ['port', 'hosts', 'tls'],
  properties: {
    port: port('Port the gateway listens on'),
    hosts: { type: 'array', minItems: 1, description: 'Host names served with this certificate', items: str('Host name', 'host') },
    tls: gatewayTls,
  },
};

const gatewayRoute: ObjectSchema = {
  type: 'object',
  description: 'Requests for a host whose path starts with a prefix go to one dependency; the longest prefix wins',
  required: ['host', 'dependency'],
  properties: {
    host: str('A host of one of the listeners', 'host'),
    pathPrefix: str('Path prefix; default /', 'pathPrefix'),
    dependency: str('Name of an outbound dependency of the gateway (a mesh dependency is named after its service)', 'name'),
  },
};

const gateway: ObjectSchema = {
  type: 'object',
  description: 'The external side of a service with target gateway',
  required: ['listeners', 'routes'],
  properties: {
    listeners: { type: 'array', minItems: 1, description: 'TLS ports for external clients', items: gatewayListener },
    routes: { type: 'array', minItems: 1, description: 'HTTP routes to the gateway\'s dependencies', items: gatewayRoute },
  },
};

const caller = (key: 'spiffeId' | 'trustDomain' | 'service', description: string, format: FormatName): ObjectSchema => ({
  type: 'object',
  description,
  required: [key],
  properties: { [key]: str(description, format) },
});

const service: ObjectSchema = {
  type: 'object',
  description: 'A workload with one identity',
  required: ['name', 'spiffeId'],
  properties: {
    name: str('Service name, unique in the mesh', 'name'),
    spiffeId: str("The service's SPIFFE ID, in the mesh's trust domain", 'spiffeId'),
    address: str("Host the service's proxy is reached at; default the service name", 'address'),
    target: oneOf(TARGETS, 'What runs the proxy; default sidecar'),
    nodes: {
      type: 'array',
      description: 'Node principals that may receive this identity: uid:<n> or node:<name>',
      items: str('Node principal', 'principal'),
    },
    mode: mode("the mesh's defaultMode"),
    force: { type: 'boolean', description: 'STRICT on every port of the service even when the traffic evidence says a caller still sends plaintext (overrides the STRICT gate); default false' },
    gateway,
    inbound: { type: 'array', description: 'Ports the service receives traffic on', items: inboundPort },
    outbound: {
      type: 'array',
      description: 'Servers the service calls',
      items: {
        type: 'union',
        description: 'A mesh service (service:) or an external server (name:)',
        variants: [
          { when: 'service', schema: meshDependency },
          { when: 'name', schema: externalDependency },
        ],
      },
    },
    allowedCallers: {
      type: 'array',
      description: 'Who may call the service over mTLS; default every member of the trust domain',
      items: {
        type: 'union',
        description: 'An exact SPIFFE ID, a mesh service, or every member of a trust domain',
        variants: [
          { when: 'spiffeId', schema: caller('spiffeId', 'Caller SPIFFE ID (exact)', 'spiffeId') },
          { when: 'service', schema: caller('service', 'A service of this mesh, by name', 'name') },
          { when: 'trustDomain', schema: caller('trustDomain', 'Every member of this trust domain', 'trustDomain') },
        ],
      },
    },
  },
};

export const MESH_SCHEMA: ObjectSchema = {
  type: 'object',
  description: 'trustplane mesh description',
  required: ['trustDomain', 'services'],
  properties: {
    trustDomain: str("The mesh's own trust domain", 'trustDomain'),
    defaultMode: oneOf(MODES, 'Mode of every service that sets none; default PERMISSIVE'),
    accessLogs: { type: 'boolean', description: "Every generated listener sends its connection access logs to trustplane (the STRICT gate's evidence); default true" },
    federation: {
      type: 'array',
      description: 'Other trust domains whose bundles this mesh trusts',
      items: {
        type: 'object',
        description: 'A federated trust domain',
        required: ['trustDomain'],
        properties: {
          trustDomain: str('Federated trust domain', 'trustDomain'),
          bundleFile: str('Bundle file, relative to the mesh file'),
          format: oneOf(['pem', 'spiffe'], 'Bundle file format; default by extension (.json = spiffe, else pem)'),
          bundleEndpoint: {
            type: 'object',
            description: "The trust domain's SPIFFE bundle endpoint, fetched on its refresh hint (bundleFile is then the bootstrap bundle)",
            required: ['url', 'profile'],
            properties: {
              url: str('Bundle endpoint URL (https)', 'bundleEndpointUrl'),
              profile: oneOf(['https_web', 'https_spiffe'], 'https_web (Web PKI server certificate) | https_spiffe (the endpoint presents an X509-SVID)'),
              endpointSpiffeId: str("https_spiffe: the endpoint's SPIFFE ID", 'spiffeId'),
            },
          },
        },
      },
    },
    services: { type: 'array', description: 'The workloads of the mesh', items: service },
  },
};

type Json = { [k: string]: unknown };

function render(node: SchemaNode): Json {
  switch (node.type) {
    case 'string': {
      const out: Json = { type: 'string', description: node.description };
      if (node.enum) out['enum'] = [...node.enum];
      if (node.format) out['pattern'] = FORMATS[node.format].pattern;
      return out;
    }
    case 'boolean':
      return { type: 'boolean', description: node.description };
    case 'integer':
      return { type: 'integer', description: node.description, minimum: node.minimum, maximum: node.maximum };
    case 'array': {
      const out: Json = { type: 'array', description: node.description, items: render(node.items) };
      if (node.minItems !== undefined) out['minItems'] = node.minItems;
      return out;
    }
    case 'object': {
      const properties: Json = {};
      for (const [k, v] of Object.entries(node.properties)) properties[k] = render(v);
      const out: Json = { type: 'object', description: node.description, properties, additionalProperties: false };
      if (node.required?.length) out['required'] = [...node.required];
      const groups = node.exactlyOne ?? [];
      if (groups.length === 1) out['oneOf'] = groups[0]!.map((k) => ({ required: [k] }));
      else if (groups.length > 1) out['allOf'] = groups.map((g) => ({ oneOf: g.map((k) => ({ required: [k] })) }));
      return out;
    }
    case 'union':
      return { description: node.description, oneOf: node.variants.map((v) => render(v.schema)) };
  }
}

/** JSON Schema (draft 2020-12) of the mesh description, for editors (e.g. the YAML language server). */
export function meshJsonSchema(): Json {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'trustplane mesh description',
    ...render(MESH_SCHEMA),
  };
}
