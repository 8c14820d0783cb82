import type { Cluster } from './cluster-types';

/** What an operator sends the launcher of `npm run cluster` for one more gateway: `kill -USR2 <pid>`. */
export const ADD_GATEWAY_SIGNAL = 'SIGUSR2';

/** Where {@link addGatewayOnSignal} says how each add went. */
export interface AddGatewayConsole {
  /** `gateway-3 added (pid …, port …): …` */
  out: Pick<NodeJS.WritableStream, 'write'>;
  /** `could not add a gateway: …` */
  err: Pick<NodeJS.WritableStream, 'write'>;
}

/**
 * Adds one gateway to `cluster` each time this process gets {@link ADD_GATEWAY_SIGNAL}
 * (see `Cluster.addGateway`: adds run one at a time, in order) and prints how it went.
 * Install it before the cluster has started: a signal that comes while it starts waits
 * for the start, where without a handler it would end the launcher.
 * @returns what removes the handler.
 */
export function addGatewayOnSignal(
  cluster: Promise<Cluster>,
  terminal: AddGatewayConsole = { out: process.stdout, err: process.stderr },
): () => void {
  const onSignal = (): void => {
    void cluster
      .then((c) => c.addGateway())
      .then(
        (info) =>
          terminal.out.write(
            `  ${info.name} added (pid ${info.pid}, port ${info.port}): nginx spreads new connections over it too.\n`,
          ),
        (error: unknown) =>
          terminal.err.write(`could not add a gateway: ${error instanceof Error ? error.message : String(error)}\n`),
      );
  };
  process.on(ADD_GATEWAY_SIGNAL, onSignal);
  return () => void process.off(ADD_GATEWAY_SIGNAL, onSignal);
}
