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
      "WRONG_TYPE mesh.yaml:1:1: the file holds no mesh description (found an empty document; accepted: a map with keys trustDomain, defaultMode, accessLogs, federation, services)",
    ],
  },
  {
    name: 'top level is a list',
    yaml: '- trustDomain: example.org\n',
    expected: [
      "WRONG_TYPE mesh.yaml:1:1: wrong type (found a list; accepted: a map with keys trustDomain, defaultMode, accessLogs, federation, services)",
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
      "UNKNOWN_KEY mesh.yaml:2:1: Services: unknown key \"Services\", did you mean \"services\"? (accepted: trustDomain, defaultMode, accessLogs, federation, services)",
    ],
  },
  {
    name: 'unknown key with an edit-distance typo, and one with no near match',
    yaml: svc('    inbound:\n      - port: 15006\n        appPrt: 8080\n        colour: blue\n'),
    expected: [
      "MISSING_FIELD mesh.yaml:6:9: services[0].inbound[0].appPort: missing required field \"appPort\" (accepted: an integer from 1 to 65535)",
      "UNKNOWN_KEY mesh.yaml:7:9: services[0].inbound[0].appPrt: unknown key \"appPrt\", did you mean \"appPort\"? (accepted: port, appPort, appAddress, listenAddress, protocol, mode, force, requireJwt)",
      "UNKNOWN_KEY mesh.yaml:8:9: services[0].inbound[0].colour: unknown key \"colour\" (accepted: port, appPort, appAddress, listenAddress, protocol, mode, force, requireJwt)",
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
    name: "a service taking trustplane's own server identity",
    yaml: 'trustDomain: example.org\nservices:\n  - name: orders\n    spiffeId: spiffe://example.org/trustplane/server\n',
    expected: [
      'RESERVED_SPIFFE_ID mesh.yaml:4:15: services[0].spiffeId: SPIFFE ID spiffe://example.org/trustplane/server is reserved for trustplane itself (its server and node identities) (found spiffe://example.org/trustplane/server; accepted: an ID outside spiffe://example.org/trustplane/)',
    ],
    semantic: true,
  },
  {
    name: 'an allowed caller that is a node identity',
    yaml: 'trustDomain: example.org\nservices:\n  - name: orders\n    spiffeId: spiffe://example.org/orders\n    allowedCallers:\n      - spiffeId: spiffe://example.org/trustplane/node/web-1\n',
    expected: [
      'RESERVED_SPIFFE_ID mesh.yaml:6:19: services[0].allowedCallers[0].spiffeId: SPIFFE ID spiffe://example.org/trustplane/node/web-1 is reserved for trustplane itself (its server and node identities) (found spiffe://example.org/trustplane/node/web-1; accepted: an ID outside spiffe://example.org/trustplane/)',
    ],
    semantic: true,
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
  {
    name: "gateway: upper-case and one-label hosts, a wildcard not in the first label, relative and directory file paths, a non-boolean flag, bad path prefixes",
    yaml: "trustDomain: example.org\nservices:\n  - name: edge\n    spiffeId: spiffe://example.org/edge\n    target: gateway\n    gateway:\n      listeners:\n        - port: 443\n          hosts: [Shop.example.com, localhost, '*.*.example.com']\n          tls:\n            certificateFile: tls/tls.crt\n            privateKeyFile: /etc/tls/\n            requireClientCertificate: yes\n      routes:\n        - host: shop.example.com\n          pathPrefix: api/\n          dependency: web\n        - host: shop.example.com\n          pathPrefix: /a/../admin\n          dependency: web\n",
    expected: [
      "INVALID_HOST mesh.yaml:9:19: services[0].gateway.listeners[0].hosts[0]: not a valid host: not a lower-case DNS name; a wildcard is only allowed as the whole first label (found \"Shop.example.com\"; accepted: a lower-case DNS name (e.g. shop.example.com), or one with a leading wildcard label (*.example.com))",
      "INVALID_HOST mesh.yaml:9:37: services[0].gateway.listeners[0].hosts[1]: not a valid host: a host has at least two labels (found \"localhost\"; accepted: a lower-case DNS name (e.g. shop.example.com), or one with a leading wildcard label (*.example.com))",
      "INVALID_HOST mesh.yaml:9:48: services[0].gateway.listeners[0].hosts[2]: not a valid host: not a lower-case DNS name; a wildcard is only allowed as the whole first label (found \"*.*.example.com\"; accepted: a lower-case DNS name (e.g. shop.example.com), or one with a leading wildcard label (*.example.com))",
      "INVALID_PATH mesh.yaml:11:30: services[0].gateway.listeners[0].tls.certificateFile: not a valid file path: Envoy resolves relative paths against its working directory; give an absolute path (found \"tls/tls.crt\"; accepted: an absolute file path on the proxy's host, e.g. /etc/gateway/tls/shop/tls.crt)",
      "INVALID_PATH mesh.yaml:12:29: services[0].gateway.listeners[0].tls.privateKeyFile: not a valid file path: a file path does not end with \"/\" (found \"/etc/tls/\"; accepted: an absolute file path on the proxy's host, e.g. /etc/gateway/tls/shop/tls.crt)",
      "WRONG_TYPE mesh.yaml:13:39: services[0].gateway.listeners[0].tls.requireClientCertificate: wrong type (found string \"yes\"; accepted: true or false)",
      "INVALID_PATH_PREFIX mesh.yaml:16:23: services[0].gateway.routes[0].pathPrefix: not a valid path prefix: a path prefix starts with \"/\" (found \"api/\"; accepted: a URL path starting with \"/\" (e.g. /api/), without query, fragment, spaces, \".\" or \"..\" segments)",
      "INVALID_PATH_PREFIX mesh.yaml:19:23: services[0].gateway.routes[1].pathPrefix: not a valid path prefix: a path prefix has no \".\" or \"..\" segments (found \"/a/../admin\"; accepted: a URL path starting with \"/\" (e.g. /api/), without query, fragment, spaces, \".\" or \"..\" segments)",
    ],
  },
  {
    name: "vm dependency: an IP address as SNI, an ALPN ID with a space, an Istio service account that is no Kubernetes name",
    yaml: "trustDomain: example.org\nservices:\n  - name: billing\n    spiffeId: spiffe://example.org/billing\n    target: vm\n    outbound:\n      - name: reviews\n        address: 10.0.0.7\n        port: 15443\n        spiffeIds: [spiffe://example.org/reviews]\n        sni: 10.0.0.7\n        alpn: [istio, 'h 2']\n      - name: ratings\n        address: istio-eastwest.example.net\n        port: 15443\n        istio: {host: ratings.bookinfo.svc.cluster.local, port: 9080, namespace: bookinfo, serviceAccount: Bookinfo_Ratings}\n",
    expected: [
      "INVALID_SNI mesh.yaml:11:14: services[0].outbound[0].sni: not a valid server name: TLS forbids an IP address as server name (RFC 6066) (found \"10.0.0.7\"; accepted: letters, digits, \".\", \"-\" and \"_\", at most 255 characters, not an IP address)",
      "INVALID_ALPN mesh.yaml:12:23: services[0].outbound[0].alpn[1]: not a valid ALPN protocol: an ALPN protocol ID is printable ASCII without spaces (found \"h 2\"; accepted: a printable ASCII protocol ID of 1–255 characters, e.g. h2, istio-peer-exchange)",
      "INVALID_NAME mesh.yaml:16:108: services[0].outbound[1].istio.serviceAccount: not a valid Kubernetes name: Istio builds the SPIFFE ID from it: spiffe://<td>/ns/<namespace>/sa/<serviceAccount> (found \"Bookinfo_Ratings\"; accepted: a DNS subdomain: lower-case letters, digits, \"-\" and \".\", at most 253 characters)",
    ],
  },
  {
    name: "gateway routes and listeners: client certificates required without a CA, a host on one port twice, a route twice, an unserved host, a tcp dependency, routes to undeclared dependencies",
    yaml: "trustDomain: example.org\nservices:\n  - name: edge\n    spiffeId: spiffe://example.org/edge\n    target: gateway\n    outbound:\n      - service: web\n      - service: db\n    gateway:\n      listeners:\n        - port: 443\n          hosts: [shop.example.com, api.example.com]\n          tls: {certificateFile: /t/a.crt, privateKeyFile: /t/a.key, requireClientCertificate: true}\n        - port: 443\n          hosts: [api.example.com]\n          tls: {certificateFile: /t/b.crt, privateKeyFile: /t/b.key}\n      routes:\n        - {host: shop.example.com, dependency: web}\n        - {host: shop.example.com, pathPrefix: /, dependency: web}\n        - {host: shop.exampel.com, dependency: web}\n        - {host: api.example.com, dependency: db}\n        - {host: api.example.com, pathPrefix: /v1/, dependency: orders}\n        - {host: api.example.com, pathPrefix: /v2/, dependency: wbe}\n  - name: web\n    spiffeId: spiffe://example.org/web\n    inbound: [{port: 15006, appPort: 8080, protocol: http}]\n  - name: db\n    spiffeId: spiffe://example.org/db\n    inbound: [{port: 15006, appPort: 5432}]\n  - name: orders\n    spiffeId: spiffe://example.org/orders\n    inbound: [{port: 15006, appPort: 8080, protocol: http}]\n",
    expected: [
      "MISSING_FIELD mesh.yaml:13:16: services[0].gateway.listeners[0].tls.clientCaFile: missing field \"clientCaFile\": requireClientCertificate needs the CAs client certificates are checked against (accepted: a PEM file of CA certificates)",
      "DUPLICATE_HOST mesh.yaml:15:19: services[0].gateway.listeners[1].hosts[0]: host \"api.example.com\" is already served on port 443 by services[0].gateway.listeners[0] (line 11) (found \"api.example.com\"; accepted: each host once per port)",
      "DUPLICATE_ROUTE mesh.yaml:19:48: services[0].gateway.routes[1].pathPrefix: host \"shop.example.com\" path prefix \"/\" is already routed by services[0].gateway.routes[0] (line 18) (accepted: one route per host and path prefix)",
      "UNKNOWN_HOST mesh.yaml:20:18: services[0].gateway.routes[2].host: no gateway listener serves host \"shop.exampel.com\", did you mean \"shop.example.com\"? (found \"shop.exampel.com\"; accepted: a host of the listeners: shop.example.com, api.example.com)",
      "WRONG_PROTOCOL mesh.yaml:21:47: services[0].gateway.routes[3].dependency: dependency \"db\" speaks tcp; a route forwards HTTP requests (found \"db\" (protocol tcp); accepted: a dependency with protocol http or grpc)",
      "UNKNOWN_DEPENDENCY mesh.yaml:22:65: services[0].gateway.routes[4].dependency: the gateway has no dependency \"orders\" (found \"orders\"; accepted: a dependency of this gateway; to route to service \"orders\", add \"- service: orders\" under outbound)",
      "UNKNOWN_DEPENDENCY mesh.yaml:23:65: services[0].gateway.routes[5].dependency: the gateway has no dependency \"wbe\" (found \"wbe\"; accepted: a dependency of this gateway: web, db)",
    ],
    semantic: true,
  },
  {
    name: "fields the target does not use: a gateway without gateway:, gateway: on a sidecar, istio and sni on a sidecar (and together)",
    yaml: "trustDomain: example.org\nservices:\n  - name: edge\n    spiffeId: spiffe://example.org/edge\n    target: gateway\n  - name: web\n    spiffeId: spiffe://example.org/web\n    gateway:\n      listeners: [{port: 443, hosts: [a.example.com], tls: {certificateFile: /a, privateKeyFile: /b}}]\n      routes: [{host: a.example.com, dependency: x}]\n    outbound:\n      - name: reviews\n        address: reviews.example.org\n        port: 9080\n        istio: {host: reviews.bookinfo.svc.cluster.local, namespace: bookinfo, serviceAccount: bookinfo-reviews, trustDomain: example.org}\n        sni: reviews\n",
    expected: [
      "MISSING_FIELD mesh.yaml:3:5: services[0].gateway: missing required field \"gateway\" (accepted: the listeners and routes of a service with target gateway)",
      "NOT_FOR_TARGET mesh.yaml:9:7: services[1].gateway: \"gateway\" is only used by target gateway; this service's target is sidecar (accepted: target: gateway, or no gateway key)",
      "NOT_FOR_TARGET mesh.yaml:15:16: services[1].outbound[0].istio: \"istio\" is only generated for targets vm and gateway; this service's target is sidecar (accepted: target: vm or gateway, or no istio key)",
      "CONFLICTING_FIELDS mesh.yaml:16:14: services[1].outbound[0].sni: \"istio\" and \"sni\" exclude each other (accepted: istio (the server ID, SNI and ALPN follow from it), or sni)",
      "NOT_FOR_TARGET mesh.yaml:16:14: services[1].outbound[0].sni: \"sni\" is only generated for targets vm and gateway; this service's target is sidecar (accepted: target: vm or gateway, or no sni key)",
    ],
    semantic: true,
  },
  {
    name: 'listenAddress: only for target grpc, and an IP address',
    yaml: 'trustDomain: example.org\nservices:\n  - name: web\n    spiffeId: spiffe://example.org/web\n    inbound:\n      - { port: 8443, appPort: 8080, listenAddress: 0.0.0.0 }\n  - name: greeter\n    spiffeId: spiffe://example.org/greeter\n    target: grpc\n    inbound:\n      - { port: 50051, appPort: 1, listenAddress: localhost }\n',
    expected: [
      "NOT_FOR_TARGET mesh.yaml:6:53: services[0].inbound[0].listenAddress: \"listenAddress\" is only used by target grpc (the server binds it itself); this service's target is sidecar (accepted: target: grpc, or no listenAddress key)",
      "INVALID_ADDRESS mesh.yaml:11:51: services[1].inbound[0].listenAddress: not a valid IP address: not an IPv4 or IPv6 address (found \"localhost\"; accepted: an IPv4 or IPv6 address (e.g. 127.0.0.1, 10.0.1.10, 0.0.0.0, ::))",
    ],
  },
  {
    name: "istio dependency: spiffeIds beside istio, and Istio's default trust domain not federated",
    yaml: "trustDomain: example.org\nservices:\n  - name: billing\n    spiffeId: spiffe://example.org/billing\n    target: vm\n    outbound:\n      - name: reviews\n        address: istio-eastwest.example.net\n        port: 15443\n        spiffeIds: [spiffe://example.org/reviews]\n        istio: {host: reviews.bookinfo.svc.cluster.local, namespace: bookinfo, serviceAccount: bookinfo-reviews}\n",
    expected: [
      "CONFLICTING_FIELDS mesh.yaml:10:20: services[0].outbound[0].spiffeIds: \"istio\" and \"spiffeIds\" exclude each other (accepted: istio (the server ID, SNI and ALPN follow from it), or spiffeIds)",
      "UNKNOWN_TRUST_DOMAIN mesh.yaml:11:16: services[0].outbound[0].istio: trust domain \"cluster.local\" is neither the mesh's own nor federated (found \"cluster.local\"; accepted: a trust domain in: example.org; or add it under federation)",
    ],
    semantic: true,
  },
  {
    name: "gateway listener port also used by an inbound port",
    yaml: "trustDomain: example.org\nservices:\n  - name: edge\n    spiffeId: spiffe://example.org/edge\n    target: gateway\n    inbound: [{port: 8443, appPort: 8080}]\n    outbound: [{service: web}]\n    gateway:\n      listeners:\n        - {port: 8443, hosts: [a.example.com], tls: {certificateFile: /t/a.crt, privateKeyFile: /t/a.key}}\n        - {port: 8443, hosts: [b.example.com], tls: {certificateFile: /t/b.crt, privateKeyFile: /t/b.key}}\n      routes: [{host: a.example.com, dependency: web}]\n  - name: web\n    spiffeId: spiffe://example.org/web\n    inbound: [{port: 15006, appPort: 8080, protocol: http}]\n",
    expected: [
      "DUPLICATE_PORT mesh.yaml:10:18: services[0].gateway.listeners[0].port: port 8443 is already used by services[0].inbound[0].port (line 6) (found 8443; accepted: a port no other listener or application of this service uses)",
    ],
    semantic: true,
  },
  {
    name: "bundle endpoints: a plain http URL, a URL with userinfo (SPIFFE Federation §5.2)",
    yaml: "trustDomain: example.org\nfederation:\n  - trustDomain: partner.net\n    bundleEndpoint: {url: 'http://bundle.partner.net/', profile: https_web}\n  - trustDomain: other.net\n    bundleEndpoint: {url: 'https://user:pw@bundle.other.net/', profile: https_web}\nservices: []\n",
    expected: [
      "INVALID_BUNDLE_ENDPOINT_URL mesh.yaml:4:27: federation[0].bundleEndpoint.url: not a valid bundle endpoint URL: the scheme must be https, not http (found \"http://bundle.partner.net/\"; accepted: an https URL without userinfo, e.g. https://bundle.partner.example.net:8443/)",
      "INVALID_BUNDLE_ENDPOINT_URL mesh.yaml:6:27: federation[1].bundleEndpoint.url: not a valid bundle endpoint URL: a bundle endpoint URL must not carry userinfo (user:password@) (found \"https://user:pw@bundle.other.net/\"; accepted: an https URL without userinfo, e.g. https://bundle.partner.example.net:8443/)",
    ],
  },
  {
    name: "bundle endpoints: https_spiffe without endpointSpiffeId, self-serving without a bootstrap bundleFile, https_web with an endpointSpiffeId, an endpoint in an unknown trust domain",
    yaml: "trustDomain: example.org\nfederation:\n  - trustDomain: partner.net\n    bundleEndpoint: {url: 'https://bundle.partner.net/', profile: https_spiffe}\n  - trustDomain: other.net\n    bundleEndpoint: {url: 'https://bundle.other.net/', profile: https_spiffe, endpointSpiffeId: 'spiffe://other.net/server'}\n  - trustDomain: third.net\n    bundleEndpoint: {url: 'https://bundle.third.net/', profile: https_web, endpointSpiffeId: 'spiffe://third.net/server'}\n  - trustDomain: fourth.net\n    bundleEndpoint: {url: 'https://bundle.fourth.net/', profile: https_spiffe, endpointSpiffeId: 'spiffe://nowhere.net/server'}\nservices: []\n",
    expected: [
      "MISSING_FIELD mesh.yaml:4:21: federation[0].bundleEndpoint: profile https_spiffe needs endpointSpiffeId, the SPIFFE ID the endpoint presents (accepted: e.g. endpointSpiffeId: spiffe://partner.net/trustplane/server)",
      "MISSING_FIELD mesh.yaml:6:21: federation[1].bundleEndpoint: a self-serving https_spiffe endpoint needs bundleFile: the bootstrap bundle of other.net that authenticates its first fetch (accepted: bundleFile: <the bundle, PEM or SPIFFE JSON>)",
      "CONFLICTING_FIELDS mesh.yaml:8:94: federation[2].bundleEndpoint.endpointSpiffeId: endpointSpiffeId is for https_spiffe; an https_web endpoint is authenticated by its Web PKI certificate (accepted: leave it out, or use profile https_spiffe)",
      "UNKNOWN_TRUST_DOMAIN mesh.yaml:10:98: federation[3].bundleEndpoint.endpointSpiffeId: the endpoint's trust domain \"nowhere.net\" is neither the mesh's own nor federated, so its SVID cannot be verified (found \"nowhere.net\"; accepted: the own trust domain, a federated one, or the one being fetched)",
    ],
    semantic: true,
  },
  {
    name: 'requireJwt on a TCP port and on a gateway; an empty audience list',
    yaml: "trustDomain: example.org\nservices:\n  - name: db\n    spiffeId: spiffe://example.org/db\n    inbound:\n      - {port: 15006, appPort: 5432, requireJwt: {audiences: [db]}}\n      - {port: 15007, appPort: 5433, protocol: http, requireJwt: {audiences: []}}\n  - name: edge\n    spiffeId: spiffe://example.org/edge\n    target: vm\n    inbound: [{port: 8443, appPort: 8080, protocol: http, requireJwt: {audiences: [edge]}}]\n",
    expected: [
      "WRONG_PROTOCOL mesh.yaml:6:50: services[0].inbound[0].requireJwt: requireJwt needs an HTTP port; this port's protocol is tcp (found tcp; accepted: protocol http or grpc)",
      "EMPTY_LIST mesh.yaml:7:78: services[0].inbound[1].requireJwt.audiences: empty list (accepted: at least 1 item)",
      "NOT_FOR_TARGET mesh.yaml:11:71: services[1].inbound[0].requireJwt: requireJwt is only generated for target sidecar; this service's target is vm (accepted: target: sidecar, or no requireJwt key)",
    ],
  },
];
