// A TCP proxy the browser tests put between one page and the server, so a test can cut that
// page's connections the way a network or a server would: abruptly, with no WebSocket close frame.
// Usage: node tcp-proxy.mjs HOST:PORT   → prints "listening PORT"; each "cut" line on stdin resets every
// open connection (both sides) and prints "cut N".
import net from 'node:net';
import readline from 'node:readline';

const [host, port] = process.argv[2].split(':');
const pairs = new Set();

const server = net.createServer((client) => {
  const upstream = net.connect(Number(port), host);
  const pair = [client, upstream];
  pairs.add(pair);
  client.pipe(upstream);
  upstream.pipe(client);
  const done = () => {
    pairs.delete(pair);
    client.destroy();
    upstream.destroy();
  };
  for (const s of pair) s.on('error', done).on('close', done);
});

server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'cut') return;
  const n = pairs.size;
  for (const pair of [...pairs]) {
    pairs.delete(pair);
    for (const s of pair) (s.resetAndDestroy ? s.resetAndDestroy() : s.destroy());
  }
  console.log(`cut ${n}`);
}).on('close', () => process.exit(0));
