/**
 * Runs the InfluxDB stand-in in the foreground until SIGINT/SIGTERM, for demos:
 *   npx tsx test/support/influx-standin-cli.ts [--port 8086] [--version v2.7.12] [--hashed-tokens]
 */
import { parseArgs } from 'node:util';
import { startInfluxStandin } from './influx-standin.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    version: { type: 'string' },
    'hashed-tokens': { type: 'boolean', default: false },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('--port must be an integer from 0 to 65535');
  process.exit(2);
}

const standin = await startInfluxStandin({
  port,
  host: values.host,
  hashedTokens: values['hashed-tokens'],
  ...(values.version === undefined ? {} : { version: values.version }),
});
console.log(standin.url);

const stop = () => {
  standin.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
