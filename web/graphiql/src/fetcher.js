// A plain HTTP fetcher: JSON POST to the hub's endpoint with the headers the
// user typed in the headers editor. The hub has no subscriptions, so the
// websocket and multipart support of @graphiql/toolkit is left out.
export function createFetcher(endpoint) {
  const url = new URL(endpoint, window.location.href).toString();
  return async (graphQLParams, opts = {}) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        Accept: 'application/graphql-response+json, application/json',
        'Content-Type': 'application/json',
        ...(opts.headers || {}),
      },
      body: JSON.stringify(graphQLParams),
      credentials: 'same-origin',
    });
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch {
      // Show non-JSON answers (a proxy error page, a 502) instead of a parse error.
      return { errors: [{ message: `HTTP ${response.status}: ${text.slice(0, 500)}` }] };
    }
  };
}
