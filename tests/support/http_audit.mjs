// The graphql-http server audit (https://github.com/graphql/graphql-http) against a running server.
// node tests/support/http_audit.mjs PACKAGE_DIR URL [TOKEN]
//   PACKAGE_DIR: the `npm install --prefix` folder holding graphql-http (tests/support/http_audit.py installs it)
//   TOKEN: sent as `Authorization: Bearer TOKEN` on every audit request (through fetchFn)
// Prints one JSON array: [{id, name, status: "ok" | "warn" | "error", reason}], one entry per audit.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [packageDir, url, token] = process.argv.slice(2);
const require = createRequire(join(packageDir, 'package.json'));
const { auditServer } = require('graphql-http');

const fetchFn = token
  ? (input, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    }
  : fetch;

const results = await auditServer({ url, fetchFn });
const report = [];
for (const result of results) {
  let reason = result.reason ?? null;
  if (result.status !== 'ok' && result.response) {
    // what the server answered, for the test's failure message
    const text = await result.response.text().catch(() => '');
    reason = `${reason} [HTTP ${result.response.status} ${result.response.headers.get('content-type')}: ${text.slice(0, 300)}]`;
  }
  report.push({ id: result.id, name: result.name, status: result.status, reason });
}
process.stdout.write(JSON.stringify(report));
