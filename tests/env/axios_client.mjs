// A program that uses npm's axios (node:http and node:https underneath) and knows nothing about proxies.
// Usage: RUNTIME axios_client.mjs HTTP_URL HTTPS_URL (extra CA certificates from NODE_EXTRA_CA_CERTS / DENO_CERT)
import axios from "axios";

const [httpUrl, httpsUrl] = process.argv.slice(-2);
const results = {};
for (const [label, url] of [["axios http", `${httpUrl}/axios`], ["axios https", `${httpsUrl}/axios-tls`]]) {
  try {
    const response = await axios.get(url, { responseType: "text" });
    results[label] = `${response.status} ${response.data}`;
  } catch (error) {
    results[label] = `error: ${error?.message ?? error}`;
  }
}
console.log(JSON.stringify(results));
