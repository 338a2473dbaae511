// Long-running commands (serve, svid write --daemon) run until SIGINT or SIGTERM. The wait itself holds the process
// open: `bin/trustplane.js` awaits the command at top level, and when nothing else is left on the event loop (the
// renewal timers are unref'd so that libraries never keep a process alive) Node ends such a process with exit 13
// ("unsettled top-level await") instead of waiting for the signal.
export function untilSignal(onSignal: (signal: NodeJS.Signals) => Promise<void> | void): Promise<void> {
  return new Promise<void>((done) => {
    const keepAlive = setInterval(() => {}, 1 << 30);
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void Promise.resolve(onSignal(signal)).finally(() => {
        clearInterval(keepAlive);
        done();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
