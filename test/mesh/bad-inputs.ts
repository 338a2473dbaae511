// Bad mesh descriptions, each with the exact problems (formatted: file:line:column: path: message (found; accepted))
// that a user sees. Shared by the problems test and the schema test (the JSON Schema must reject them too).
export interface BadCase {
  readonly name: string;
  readonly yaml: string;
  /** `CODE file:line:column: path: message (found ...; accepted: ...)`, as formatProblem prints them. */
  readonly expected: readonly string[];
  /** Problems only the cross-reference checks can see; the JSON Schema accepts these documents. */
  readonly semantic?: boolean;
}

const svc = (body: string) => `trustDomain: example.org\nservices:\n  - name: orders\n    spiffeId: spiffe://example.org/orders\n${body}`;

export const BAD_CASES: readonly BadCase[] = [
  {
    name: 'YAML syntax error: unclosed flow sequence',
    yaml: 'trustDomain: example.org\nservices: [\n',
    expected: [
      "YAML_SYNTAX mesh.yaml:3:1: Flow sequence in block collection must be sufficiently indented and end with a ]",
    ],
  },
  {
    name: 'duplicate key in one map',
    yaml: 'trustDomain: example.org\ntrustDomain: example.com\nservices: []\n',
    expected: [
      "DUPLICATE_KEY mesh.yaml:2:1: Map keys must be unique",
    ],
  },
  {
    name: 'empty file',
    yaml: '',
    expected: [
      "WRONG_TYPE mesh.yaml:1:1: the file holds no mesh description (found an empty document; accepted: a map with keys trustDomain, defaultMode, federation, services)",
    ],
  },
  {
    name: 'top level is a list',
    yaml: '- trustDomain: example.org\n',
    expected: [
      "WRONG_TYPE mesh.yaml:1:1: wrong type (found a list; accepted: a map with keys trustDomain, defaultMode, federation, services)",
    ],
  },
  {
    name: 'missing trustDomain and services',
    yaml: 'defaultMode: STRICT\n',
    expected: [
      "MISSING_FIELD mesh.yaml:1:1: trustDomain: missing required field \"trustDomain\" (accepted: a trust domain name such as example.org (lowercase letters, digits, \".\", \"-\", \"_\"))",
      "MISSING_FIELD mesh.yaml:1:1: services: missing required field \"services\" (accepted: a list)",
    ],
  },
  {
    name: 'unknown top-level key with a case typo',
    yaml: 'trustDomain: example.org\nServices: []\n',
    expected: [
      "MISSING_FIELD mesh.yaml:1:1: services: missing required field \"services\" (accepted: a list)",
      "UNKNOWN_KEY mesh.yaml:2:1: Services: unknown key \"Services\", did you mean \"services\"? (accepted: trustDomain, defaultMode, federation, services)",
    ],
  },
  {
    name: 'unknown key with an edit-distance typo, and one with no near match',
    yaml: svc('    inbound:\n      - port: 15006\n        appPrt: 8080\n        colour: blue\n'),
    expected: [
      "MISSING_FIELD mesh.yaml:6:9: services[0].inbound[0].appPort: missing required field \"appPort\" (accepted: an integer from 1 to 65535)",
      "UNKNOWN_KEY mesh.yaml:7:9: services[0].inbound[0].appPrt: unknown key \"appPrt\", did you mean \"appPort\"? (accepted: port, appPort, appAddress, protocol, mode)",
      "UNKNOWN_KEY mesh.yaml:8:9: services[0].inbound[0].colour: unknown key \"colour\" (accepted: port, appPort, appAddress, protocol, mode)",
    ],
  },
  {
    name: 'wrong types: string port, map for nodes, number for name',
    yaml: 'trustDomain: example.org\nservices:\n  - name: 42\n    spiffeId: spiffe://example.org/a\n    nodes: {uid: 1}\n    inbound:\n      - port: "15006"\n        appPort: 8080.5\n',
    expected: [
      "WRONG_TYPE mesh.yaml:3:11: services[0].name: wrong type (found number 42; accepted: a DNS label: 1–63 lowercase letters, digits and \"-\", starting and ending with a letter or digit)",
      "WRONG_TYPE mesh.yaml:5:12: services[0].nodes: wrong type (found a map; accepted: a list)",
      "WRONG_TYPE mesh.yaml:7:15: services[0].inbound[0].port: wrong type (found string \"15006\"; accepted: an integer from 1 to 65535)",
      "WRONG_TYPE mesh.yaml:8:18: services[0].inbound[0].appPort: wrong type (found number 8080.5; accepted: an integer from 1 to 65535)",
    ],
  },
  {
    name: 'empty value where a list is expected',
    yaml: svc('    outbound:\n'),
    expected: [
      "WRONG_TYPE mesh.yaml:5:14: services[0].outbound: wrong type (found an empty value; accepted: a list)",
    ],
  },
  {
    name: 'bad mode (wrong case) and protocol enums',
    yaml: 'trustDomain: example.org\ndefaultMode: strict\nservices:\n  - name: orders\n    spiffeId: spiffe://example.org/orders\n    inbound:\n      - {port: 15006, appPort: 8080, protocol: udp}\n',
    expected: [
      "INVALID_ENUM mesh.yaml:2:14: defaultMode: invalid value, did you mean \"STRICT\"? (found \"strict\"; accepted: one of DISABLE, PERMISSIVE, STRICT)",
      "INVALID_ENUM mesh.yaml:7:48: services[0].inbound[0].protocol: invalid value (found \"udp\"; accepted: one of http, tcp, grpc)",
    ],
  },
  {
    name: 'ports out of range',
    yaml: svc('    inbound:\n      - port: 0\n        appPort: 70000\n'),
    expected: [
      "OUT_OF_RANGE mesh.yaml:6:15: services[0].inbound[0].port: out of range (found 0; accepted: an integer from 1 to 65535)",
      "OUT_OF_RANGE mesh.yaml:7:18: services[0].inbound[0].appPort: out of range (found 70000; accepted: an integer from 1 to 65535)",
    ],
  },
  {
    name: 'invalid SPIFFE ID carries the parser reason',
    yaml: 'trustDomain: example.org\nservices:\n  - name: orders\n    spiffeId: spiffe://example.org/orders/\n',
    expected: [
      "INVALID_SPIFFE_ID mesh.yaml:4:15: services[0].spiffeId: not a valid SPIFFE ID: path ends with \"/\" at index 27 in \"spiffe://example.org/orders/\" (found \"spiffe://example.org/orders/\"; accepted: spiffe://<trust-domain>/<path>, e.g. spiffe://example.org/ns/default/sa/web)",
    ],
  },
  {
    name: 'SPIFFE ID without the scheme',
    yaml: 'trustDomain: example.org\nservices:\n  - name: orders\n    spiffeId: example.org/orders\n',
    expected: [
      "INVALID_SPIFFE_ID mesh.yaml:4:15: services[0].spiffeId: not a valid SPIFFE ID: \"example.org/orders\" is not a SPIFFE ID: it must start with \"spiffe://\" (found \"example.org/orders\"; accepted: spiffe://<trust-domain>/<path>, e.g. spiffe://example.org/ns/default/sa/web)",
    ],
  },
  {
    name: 'invalid trust domain',
    yaml: 'trustDomain: Example.org\nservices: []\n',
    expected: [
      "INVALID_TRUST_DOMAIN mesh.yaml:1:14: trustDomain: not a valid trust domain: trust domain contains an invalid character \"E\" at index 0 in \"Example.org\" (accepted: a-z 0-9 . - _); upper case is not allowed, trust domains are lower case (found \"Example.org\"; accepted: a trust domain name such as example.org (lowercase letters, digits, \".\", \"-\", \"_\"))",
    ],
  },
  {
    name: 'service ID outside the own trust domain',
    yaml: 'trustDomain: example.org\nservices:\n  - name: orders\n    spiffeId: spiffe://example.com/orders\n',
    expected: [
      "ID_OUTSIDE_TRUST_DOMAIN mesh.yaml:4:15: services[0].spiffeId: SPIFFE ID spiffe://example.com/orders is outside the mesh's trust domain \"example.org\" (found trust domain \"example.com\"; accepted: an ID under spiffe://example.org/)",
    ],
    semantic: true,
  },
  {
    name: 'caller and dependency IDs in an unknown trust domain',
    yaml: svc('    outbound:\n      - name: partner\n        address: api.partner.net\n        port: 443\n        spiffeIds: [spiffe://partner.net/api]\n    allowedCallers:\n      - spiffeId: spiffe://other.net/x\n      - trustDomain: third.net\n'),
    expected: [
      "UNKNOWN_TRUST_DOMAIN mesh.yaml:9:21: services[0].outbound[0].spiffeIds[0]: trust domain \"partner.net\" is neither the mesh's own nor federated (found \"partner.net\"; accepted: a trust domain in: example.org; or add it under federation)",
      "UNKNOWN_TRUST_DOMAIN mesh.yaml:11:19: services[0].allowedCallers[0].spiffeId: trust domain \"other.net\" is neither the mesh's own nor federated (found \"other.net\"; accepted: a trust domain in: example.org; or add it under federation)",
      "UNKNOWN_TRUST_DOMAIN mesh.yaml:12:22: services[0].allowedCallers[1].trustDomain: trust domain \"third.net\" is neither the mesh's own nor federated (found \"third.net\"; accepted: a trust domain in: example.org; or add it under federation)",
    ],
    semantic: true,
  },
  {
    name: 'duplicate service name and duplicate SPIFFE ID',
    yaml: 'trustDomain: example.org\nservices:\n  - name: orders\n    spiffeId: spiffe://example.org/orders\n  - name: orders\n    spiffeId: spiffe://example.org/orders2\n  - name: billing\n    spiffeId: spiffe://example.org/orders\n',
    expected: [
      "DUPLICATE_SERVICE_NAME mesh.yaml:5:11: services[1].name: service name \"orders\" is already used by services[0] (line 3)",
      "DUPLICATE_SPIFFE_ID mesh.yaml:8:15: services[2].spiffeId: SPIFFE ID spiffe://example.org/orders is already the identity of services[0] (line 3)",
    ],
    semantic: true,
  },
  {
    name: 'dependency on a service that does not exist, with a suggestion',
    yaml: 'trustDomain: example.org\nservices:\n  - name: payments\n    spiffeId: spiffe://example.org/payments\n    outbound:\n      - service: paymnts\n    allowedCallers:\n      - service: web\n',
    expected: [
      "UNKNOWN_SERVICE mesh.yaml:6:18: services[0].outbound[0].service: no service named \"paymnts\", did you mean \"payments\"? (found \"paymnts\"; accepted: a service of this mesh: payments)",
      "UNKNOWN_SERVICE mesh.yaml:8:18: services[0].allowedCallers[0].service: no service named \"web\" (found \"web\"; accepted: a service of this mesh: payments)",
    ],
    semantic: true,
  },
  {
    name: 'dependency on a port the server does not expose, and on a server with several ports',
    yaml: 'trustDomain: example.org\nservices:\n  - name: web\n    spiffeId: spiffe://example.org/web\n    outbound:\n      - service: orders\n        port: 9999\n      - service: orders\n        listenPort: 15101\n  - name: orders\n    spiffeId: spiffe://example.org/orders\n    inbound:\n      - {port: 15006, appPort: 8080}\n      - {port: 15007, appPort: 8081}\n',
    expected: [
      "UNKNOWN_PORT mesh.yaml:7:15: services[0].outbound[0].port: service \"orders\" has no inbound port 9999 (found 9999; accepted: one of the inbound ports of \"orders\": 15006, 15007)",
      "UNKNOWN_PORT mesh.yaml:8:18: services[0].outbound[1].service: service \"orders\" has 2 inbound ports; say which with \"port\" (accepted: one of the inbound ports of \"orders\": 15006, 15007)",
    ],
    semantic: true,
  },
  {
    name: 'port used twice in a service: two listeners, and an app port the proxy listens on',
    yaml: svc('    inbound:\n      - {port: 15006, appPort: 8080}\n      - {port: 15006, appPort: 8081}\n      - {port: 15007, appPort: 15101}\n    outbound:\n      - name: db\n        address: 10.0.0.5\n        port: 5432\n        mode: DISABLE\n        listenPort: 15101\n'),
    expected: [
      "DUPLICATE_PORT mesh.yaml:7:16: services[0].inbound[1].port: port 15006 is already used by services[0].inbound[0].port (line 6) (found 15006; accepted: a port no other listener or application of this service uses)",
      "DUPLICATE_PORT mesh.yaml:8:32: services[0].inbound[2].appPort: application port 15101 is also the proxy's listen port at services[0].outbound[0].listenPort (line 14) (found 15101; accepted: an application port the proxy does not listen on)",
    ],
    semantic: true,
  },
  {
    name: 'bad node principals',
    yaml: svc('    nodes: [uid:-1, uid:4294967295, node:, node:-bad, host:a]\n'),
    expected: [
      "INVALID_PRINCIPAL mesh.yaml:5:13: services[0].nodes[0]: not a valid node principal: a uid is a decimal number (found \"uid:-1\"; accepted: uid:<n> (Unix-socket peer uid, 0–4294967294) or node:<name> (letters, digits, '.', '_', '-'))",
      "INVALID_PRINCIPAL mesh.yaml:5:21: services[0].nodes[1]: not a valid node principal: uid 4294967295 is above 4294967294 (found \"uid:4294967295\"; accepted: uid:<n> (Unix-socket peer uid, 0–4294967294) or node:<name> (letters, digits, '.', '_', '-'))",
      "WRONG_TYPE mesh.yaml:5:37: services[0].nodes[2]: wrong type (found a map; accepted: uid:<n> (Unix-socket peer uid, 0–4294967294) or node:<name> (letters, digits, '.', '_', '-'))",
      "INVALID_PRINCIPAL mesh.yaml:5:44: services[0].nodes[3]: not a valid node principal: a node name is letters, digits, \".\", \"_\" and \"-\", starting and ending with a letter or digit (found \"node:-bad\"; accepted: uid:<n> (Unix-socket peer uid, 0–4294967294) or node:<name> (letters, digits, '.', '_', '-'))",
      "INVALID_PRINCIPAL mesh.yaml:5:55: services[0].nodes[4]: not a valid node principal: a principal starts with \"uid:\" or \"node:\" (found \"host:a\"; accepted: uid:<n> (Unix-socket peer uid, 0–4294967294) or node:<name> (letters, digits, '.', '_', '-'))",
    ],
  },
  {
    name: 'outbound with neither service nor name, and with both',
    yaml: svc('    outbound:\n      - port: 443\n      - service: payments\n        name: payments\n'),
    expected: [
      "MISSING_FIELD mesh.yaml:6:9: services[0].outbound[0]: missing one of \"service\", \"name\" (accepted: a map with one of the keys service, name)",
      "CONFLICTING_FIELDS mesh.yaml:8:9: services[0].outbound[1].name: \"service\" and \"name\" exclude each other (accepted: exactly one of \"service\", \"name\")",
    ],
  },
  {
    name: 'external dependency with both address and endpoints, and one with neither and no spiffeIds',
    yaml: svc('    outbound:\n      - name: a\n        address: a.example.net\n        endpoints: [{address: b.example.net}]\n        port: 443\n        spiffeIds: [spiffe://example.org/a]\n      - name: b\n        port: 443\n'),
    expected: [
      "CONFLICTING_FIELDS mesh.yaml:8:9: services[0].outbound[0].endpoints: \"address\" and \"endpoints\" exclude each other (accepted: exactly one of \"address\", \"endpoints\")",
      "MISSING_FIELD mesh.yaml:11:9: services[0].outbound[1]: missing one of \"address\", \"endpoints\" (accepted: exactly one of \"address\", \"endpoints\")",
      "MISSING_FIELD mesh.yaml:11:9: services[0].outbound[1].spiffeIds: missing required field \"spiffeIds\" (accepted: the SPIFFE IDs the server may present; or mode: DISABLE for a plaintext server)",
    ],
  },
  {
    name: 'external dependency without spiffeIds is accepted only in plaintext',
    yaml: svc('    outbound:\n      - name: partner\n        address: partner.example.net\n        port: 443\n'),
    expected: [
      "MISSING_FIELD mesh.yaml:6:9: services[0].outbound[0].spiffeIds: missing required field \"spiffeIds\" (accepted: the SPIFFE IDs the server may present; or mode: DISABLE for a plaintext server)",
    ],
    semantic: true,
  },
  {
    name: 'invalid address and service name',
    yaml: 'trustDomain: example.org\nservices:\n  - name: Orders_1\n    spiffeId: spiffe://example.org/orders\n    address: "orders service"\n',
    expected: [
      "INVALID_NAME mesh.yaml:3:11: services[0].name: not a valid name: names are used in Envoy cluster and listener names (found \"Orders_1\"; accepted: a DNS label: 1–63 lowercase letters, digits and \"-\", starting and ending with a letter or digit)",
      "INVALID_ADDRESS mesh.yaml:5:14: services[0].address: not a valid address: not a host name or IP address (found \"orders service\"; accepted: a host name (e.g. payments.internal) or an IPv4/IPv6 address)",
    ],
  },
  {
    name: 'federation of the own trust domain and a duplicate, bad bundle format',
    yaml: 'trustDomain: example.org\nfederation:\n  - trustDomain: example.org\n  - trustDomain: partner.net\n    bundleFile: p.pem\n  - trustDomain: spiffe://partner.net\n    format: der\nservices: []\n',
    expected: [
      "DUPLICATE_TRUST_DOMAIN mesh.yaml:3:18: federation[0].trustDomain: trust domain \"example.org\" is the mesh's own; it needs no federation",
      "DUPLICATE_TRUST_DOMAIN mesh.yaml:6:18: federation[2].trustDomain: trust domain \"partner.net\" is already federated at federation[1] (line 4)",
      "INVALID_ENUM mesh.yaml:7:13: federation[2].format: invalid value (found \"der\"; accepted: one of pem, spiffe)",
    ],
  },
  {
    name: 'bad target and duplicate dependency names',
    yaml: 'trustDomain: example.org\nservices:\n  - name: web\n    spiffeId: spiffe://example.org/web\n    target: lambda\n    outbound:\n      - service: orders\n      - service: orders\n  - name: orders\n    spiffeId: spiffe://example.org/orders\n    inbound: [{port: 15006, appPort: 8080}]\n',
    expected: [
      "INVALID_ENUM mesh.yaml:5:13: services[0].target: invalid value (found \"lambda\"; accepted: one of sidecar, gateway, vm, grpc)",
      "DUPLICATE_DEPENDENCY mesh.yaml:8:18: services[0].outbound[1].service: dependency \"orders\" is already declared at services[0].outbound[0] (line 7)",
    ],
  },
  {
    name: 'empty list of expected server IDs',
    yaml: svc('    outbound:\n      - name: partner\n        address: partner.example.net\n        port: 443\n        spiffeIds: []\n'),
    expected: [
      "EMPTY_LIST mesh.yaml:9:20: services[0].outbound[0].spiffeIds: empty list (accepted: at least 1 item)",
    ],
  },
  {
    name: 'an invalid own trust domain is reported once, not again for every ID in it',
    yaml: 'trustDomain: Example.org\nservices:\n  - name: a\n    spiffeId: spiffe://example.org/a\n    allowedCallers: [{spiffeId: spiffe://example.org/b}, {trustDomain: example.org}]\n',
    expected: [
      "INVALID_TRUST_DOMAIN mesh.yaml:1:14: trustDomain: not a valid trust domain: trust domain contains an invalid character \"E\" at index 0 in \"Example.org\" (accepted: a-z 0-9 . - _); upper case is not allowed, trust domains are lower case (found \"Example.org\"; accepted: a trust domain name such as example.org (lowercase letters, digits, \".\", \"-\", \"_\"))",
    ],
  },
];
