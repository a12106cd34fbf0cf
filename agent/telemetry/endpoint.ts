// Where events go, from CollectorURL, and how the collector is named in status and logs.

/** The logs endpoint for a CollectorURL (OTLP: the signal path is appended to a base URL). */
export function logsEndpoint(collectorUrl: string): URL {
  const url = new URL(collectorUrl);
  if (!/\/v1\/logs$/.test(url.pathname)) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/logs`;
  return url;
}

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Why CollectorURL cannot be used, or null: the logs endpoint is made from it (the parser
 * that uses it), https, or http to loopback only (as the URL parser reads the host).
 */
export function collectorUrlProblem(collectorUrl: string): string | null {
  let url: URL;
  try {
    url = logsEndpoint(collectorUrl);
  } catch {
    return 'not a URL';
  }
  if (url.protocol === 'https:') return url.hostname ? null : 'no host';
  if (url.protocol === 'http:') return loopbackHosts.has(url.hostname) ? null : 'http only to loopback';
  return 'not http(s)';
}

/** The collector as shown in status and logs: no credentials, no query. */
export function describeCollector(collectorUrl: string): string {
  try {
    const url = logsEndpoint(collectorUrl);
    url.username = '';
    url.password = '';
    url.search = '';
    return url.toString();
  } catch {
    return '(invalid URL)';
  }
}
