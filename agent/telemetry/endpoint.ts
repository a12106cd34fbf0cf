// Where events go, from CollectorURL, and how the collector is named in status and logs.

/** The logs endpoint for a CollectorURL (OTLP: the signal path is appended to a base URL). */
export function logsEndpoint(collectorUrl: string): URL {
  const url = new URL(collectorUrl);
  if (!/\/v1\/logs$/.test(url.pathname)) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/logs`;
  return url;
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
