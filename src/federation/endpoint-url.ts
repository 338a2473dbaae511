// What a bundle endpoint URL may be (SPIFFE Federation §5.2.1.1 and §5.2.2.1, the same rule for both profiles):
// scheme https, no userinfo in the authority. The rest of the URL is the operator's choice. The same check applies
// to the configured URL and to the target of every redirect.

/** The parsed URL, or why the string is not a bundle endpoint URL. */
export function parseBundleEndpointUrl(s: string): { url: URL } | { reason: string } {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return { reason: 'not an absolute URL' };
  }
  if (url.protocol !== 'https:') return { reason: `the scheme must be https, not ${url.protocol.slice(0, -1)}` };
  if (url.username !== '' || url.password !== '') return { reason: 'a bundle endpoint URL must not carry userinfo (user:password@)' };
  if (url.hostname === '') return { reason: 'the URL has no host' };
  if (url.hash !== '') return { reason: 'a bundle endpoint URL has no fragment (#...)' };
  return { url };
}

export const BUNDLE_ENDPOINT_URL_ACCEPTED = 'an https URL without userinfo, e.g. https://bundle.partner.example.net:8443/';
export const BUNDLE_ENDPOINT_URL_PATTERN = '^https://[^@/#]+(/[^#]*)?$';
