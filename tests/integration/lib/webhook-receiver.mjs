// A real HTTP server on loopback that records webhook deliveries.
//
//   const rx = await startReceiver();          // rx.url is http://127.0.0.1:PORT/hook
//   rx.respond = (req) => 200;                 // status per delivery (default 204)
//   const d = await rx.next((d) => d.body.event === 'room_started' && d.body.room.name === room);
//   d: {headers, raw (exact body text), body (parsed), status (what we answered), at}
import http from 'node:http';
import https from 'node:https';

// With {tls: {cert, key}}, an https:// receiver.
export async function startReceiver({ tls } = {}) {
  const deliveries = [];
  const waiters = new Set();
  const consumed = new Set();
  const rx = {
    deliveries,
    respond: () => 204,
    url: '',
    // The first unconsumed delivery matching `pred`; marks it consumed.
    next(pred, { timeout = 5000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = () => {
          for (let i = 0; i < deliveries.length; i++) {
            if (!consumed.has(i) && pred(deliveries[i])) {
              consumed.add(i);
              waiters.delete(check);
              clearTimeout(timer);
              resolve(deliveries[i]);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching webhook within ${timeout} ms; received:\n${
            deliveries.map((d) => `  ${d.status} ${d.raw.slice(0, 200)}`).join('\n')}`));
        }, timeout);
        waiters.add(check);
        check();
      });
    },
    // Every delivery (consumed or not) matching `pred`.
    all(pred) { return deliveries.filter(pred); },
    close() { return new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }); },
  };
  const handler = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body = null;
      try { body = JSON.parse(raw); } catch { /* recorded as null */ }
      const d = { method: req.method, path: req.url, headers: req.headers, raw, body, at: Date.now() };
      d.status = rx.respond(d);
      res.writeHead(d.status, { 'content-type': 'text/plain' });
      res.end('ok');
      deliveries.push(d);
      for (const w of [...waiters]) w();
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  rx.tlsErrors = [];
  server.on('tlsClientError', (e) => rx.tlsErrors.push(e));
  await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
  rx.url = `${tls ? 'https' : 'http'}://127.0.0.1:${server.address().port}/hook?src=switchboard`;
  return rx;
}
