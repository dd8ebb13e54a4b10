// Calls to the Prometheus HTTP API v1, relative to the page's <base> (the route prefix).

/** An API failure: `errorType` and `error` as the API returned them, or a transport error. */
export class ApiError extends Error {
  constructor(message, errorType, status) {
    super(message);
    this.errorType = errorType;
    this.status = status;
  }
}

/**
 * GETs `api/v1/<path>` with a query string (string or object; arrays repeat the key) and returns
 * `{data, warnings, infos}` of a successful answer; throws ApiError otherwise.
 */
export async function api(path, params, { signal, method = 'GET' } = {}) {
  let qs = '';
  if (typeof params === 'string') qs = params;
  else if (params) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v == null) continue;
      for (const one of Array.isArray(v) ? v : [v]) p.append(k, one);
    }
    qs = p.toString();
  }
  const url = `api/v1/${path}`;
  let resp;
  try {
    resp = method === 'POST'
      ? await fetch(url, {
        method, signal, body: qs, headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      })
      : await fetch(qs ? `${url}?${qs}` : url, { signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(`cannot reach the server: ${e.message}`, 'network', 0);
  }
  let body;
  try {
    body = await resp.json();
  } catch {
    throw new ApiError(`unexpected answer from ${url}: HTTP ${resp.status}`, 'internal', resp.status);
  }
  if (body.status !== 'success') {
    throw new ApiError(body.error || `HTTP ${resp.status}`, body.errorType || 'internal', resp.status);
  }
  return { data: body.data, warnings: body.warnings || [], infos: body.infos || [] };
}

/** Like api() but returns only `data`. */
export async function apiData(path, params, opts) {
  return (await api(path, params, opts)).data;
}
