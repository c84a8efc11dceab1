// Opens URL in a headless Chromium that is already listening for DevTools on PORT, and
// prints the page's `probe` result once the page has set it (real time, unlike
// --virtual-time-budget): `node --experimental-websocket page-sharp.mjs PORT URL`.
const [port, url] = process.argv.slice(2);
const target = await (await fetch(`http://127.0.0.1:${port}/json/new?${encodeURIComponent(url)}`, { method: "PUT" })).json();
const ws = new WebSocket(target.webSocketDebuggerUrl);
await new Promise((ok) => ws.addEventListener("open", ok));
let id = 0;
const call = (method, params) =>
  new Promise((ok) => {
    const me = ++id;
    const listen = (e) => {
      const msg = JSON.parse(e.data);
      if (msg.id === me) {
        ws.removeEventListener("message", listen);
        ok(msg.result);
      }
    };
    ws.addEventListener("message", listen);
    ws.send(JSON.stringify({ id: me, method, params }));
  });
const deadline = Date.now() + 60000;
while (Date.now() < deadline) {
  const r = await call("Runtime.evaluate", { expression: "window.probe || ''", returnByValue: true });
  if (r && r.result && r.result.value) {
    console.log(r.result.value);
    process.exit(0);
  }
  await new Promise((ok) => setTimeout(ok, 20));
}
console.log("not sharp within 60 s");
process.exit(0);
