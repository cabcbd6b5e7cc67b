// The logger shape the p2p layer needs: pino's, reduced to what is called, so tests can pass
// pino({ level: 'silent' }) or a stub.

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
