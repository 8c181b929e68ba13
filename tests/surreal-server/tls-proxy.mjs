// A TLS terminator for tests of wss:// connections: accepts TLS on a free
// loopback port with the given certificate and pipes each connection to a
// plain TCP target (the test server). Prints `LISTENING 127.0.0.1:<port>`.
//
//   node tls-proxy.mjs --cert cert.pem --key key.pem --target 127.0.0.1:PORT [--exit-with-parent]
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const [host, port] = opt('--target').split(':');
const server = tls.createServer(
  { cert: fs.readFileSync(opt('--cert')), key: fs.readFileSync(opt('--key')) },
  (client) => {
    const upstream = net.connect(Number(port), host);
    client.pipe(upstream).pipe(client);
    const close = () => { client.destroy(); upstream.destroy(); };
    client.on('error', close);
    upstream.on('error', close);
  });
server.on('tlsClientError', () => {});  // a client refusing our certificate is what some tests do
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`LISTENING 127.0.0.1:${server.address().port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (args.includes('--exit-with-parent')) {
  const parent = process.ppid;
  setInterval(() => {
    try { process.kill(parent, 0); } catch { process.exit(0); }
    if (process.ppid !== parent) process.exit(0);
  }, 200).unref();
}
