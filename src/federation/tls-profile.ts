// TLS settings of the bundle endpoint server: SPIFFE Federation §5 asks for Mozilla's "intermediate" compatibility
// (TLS 1.2 and 1.3, forward-secret AEAD suites only). TLS 1.3 suites are OpenSSL's defaults, all of them AEAD.
export const MOZILLA_INTERMEDIATE_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const ENDPOINT_TLS = { minVersion: 'TLSv1.2', ciphers: MOZILLA_INTERMEDIATE_CIPHERS, honorCipherOrder: false } as const;
