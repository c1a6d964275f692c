// A program that knows nothing about proxies: global fetch, http.get, https.request and (where the runtime has
// one) a global WebSocket, to the URLs in its arguments. Prints one JSON line of what each got.
// Usage: RUNTIME unmodified_client.mjs HTTP_URL HTTPS_URL WS_URL CA_FILE
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";

const [httpUrl, httpsUrl, wsUrl, caFile] = process.argv.slice(-4);
const results = {};

async function attempt(label, run) {
  try {
    results[label] = await run();
  } catch (error) {
    results[label] = `error: ${error?.message ?? error} ${error?.cause?.message ?? ""}`;
  }
}

function body(response) {
  return new Promise((resolve, reject) => {
    let text = "";
    response.setEncoding("utf8");
    response.on("data", (chunk) => (text += chunk));
    response.on("end", () => resolve(`${response.statusCode} ${text}`));
    response.on("error", reject);
  });
}

await attempt("fetch", async () => {
  const response = await fetch(`${httpUrl}/fetch`);
  return `${response.status} ${await response.text()}`;
});
await attempt("http.get", () =>
  new Promise((resolve, reject) => {
    http.get(`${httpUrl}/http-get`, (response) => body(response).then(resolve, reject)).on("error", reject);
  }));
await attempt("https.request", () =>
  new Promise((resolve, reject) => {
    const request = https.request(`${httpsUrl}/https-request`, { ca: readFileSync(caFile, "utf8") }, (response) =>
      body(response).then(resolve, reject));
    request.on("error", reject);
    request.end();
  }));
if (typeof WebSocket === "function") {
  await attempt("WebSocket", () =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl);
      ws.onopen = () => ws.send("through the env");
      ws.onmessage = (event) => {
        resolve(String(event.data));
        ws.close();
      };
      ws.onclose = (event) => reject(new Error(`closed ${event.code} ${event.reason}`));
    }));
}
console.log(JSON.stringify(results));
